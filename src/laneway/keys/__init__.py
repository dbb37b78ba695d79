"""Virtual keys: per-team keys with their own limits, stored beside the ledger as digests."""
