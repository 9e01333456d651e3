"""ArcGIS FeatureServer connector: `<service>/FeatureServer/<layer>/query`.

What is paged: the layer's features ordered by `order_by` (default `OBJECTID`, the primary key),
`page_size` at a time with `resultOffset` / `resultRecordCount`; the server sets `exceededTransferLimit`
while more remain. The cursor: optional `cursor_field` (a date field such as `EditDate`); a run asks
`<cursor_field> >= TIMESTAMP <stored cursor minus lookback_days>`. Primary key: `order_by`.
Records are the features' `attributes` (plus `geometry_x` / `geometry_y` for points, in WGS84). Date fields
arrive as epoch milliseconds; they are turned into ISO text in the layer's `timezone`, so a crime YAML reads
them with `timestamp_format: ISO8601` like any other source. No Dagster in here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

import pandas as pd
import requests
from pydantic import Field, field_validator

from pipelines.connectors import http

FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ArcgisConnector(http.PortalConnector):
    type: Literal["arcgis"]
    url: str  # https://<host>/.../FeatureServer/<layer id>
    order_by: str = "OBJECTID"
    cursor_field: str | None = None  # None: every run reads the whole layer
    page_size: int = Field(1000, ge=1)
    where: str = "1=1"
    timezone: str = "UTC"  # the city's zone: dates are stored as UTC epoch milliseconds

    @field_validator("url")
    @classmethod
    def _layer_url(cls, value: str) -> str:
        if not re.match(r"^https?://.+/(FeatureServer|MapServer)/\d+$", value):
            raise ValueError("must look like https://<host>/.../FeatureServer/<layer number>")
        return value

    @field_validator("order_by", "cursor_field")
    @classmethod
    def _field_name(cls, value: str | None) -> str | None:
        if value is not None and not FIELD.match(value):
            raise ValueError(f"{value!r} is not a field name")
        return value


def session(config: ArcgisConnector, app_token: str | None = None) -> requests.Session:
    return http.make_session(
        config.http, {"X-Esri-Authorization": f"Bearer {app_token}"} if app_token else None
    )


def since(config: ArcgisConnector, cursor: str | None) -> str | None:
    """The lower bound a run asks for, in UTC as ArcGIS compares dates: the cursor minus the look-back."""
    if cursor is None or config.cursor_field is None:
        return None
    local = pd.Timestamp(cursor) - pd.Timedelta(days=config.lookback_days)
    return local.tz_localize(config.timezone).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S")


def _records(config: ArcgisConnector, document: dict[str, Any]) -> list[dict[str, Any]]:
    dates = {f["name"] for f in document.get("fields") or [] if f.get("type") == "esriFieldTypeDate"}
    records = []
    for feature in document.get("features") or []:
        record = dict(feature.get("attributes") or {})
        for name in dates & record.keys():
            if record[name] is not None:
                moment = pd.Timestamp(record[name], unit="ms", tz="UTC").tz_convert(config.timezone)
                record[name] = moment.tz_localize(None).isoformat()
        geometry = feature.get("geometry") or {}
        if "x" in geometry and "y" in geometry:
            record["geometry_x"], record["geometry_y"] = geometry["x"], geometry["y"]
        records.append(record)
    return records


def pages(
    config: ArcgisConnector, client: requests.Session, *, since: str | None = None, offset: int = 0
) -> Iterator[http.Page]:
    """Pages ordered by `order_by`, from `offset`, while the server says more remain."""
    query_url = config.url + "/query"
    where = config.where
    if since is not None and config.cursor_field:
        bound = http.timestamp_literal(since, sep=" ", timespec="seconds")  # SQL-92: '2024-06-01 12:00:00'
        where = f"({where}) AND {config.cursor_field} >= TIMESTAMP {bound}"
    while True:
        params = {
            "where": where,
            "outFields": "*",
            "orderByFields": config.order_by,
            "resultOffset": offset,
            "resultRecordCount": config.page_size,
            "returnGeometry": "true",
            "outSR": 4326,
            "f": "json",
        }
        document = http.get_json(client, query_url, params, config.http)
        if not isinstance(document, dict) or "error" in document:
            error = document.get("error") if isinstance(document, dict) else document
            raise http.ConnectorError(
                f"{query_url} (offset {offset}): the server answered with an error: {error}"
            )
        if not isinstance(document.get("features"), list):
            raise http.ConnectorError(f"{query_url} (offset {offset}): no 'features' list in the answer")
        records = _records(config, document)
        yield http.Page(
            records=records,
            offset=offset,
            max_cursor=http.greatest_timestamp([r.get(config.cursor_field) for r in records])
            if config.cursor_field
            else None,
        )
        offset += len(records)
        if not records or not document.get("exceededTransferLimit"):
            return
