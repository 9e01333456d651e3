"""Property 8: a dashboard holding published/metrics.duckdb open does not stop a run, and keeps reading a
complete version of the tables while the run replaces the file."""

from __future__ import annotations

import duckdb

from tests.reliability.conftest import READER_QUERY


def test_runs_succeed_while_a_reader_holds_the_snapshot(reruns):
    assert reruns.exit_codes == [0, 0], "\n".join(log[-3000:] for log in reruns.logs)
    # The reader went on seeing the version it opened, whole.
    assert reruns.reader_after == reruns.reader_before
    assert reruns.reader_before[0] > 0
    # A reader opening the snapshot now gets the new file, with the same content (nothing changed).
    with duckdb.connect(str(reruns.home / "published" / "current" / "metrics.duckdb"), read_only=True) as con:
        assert con.execute(READER_QUERY).fetchone() == reruns.reader_before
