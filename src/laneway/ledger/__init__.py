"""The ledger: one record per request, reserved before the upstream call, settled after."""
