"""Replay: run a recorded workload against models and efforts, graded, priced and timed."""
