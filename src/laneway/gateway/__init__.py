"""The core as a library: requests in, answers out (`laneway.gateway.core.Gateway`)."""
