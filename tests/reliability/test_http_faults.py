"""Reliability property 7 (docs/reliability.md) — HTTP faults: 429 with Retry-After is retried after that delay; 5xx and timeouts with exponential
backoff and a bounded number of tries; 401/403/404 fail at once with a clear message; truncated or invalid JSON
fails the page, not the process.

Against a real HTTP server on 127.0.0.1 (tests/connectors/portal.py: pytest-httpserver, threaded) answering our
own session (pipelines.connectors.http) — `requests` and our code are not mocked. Delays are tiny by the source's
`http:` settings, so retries are real but fast.
"""

from __future__ import annotations

import time

import pytest

from pipelines import ingest
from pipelines.connectors import socrata
from pipelines.connectors.http import ConnectorError, HttpSettings, get_json, make_session
from pipelines.kinds.base import SourceError
from tests.connectors.portal import FAST
from tests.reliability._helpers import make_paths, write_source

DATASET = "ijzp-q8t2"


def fetch(url: str, settings: HttpSettings = FAST):
    with make_session(settings) as session:
        return get_json(session, url, {"$limit": 5, "$offset": 0, "$order": "id"}, settings)


def gaps(portal) -> list[float]:
    times = portal.request_times
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


# ---------------------------------------------------------------- 429 and Retry-After


def test_429_is_retried_after_the_delay_retry_after_asks(portal, soda_rows):
    url = portal.soda(DATASET, soda_rows)
    portal.fail(status=429, retry_after="1")
    rows = fetch(url)
    assert [r["id"] for r in rows] == sorted((r["id"] for r in soda_rows), key=int)[:5]
    assert len(portal.log) == 2
    # The backoff alone would wait 0.01 s at most: only the header explains a one-second wait.
    assert 1.0 <= gaps(portal)[0] < 3.0


def test_a_retry_after_longer_than_the_bound_is_waited_only_that_long(portal, soda_rows):
    url = portal.soda(DATASET, soda_rows)
    portal.fail(status=429, retry_after="3600")  # an hour: the run must not hang
    settings = FAST.model_copy(update={"retry_after_max_seconds": 1})
    assert len(fetch(url, settings)) == 5
    assert 1.0 <= gaps(portal)[0] < 3.0


def test_a_429_that_never_ends_gives_up_after_the_bounded_tries(portal, soda_rows):
    url = portal.soda(DATASET, soda_rows)
    portal.fail(status=429, retry_after="0", times=100)
    with pytest.raises(ConnectorError, match=rf"{DATASET}\.json.*: HTTP 429 after {FAST.retries} retries"):
        fetch(url)
    assert len(portal.log) == FAST.retries + 1


# ---------------------------------------------------------------- 5xx: exponential backoff, bounded


def test_5xx_is_retried_with_exponential_backoff_then_succeeds(portal, soda_rows):
    url = portal.soda(DATASET, soda_rows)
    portal.fail(status=500, times=1)
    portal.fail(status=502, times=1)
    portal.fail(status=504, times=1)
    settings = HttpSettings(timeout_seconds=2, retries=3, backoff_seconds=0.2, backoff_max_seconds=10)
    assert len(fetch(url, settings)) == 5
    assert len(portal.log) == 4
    # urllib3 waits backoff * 2^(n-1) before the n-th consecutive retry (none before the first): 0, 0.4, 0.8 s.
    first, second, third = gaps(portal)
    assert first < 0.3
    assert 0.4 <= second < 0.4 + 0.5
    assert 0.8 <= third < 0.8 + 0.5 and third > second


def test_backoff_waits_are_capped(portal, soda_rows):
    url = portal.soda(DATASET, soda_rows)
    portal.fail(status=503, times=3)
    settings = HttpSettings(timeout_seconds=2, retries=3, backoff_seconds=5, backoff_max_seconds=0.2)
    started = time.monotonic()
    assert len(fetch(url, settings)) == 5
    assert time.monotonic() - started < 2.0  # uncapped, 10 s + 20 s
    assert all(gap < 0.2 + 0.5 for gap in gaps(portal))


def test_5xx_retries_are_bounded_and_the_error_names_the_url_and_status(portal, soda_rows):
    url = portal.soda(DATASET, soda_rows)
    portal.fail(status=502, times=100)
    with pytest.raises(ConnectorError, match=rf"{DATASET}\.json.*: HTTP 502 after {FAST.retries} retries"):
        fetch(url)
    assert len(portal.log) == FAST.retries + 1


# ---------------------------------------------------------------- timeouts


def test_a_timeout_is_retried(portal, soda_rows):
    url = portal.soda(DATASET, soda_rows)
    portal.fail(delay=FAST.timeout_seconds + 0.5)
    assert len(fetch(url)) == 5
    assert len(portal.log) == 2


def test_timeouts_are_bounded(portal, soda_rows):
    url = portal.soda(DATASET, soda_rows)
    settings = FAST.model_copy(update={"timeout_seconds": 0.2, "retries": 2})
    portal.fail(delay=0.5, times=5)
    with pytest.raises(
        ConnectorError, match=rf"{DATASET}\.json.*: request failed after 2 retries: .*Read timed out"
    ):
        fetch(url, settings)
    assert len(portal.log) == 3


# ---------------------------------------------------------------- 401 / 403 / 404


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (401, "unauthorized: the portal wants credentials"),
        (403, "forbidden: the token or this client is not allowed"),
        (404, "not found: check the dataset id and the portal URL"),
    ],
)
def test_client_errors_fail_at_once_with_a_clear_message(portal, soda_rows, status, says):
    url = portal.soda(DATASET, soda_rows)
    portal.fail(status=status, times=10, retry_after="0")
    with pytest.raises(ConnectorError, match=rf"{DATASET}\.json.*HTTP {status} {says}"):
        fetch(url)
    assert len(portal.log) == 1


# ---------------------------------------------------------------- broken bodies


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ({"truncate": True}, "not valid JSON.*truncated"),
        ({"status": 200, "raw": "<html><body>Service maintenance</body></html>"}, "not valid JSON"),
    ],
    ids=["truncated", "html"],
)
def test_a_broken_body_fails_the_page_with_a_clear_error_not_the_process(portal, soda_rows, fault, says):
    url = portal.soda(DATASET, soda_rows)
    portal.fail(**fault)
    with pytest.raises(ConnectorError, match=rf"{DATASET}\.json.*{says}"):
        fetch(url)
    assert len(fetch(url)) == 5  # the next request is fine: nothing else is affected


def test_a_broken_page_stops_that_source_with_a_source_error_naming_the_page(tmp_path, portal, soda_rows):
    """Through the landing step: the page's failure is one SourceError (what the run reports), not an
    exception of the JSON decoder, and another source in the same data home lands normally."""
    paths = make_paths(tmp_path)
    body = f"""
    name: crimes
    kind: crime
    connector: {{type: socrata, url: "{portal.soda(DATASET, soda_rows)}", order_by: id, cursor_field: updated_on,
                page_size: 50, http: {{timeout_seconds: 1, retries: 1, backoff_seconds: 0.01}}}}
    timestamp_format: iso8601
    columns: {{incident_id: id, occurred_at: date, updated_at: updated_on, offense_code: fbi_code}}
    offense_crosswalk: crosswalk.csv
    """
    crimes = write_source(
        paths, "crimes", body, {"crosswalk.csv": "offense_code,ucr_category\n06,property\n"}
    )
    other_url = portal.soda("abcd-1234", soda_rows[:10])
    other = write_source(
        paths, "other", body.replace("crimes", "other").replace(crimes.connector.url, other_url)
    )
    portal.fail(when=lambda params: params["$offset"] == "100", truncate=True)
    with pytest.raises(SourceError, match=r"crimes: .*offset=100.*not valid JSON") as failure:
        ingest.land(crimes, paths, None)
    assert "100 rows fetched before it are kept" in str(failure.value)
    assert len(ingest.land(other, paths, None)) == 1


def test_a_page_of_valid_json_but_not_rows_fails_the_page_naming_it(portal, soda_rows):
    url = portal.soda(DATASET, soda_rows)
    portal.fail(status=200, body={"message": "dataset moved"})
    config = socrata.SocrataConnector(type="socrata", url=url, order_by="id", page_size=50, http=FAST)
    with (
        socrata.session(config) as http,
        pytest.raises(ConnectorError, match="offset 0.*expected a JSON list"),
    ):
        list(socrata.pages(config, http))
