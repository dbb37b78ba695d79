"""The gateway over HTTP: routes, client authentication and start-up; thin over `gateway`."""
