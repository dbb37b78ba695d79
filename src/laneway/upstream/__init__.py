"""Talking to upstream providers: the transport, retries and backoff, timeouts, health."""
