"""Socrata (SODA 2.x) connector: `/resource/<dataset id>.json` (rows) or `.geojson` (features).

What is paged: the dataset's rows ordered by `order_by` (default `:id`, the row's stable primary key),
`page_size` at a time with `$limit` / `$offset`; a page shorter than `page_size` is the last.
The cursor: `cursor_field` (default `:updated_at`, any timestamp column works, e.g. Chicago's `updated_on`);
a run asks `$where <cursor_field> >= <stored cursor minus lookback_days>`, so records revised shortly before
the previous run are asked for again and nothing revised at the boundary is missed.
Primary key: `order_by`. Optional `X-App-Token` from the environment variable named by `app_token_env`.
No Dagster in here: the raw asset calls `pages()` through pipelines.ingest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

import pandas as pd
import requests
from pydantic import Field, field_validator

from pipelines.connectors import http

SOQL_FIELD = re.compile(r"^:?[A-Za-z_][A-Za-z0-9_]*$")


class SocrataConnector(http.PortalConnector):
    type: Literal["socrata"]
    url: str  # https://<portal>/resource/<dataset id>.json (or .geojson for boundaries)
    order_by: str = ":id"
    cursor_field: str | None = ":updated_at"  # None: every run reads the whole dataset
    page_size: int = Field(50_000, ge=1, le=50_000)
    app_token_env: str | None = None

    @field_validator("url")
    @classmethod
    def _resource_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/]+(/.*)?/resource/[a-z0-9]{4}-[a-z0-9]{4}\.(json|geojson)$", value):
            raise ValueError(
                "must look like https://<portal>/resource/<dataset id>.json (or .geojson), e.g. "
                "https://data.example.gov/resource/abcd-1234.json"
            )
        return value

    @field_validator("order_by", "cursor_field")
    @classmethod
    def _field_name(cls, value: str | None) -> str | None:
        if value is not None and not SOQL_FIELD.match(value):
            raise ValueError(
                f"{value!r} is not a SoQL field name (letters, digits, _; system fields start with ':')"
            )
        return value


def session(config: SocrataConnector, app_token: str | None = None) -> requests.Session:
    return http.make_session(config.http, {"X-App-Token": app_token} if app_token else None)


def since(config: SocrataConnector, cursor: str | None) -> str | None:
    """The lower bound a run asks for: the stored cursor minus the look-back window, as a SoQL timestamp."""
    if cursor is None or config.cursor_field is None:
        return None
    start = pd.Timestamp(cursor) - pd.Timedelta(days=config.lookback_days)
    return start.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def pages(
    config: SocrataConnector, client: requests.Session, *, since: str | None = None, offset: int = 0
) -> Iterator[http.Page]:
    """Pages ordered by `order_by`, from `offset`, filtered to `cursor_field >= since` when given."""
    geojson = config.url.endswith(".geojson")
    # A SoQL floating timestamp, to the millisecond: '2019-12-04T00:00:00.000'.
    bound = http.timestamp_literal(since, sep="T", timespec="milliseconds") if since is not None else None
    while True:
        params: dict[str, object] = {"$limit": config.page_size, "$offset": offset, "$order": config.order_by}
        if bound is not None and config.cursor_field:
            params["$where"] = f"{config.cursor_field} >= {bound}"
        if ":" in (config.order_by[:1] + (config.cursor_field or " ")[:1]):
            params["$select"] = ":*, *"  # system fields (:id, :updated_at) are returned only when asked for
        document = http.get_json(client, config.url, params, config.http)
        records = document.get("features") if geojson and isinstance(document, dict) else document
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise http.ConnectorError(
                f"{config.url} (offset {offset}): expected a JSON list of "
                f"{'features' if geojson else 'rows'}, got {type(document).__name__}"
            )
        cursor_values = [
            (r.get("properties") or {}).get(config.cursor_field) if geojson else r.get(config.cursor_field)
            for r in records
        ]
        yield http.Page(
            records=records,
            offset=offset,
            max_cursor=http.greatest_timestamp(cursor_values) if config.cursor_field else None,
        )
        offset += len(records)
        if len(records) < config.page_size:
            return
