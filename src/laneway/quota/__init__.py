"""Admission state: per-key rate limits, budget reservations and key revocations, in one process
(memory) or shared by every replica (Redis)."""
