"""A city portal on 127.0.0.1 that replays real records the way Socrata and ArcGIS serve them, with faults.

This is the network edge of the tests: a real HTTP server (pytest-httpserver, threaded) answering real requests
from our connectors. It implements just enough of each API: SODA `$limit/$offset/$order` and a
`$where <field> >= '<timestamp>'` cursor; ArcGIS `query` with `resultOffset/resultRecordCount/orderByFields`,
a `<field> >= TIMESTAMP '...'` clause and `exceededTransferLimit`. Every request is logged, and faults
(a status with Retry-After, a slow answer, a truncated body) are injected on the requests that match.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipelines.connectors.http import HttpSettings

# Small delays by configuration (the YAML's `http:` block), so retries are real but fast.
FAST = HttpSettings(timeout_seconds=1.0, retries=3, backoff_seconds=0.01, backoff_max_seconds=0.05)

SODA_WHERE = re.compile(r"^(?P<field>:?\w+) >= '(?P<value>[^']+)'$")
ARCGIS_CURSOR = re.compile(r"(?P<field>\w+) >= TIMESTAMP '(?P<value>[^']+)'")


@dataclass
class Fault:
    matches: Any  # callable(params) -> bool
    times: int
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0  # seconds to wait before answering normally (a timeout when above the client's)
    truncate: bool = False  # answer normally but cut the body in half (a complete, shorter answer)
    body: Any = None  # answer this JSON with `status` instead (ArcGIS reports errors as HTTP 200 bodies)
    raw: str | None = None  # answer this text (an HTML error page, say) with `status` instead


@dataclass
class Portal:
    server: HTTPServer
    datasets: dict[str, dict] = field(default_factory=dict)
    log: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    request_times: list[float] = field(default_factory=list)  # time.monotonic() of each request, as `log`
    faults: list[Fault] = field(default_factory=list)
    app_tokens: list[str | None] = field(default_factory=list)  # the X-App-Token header of every request

    @property
    def base_url(self) -> str:
        return self.server.url_for("").rstrip("/")

    # ---- datasets
    def soda(self, dataset: str, records: list[dict], geojson: bool = False) -> str:
        path = f"/resource/{dataset}.{'geojson' if geojson else 'json'}"
        self.datasets[path] = {"api": "soda", "records": records, "geojson": geojson}
        self.server.expect_request(path).respond_with_handler(self._handle)
        return self.base_url + path

    def arcgis(self, layer: str, records: list[dict], date_fields: tuple[str, ...] = ()) -> str:
        path = f"/arcgis/rest/services/{layer}/FeatureServer/0"
        self.datasets[path + "/query"] = {"api": "arcgis", "records": records, "dates": date_fields}
        self.server.expect_request(path + "/query").respond_with_handler(self._handle)
        return self.base_url + path

    def fail(self, when=lambda params: True, times: int = 1, **kwargs) -> None:
        self.faults.append(Fault(when, times, **kwargs))

    def requests_to(self, path_end: str) -> list[dict[str, str]]:
        return [params for path, params in self.log if path.endswith(path_end)]

    # ---- serving
    def _handle(self, request: Request) -> Response:
        params = dict(request.args)
        self.request_times.append(time.monotonic())
        self.log.append((request.path, params))
        self.app_tokens.append(request.headers.get("X-App-Token"))
        dataset = self.datasets[request.path]
        fault = next((f for f in self.faults if f.times > 0 and f.matches(params)), None)
        if fault is not None:
            fault.times -= 1
            if fault.delay:
                time.sleep(fault.delay)
            elif not fault.truncate:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                if fault.raw is not None:
                    return Response(fault.raw, status=fault.status, headers=headers, content_type="text/html")
                body = fault.body if fault.body is not None else {"error": "injected"}
                return Response(json.dumps(body), status=fault.status, headers=headers)
        body = json.dumps(
            self._soda(dataset, params) if dataset["api"] == "soda" else self._arcgis(dataset, params)
        )
        if fault is not None and fault.truncate:
            body = body[: len(body) // 2]
        return Response(body, status=200, content_type="application/json")

    def _soda(self, dataset: dict, params: dict[str, str]):
        records = dataset["records"]
        values = (lambda r: r["properties"]) if dataset["geojson"] else (lambda r: r)
        if "$where" in params:
            match = SODA_WHERE.match(params["$where"])
            assert match, f"unsupported $where {params['$where']!r}"
            bound = pd.Timestamp(match["value"])
            records = [
                r
                for r in records
                if values(r).get(match["field"]) and pd.Timestamp(values(r)[match["field"]]) >= bound
            ]
        ordered = sorted(records, key=lambda r: _key(values(r), params["$order"]))
        offset, limit = int(params.get("$offset", 0)), int(params.get("$limit", 1000))
        page = ordered[offset : offset + limit]
        return {"type": "FeatureCollection", "features": page} if dataset["geojson"] else page

    def _arcgis(self, dataset: dict, params: dict[str, str]):
        records = dataset["records"]
        cursor = ARCGIS_CURSOR.search(params.get("where", ""))
        if cursor:
            bound = pd.Timestamp(cursor["value"], tz="UTC")
            records = [r for r in records if pd.Timestamp(r[cursor["field"]], unit="ms", tz="UTC") >= bound]
        ordered = sorted(records, key=lambda r: _key(r, params["orderByFields"]))
        offset, count = int(params["resultOffset"]), min(int(params["resultRecordCount"]), 1000)
        page = ordered[offset : offset + count]
        fields = [
            {"name": name, "type": "esriFieldTypeDate" if name in dataset["dates"] else "esriFieldTypeString"}
            for name in (records[0] if records else {})
        ]
        return {
            "fields": fields,
            "features": [{"attributes": r} for r in page],
            "exceededTransferLimit": offset + count < len(ordered),
        }


def _key(record: dict, name: str):
    value = record.get(name)
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


@contextmanager
def portal_server() -> Iterator[HTTPServer]:
    """A threaded server (a slow answer must not hold up the client's retry) on 127.0.0.1. Stopping one takes
    half a second, so a test module shares one and takes a `fresh_portal` of it per test."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def fresh_portal(server: HTTPServer) -> Portal:
    """A portal with no datasets, faults or logged requests on a running server."""
    server.clear()
    return Portal(server)


@contextmanager
def running_portal() -> Iterator[Portal]:
    with portal_server() as server:
        yield Portal(server)
