"""Checks: great-expectations on every load, blocking load-level checks, and that nothing loaded vanishes."""
