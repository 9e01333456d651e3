"""Reliability property 12 (docs/reliability.md) — Secrets never logged: with a canary app token and a canary salt set, after a whole run no log,
run metadata or file contains them: not the CLI's stdout/stderr, not Dagster's run storage and event log, not any
file (dbt's logs and target folders among them, or DuckDB table, or Parquet column) under the data home.

The run (tests/security/conftest.py) reads a crime source from a Socrata portal on 127.0.0.1 with the token, and
hashes the rosters' and the survey's identifiers with the salt; the first test proves both were really used.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from pipelines import ingest
from pipelines.kinds.base import SourceError
from pipelines.pii import person_key
from tests.connectors.datasets import chicago_home, chicago_spec
from tests.connectors.portal import running_portal
from tests.pii_scan import duckdb_tables, find_secrets


def test_the_canary_token_and_salt_were_really_used(security_run):
    assert len(security_run.app_tokens) >= 3  # 7 records in pages of 3
    assert set(security_run.app_tokens) == {security_run.token}
    keyed = hmac.new(
        security_run.salt.encode(),
        person_key("ada.lovelace@example.org", None, None, None).encode(),
        hashlib.sha256,
    ).hexdigest()
    ids = {
        value
        for schema, table, frame in duckdb_tables(security_run.home / "warehouse.duckdb")
        if (schema, table) == ("raw", "demo_rosters_signin")
        for value in frame["person_id"]
    }
    assert keyed in ids, "the roster was not hashed with the canary salt: the test would prove nothing"


def test_no_secret_in_the_cli_output(security_run):
    # A successful run prints its progress and summary; its Dagster and dbt records are in its log file
    # under the data home, scanned with every other file there (below).
    output = security_run.run.stdout + security_run.run.stderr
    assert output.strip(), "the run printed nothing: nothing was checked"
    for secret in security_run.secrets:
        assert secret not in output


def test_no_secret_in_any_file_or_table_under_the_data_home(security_run):
    home = security_run.home
    scanned = [path for path in home.rglob("*") if path.is_file()]
    assert any(path.is_relative_to(home / "dagster") for path in scanned), "no Dagster storage was scanned"
    # dbt writes its logs and target folders (compiled SQL, manifest, run results) under the data home.
    assert any(path.name == "dbt.log" and path.is_relative_to(home / "dbt") for path in scanned), "no dbt log"
    assert (home / "state" / "portal_crimes.json").is_file()
    assert find_secrets(home, security_run.secrets) == []


def test_no_secret_in_dagster_run_metadata_or_event_log(security_run):
    """Read through Dagster's own API too: run configs, tags and every event of every run (step logs,
    materialization metadata, check results), as the UI shows them."""
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef
    from dagster._serdes import serialize_value

    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(security_run.home / "dagster")))
    try:
        runs = instance.get_runs()
        assert runs, "no run recorded: nothing was checked"
        for run in runs:
            texts = [serialize_value(run)] + [
                serialize_value(event) for event in instance.all_logs(run.run_id)
            ]
            assert len(texts) > 10
            for text in texts:
                for secret in security_run.secrets:
                    assert secret not in text, f"run {run.run_id}: {text[:300]}"
    finally:
        instance.dispose()


CANARY_TOKEN = "canary-app-token-of-a-failing-request"


@pytest.mark.parametrize("status", [401, 403, 500])
def test_a_failing_request_reports_no_token(tmp_path, monkeypatch, real_data, status):
    """The token travels in a header, never in the URL, so no error message, cursor file or raw file names it."""
    rows = json.loads((real_data / "chicago_crimes_soda_api_sample200.json").read_text())
    home = chicago_home(tmp_path)
    with running_portal() as portal:
        portal.soda("ijzp-q8t2", rows)
        spec = chicago_spec(monkeypatch, portal)
        portal.fail(when=lambda p: p.get("$offset") == "40", status=status, times=10)
        with pytest.raises(SourceError) as error:
            ingest.land(spec, home, None, app_token=CANARY_TOKEN)
        assert set(portal.app_tokens) == {CANARY_TOKEN}
        assert all(CANARY_TOKEN not in str(params) for _, params in portal.log)
    assert f"HTTP {status}" in str(error.value)
    assert CANARY_TOKEN not in str(error.value)
    assert find_secrets(home.home, {CANARY_TOKEN}) == []
