"""Source definitions and records the connector tests replay: sources/chicago's crimes YAML pointed at the local
portal, and the real Detroit RMS extract served as an ArcGIS FeatureServer layer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.settings import REPO_ROOT, Paths
from pipelines.sources import load_source
from tests.connectors.portal import FAST, Portal

CHICAGO = REPO_ROOT / "sources" / "chicago"

DETROIT_YAML = """
name: detroit_crimes
kind: crime
connector:
  type: arcgis
  url: {url}
  order_by: OBJECTID
  cursor_field: EditDate
  lookback_days: 1
  page_size: 10
  timezone: America/Detroit
  http: {{timeout_seconds: 1, retries: 3, backoff_seconds: 0.01, backoff_max_seconds: 0.05}}
timestamp_format: "%Y"
columns:
  incident_id: incident_entry_id
  occurred_at: year
  updated_at: EditDate
  offense_code: offense_category
  latitude: latitude
  longitude: longitude
  area_code: neighborhood
offense_crosswalk: offenses.csv
"""


def chicago_home(folder: Path) -> Paths:
    return Paths(folder, CHICAGO, folder / "warehouse.duckdb", folder / "published")


def chicago_spec(monkeypatch, portal: Portal, name: str = "chicago_crimes", page_size: int = 40):
    """sources/chicago/<name>.yml as a deployment would load it, reading the local portal in small pages."""
    monkeypatch.setenv("CHICAGO_PORTAL_URL", portal.base_url)
    monkeypatch.setenv("CHICAGO_PAGE_SIZE", str(page_size))
    spec = load_source(CHICAGO / f"{name}.yml")
    return spec.model_copy(update={"connector": spec.connector.model_copy(update={"http": FAST})})


def detroit_records(real_data: Path) -> list[dict]:
    """The real rows as FeatureServer attributes. The extract has no OBJECTID or edit date, so the test numbers
    the rows and gives each an EditDate (epoch milliseconds, as ArcGIS sends dates), one hour apart."""
    frame = pd.read_csv(
        real_data / "detroit_rms_crime_incidents_liquor_2024_subset.csv", dtype=str, encoding="utf-8-sig"
    )
    records = frame.to_dict("records")
    start = pd.Timestamp("2024-06-01 12:00", tz="UTC")
    for number, record in enumerate(records, start=1):
        record["OBJECTID"] = number
        record["EditDate"] = int((start + pd.Timedelta(hours=number)).timestamp() * 1000)
    return records


def detroit_spec(folder: Path, url: str):
    folder = folder / "sources"
    folder.mkdir(exist_ok=True)
    (folder / "offenses.csv").write_text("offense_code,ucr_category\nLIQUOR,other\n")
    (folder / "detroit_crimes.yml").write_text(DETROIT_YAML.format(url=url))
    return load_source(folder / "detroit_crimes.yml")
