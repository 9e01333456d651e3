"""The one HTTP session every network connector uses: timeouts, bounded retries, clear errors.

urllib3's `Retry` retries 429 (waiting what Retry-After asks, at most `retry_after_max_seconds`) and 5xx
responses, connection errors and read timeouts with exponential backoff (none before the first retry, then
`backoff_seconds * 2^(n-1)`, at most `backoff_max_seconds`), a bounded number of times. 401, 403 and 404 are never
retried: a wrong URL or a missing token does not get better by asking again, so they fail at once with a
message saying what to fix. The delays come from the source's YAML (`http:`), so tests keep them tiny by
configuration rather than by patching.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, Field
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RETRIED_STATUSES = (429, 500, 502, 503, 504)
FATAL_STATUSES = {
    401: "unauthorized: the portal wants credentials (is the app token's environment variable set and valid?)",
    403: "forbidden: the token or this client is not allowed to read the dataset",
    404: "not found: check the dataset id and the portal URL in the source YAML",
}


class ConnectorError(Exception):
    """A page could not be fetched or read; the message names the URL and why."""


class HttpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_seconds: float = Field(60, gt=0)  # connect and read, per request
    retries: int = Field(5, ge=0)  # tries after the first, for any retried failure
    backoff_seconds: float = Field(1.0, ge=0)  # waits are backoff * 2^(n-1), capped below
    backoff_max_seconds: float = Field(60, ge=0)
    retry_after_max_seconds: int = Field(600, ge=0)  # a longer Retry-After is waited only this long


class PortalConnector(BaseModel):
    """What every portal connector's YAML holds beside its own fields: how far back each run looks again (late
    and revised records), and the HTTP settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lookback_days: float = Field(7, ge=0)
    http: HttpSettings = HttpSettings()


def make_session(settings: HttpSettings, headers: dict[str, str] | None = None) -> requests.Session:
    retry = Retry(
        total=settings.retries,
        status_forcelist=RETRIED_STATUSES,
        allowed_methods={"GET"},
        backoff_factor=settings.backoff_seconds,
        backoff_max=settings.backoff_max_seconds,
        respect_retry_after_header=True,
        retry_after_max=settings.retry_after_max_seconds,
        raise_on_status=False,  # the last response comes back, so the error below can say what it was
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"Accept": "application/json", **(headers or {})})
    return session


def get_json(session: requests.Session, url: str, params: dict[str, Any], settings: HttpSettings) -> Any:
    """GET one page and decode it. Every failure becomes one ConnectorError naming the URL and the reason."""
    try:
        response = session.get(url, params=params, timeout=settings.timeout_seconds)
    except requests.exceptions.RetryError as error:
        raise ConnectorError(f"{url}: gave up after {settings.retries} retries ({error})") from None
    except requests.exceptions.RequestException as error:
        raise ConnectorError(f"{url}: request failed after {settings.retries} retries: {error}") from None
    if response.status_code in FATAL_STATUSES:
        raise ConnectorError(
            f"{response.url}: HTTP {response.status_code} {FATAL_STATUSES[response.status_code]}"
        )
    if response.status_code >= 400:
        raise ConnectorError(
            f"{response.url}: HTTP {response.status_code} after {settings.retries} retries: {response.text[:300]}"
        )
    try:
        return response.json()
    except (json.JSONDecodeError, requests.exceptions.JSONDecodeError) as error:
        raise ConnectorError(
            f"{response.url}: the response is not valid JSON ({error}; {len(response.content)} bytes received): "
            "truncated or not a JSON endpoint"
        ) from None


class Page(BaseModel):
    """One page as a network connector yields it: the records, where it started, and its greatest cursor value."""

    model_config = ConfigDict(frozen=True)

    records: list[dict[str, Any]]
    offset: int  # position of the first record in the ordered result
    max_cursor: str | None = None  # ISO timestamp: the greatest value of the cursor field in the page


def greatest_timestamp(values: list[Any]) -> str | None:
    """The latest of some ISO timestamps (unparseable ones ignored), as ISO text: a page's cursor value."""
    import pandas as pd

    parsed = pd.to_datetime(pd.Series(values, dtype="object"), format="ISO8601", errors="coerce")
    latest = parsed.max()
    return None if pd.isna(latest) else latest.isoformat()


def quoted(text: str) -> str:
    """`text` as a string literal of a remote query (SoQL's `$where`, the SQL-92 `where` of ArcGIS): in single
    quotes, each quote inside doubled, so that no value can end its literal and be read as query text. Every value
    that goes into a remote query string goes through here."""
    return "'" + text.replace("'", "''") + "'"


def timestamp_literal(value: str, *, sep: str, timespec: str) -> str:
    """A cursor bound as a quoted timestamp literal. The bound may come back from the resume state on disk, so it is
    parsed first: only a timestamp reaches the query, written as the API reads it (`sep` and `timespec` as in
    datetime.isoformat; no zone, as both APIs compare timestamps)."""
    import pandas as pd

    try:
        moment = pd.Timestamp(value)
    except (TypeError, ValueError):
        moment = pd.NaT
    if pd.isna(moment) or moment.tzinfo is not None:
        raise ConnectorError(f"the cursor's lower bound {value!r} is not a timestamp without a zone")
    return quoted(moment.isoformat(sep=sep, timespec=timespec))
