"""Schema versions of laneway's stores (ledger, keys) and their forward-only migrations."""
