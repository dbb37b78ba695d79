"""Workload files as people prepare them: exported from captured traffic, described, sampled and
split (`laneway workload`)."""
