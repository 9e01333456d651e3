"""`make test-spark` prints how long each stage took (the figures docs/scaling.md quotes)."""

from __future__ import annotations

TIMINGS: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter) -> None:
    if TIMINGS:
        terminalreporter.write_sep("-", "spark vs duckdb: seconds per stage")
        terminalreporter.write_line("  ".join(f"{name} {seconds:.0f}" for name, seconds in TIMINGS.items()))
