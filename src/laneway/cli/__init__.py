"""The `laneway` command line."""
