"""The one HTTP session: retries, Retry-After, backoff, timeouts and fatal statuses, against a real local server."""

from __future__ import annotations

import time

import pytest

from pipelines.connectors.http import ConnectorError, get_json, make_session
from tests.connectors.conftest import FAST


def fetch(url: str, settings=FAST):
    with make_session(settings) as session:
        return get_json(session, url, {"$limit": 5, "$offset": 0, "$order": "id"}, settings)


def test_429_waits_what_retry_after_asks(portal, soda_rows):
    url = portal.soda("ijzp-q8t2", soda_rows)
    portal.fail(status=429, retry_after="1")
    started = time.monotonic()
    rows = fetch(url)
    elapsed = time.monotonic() - started
    assert [r["id"] for r in rows] == sorted((r["id"] for r in soda_rows), key=int)[:5]
    assert len(portal.log) == 2
    # The backoff alone would wait 0.01 s: only the header explains a one-second wait.
    assert 1.0 <= elapsed < 3.0


def test_5xx_is_retried_with_backoff_then_succeeds(portal, soda_rows):
    url = portal.soda("ijzp-q8t2", soda_rows)
    portal.fail(status=500, times=1)
    portal.fail(status=503, times=2)
    assert len(fetch(url)) == 5
    assert len(portal.log) == 4


def test_5xx_retries_are_bounded(portal, soda_rows):
    url = portal.soda("ijzp-q8t2", soda_rows)
    portal.fail(status=502, times=100)
    with pytest.raises(ConnectorError, match=r"ijzp-q8t2\.json.*(502|too many 502)"):
        fetch(url)
    assert len(portal.log) == FAST.retries + 1


def test_a_timeout_is_retried(portal, soda_rows):
    url = portal.soda("ijzp-q8t2", soda_rows)
    portal.fail(delay=FAST.timeout_seconds + 0.5)
    assert len(fetch(url)) == 5
    assert len(portal.log) == 2


def test_timeouts_are_bounded(portal, soda_rows):
    url = portal.soda("ijzp-q8t2", soda_rows)
    settings = FAST.model_copy(update={"timeout_seconds": 0.2, "retries": 1})
    portal.fail(delay=0.5, times=5)
    with pytest.raises(ConnectorError, match="ijzp-q8t2.json.*(timed out|Read timed out)"):
        fetch(url, settings)
    assert len(portal.log) == 2


@pytest.mark.parametrize(
    ("status", "says"), [(401, "unauthorized"), (403, "forbidden"), (404, "not found: check the dataset id")]
)
def test_client_errors_fail_at_once_with_a_clear_message(portal, soda_rows, status, says):
    url = portal.soda("ijzp-q8t2", soda_rows)
    portal.fail(status=status, times=10)
    with pytest.raises(ConnectorError, match=f"HTTP {status} {says}"):
        fetch(url)
    assert len(portal.log) == 1


def test_truncated_json_fails_the_page_with_a_clear_message(portal, soda_rows):
    url = portal.soda("ijzp-q8t2", soda_rows)
    portal.fail(truncate=True)
    with pytest.raises(ConnectorError, match="not valid JSON.*truncated"):
        fetch(url)
    assert len(fetch(url)) == 5  # the next request is fine: the process is unaffected
