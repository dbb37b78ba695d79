"""Routing: lanes, candidate filtering, policies and per-deployment health."""
