"""Fictional demo city generator (see generate.py)."""
