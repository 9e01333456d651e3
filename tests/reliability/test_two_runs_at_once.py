"""Property 9: two runs started at the same moment on one data home: one waits for the other (the data
home's run lock; Dagster's run queue does the same for daemon runs), neither fails or corrupts anything."""

from __future__ import annotations

import re


def test_one_run_waits_and_neither_corrupts_the_warehouse(reruns):
    assert reruns.exit_codes == [0, 0], "\n".join(log[-3000:] for log in reruns.logs)
    waited = [log for log in reruns.logs if "Waiting for the run holding" in log]
    assert len(waited) == 1, "exactly one of the two runs should have waited for the other"
    holder = re.search(r"\(pid (\d+)\) to finish", waited[0])
    assert holder, waited[0][-2000:]
    assert "Could not set lock" not in "".join(reruns.logs)  # never DuckDB's single-writer error
    assert reruns.after["warehouse"] == reruns.before["warehouse"]
    assert reruns.after["published"] == reruns.before["published"]
