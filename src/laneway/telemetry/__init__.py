"""What an operator watches: Prometheus metrics, OpenTelemetry spans and structured request
logs. Observers only (laneway.gateway.observers): telemetry reads the gateway, never steers it."""
