"""Capture from live traffic: a sample of requests and their answers, redacted, kept as workload
lines in the ledger's backend (docs/capture.md)."""
