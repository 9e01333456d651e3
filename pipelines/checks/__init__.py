"""Load-level checks on every source: blocking, so nothing downstream builds on a bad load."""

from pipelines.checks.load_checks import load_checks

__all__ = ["load_checks"]
