"""Crime landing formats (CSV, SODA JSON, ArcGIS JSON, Parquet) and `check-source` on source YAMLs a newcomer
writes. Real samples from ../shared/data/real; the CLI runs in a subprocess."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from pipelines import ingest
from pipelines.kinds import crime
from pipelines.kinds.base import SourceError
from pipelines.parsers.landing import read_columns
from pipelines.settings import REPO_ROOT, Paths
from pipelines.sources import load_source
from tests.conftest import run_cli

CHICAGO_CRIMES = REPO_ROOT / "sources" / "chicago" / "chicago_crimes.yml"
PORTAL = "%m/%d/%Y %I:%M:%S %p"


def parse(spec, file) -> pd.DataFrame:
    """A file's mapped columns as a load reads them."""
    return read_columns(file, crime.file_columns(spec)).to_pandas()


@pytest.fixture(scope="module")
def spec():
    return load_source(CHICAGO_CRIMES)


def test_soda_json_parquet_and_arcgis_json_read_the_same(tmp_path, spec, real_data):
    soda = real_data / "chicago_crimes_soda_api_sample200.json"
    from_json = parse(spec, soda)
    records = json.loads(soda.read_text())
    # The same records as a Parquet drop and as an ArcGIS FeatureServer answer.
    frame = pd.DataFrame(records).drop(columns=["location"])
    frame.to_parquet(tmp_path / "page.parquet")
    (tmp_path / "arcgis.json").write_text(json.dumps({"features": [{"attributes": r} for r in records]}))
    from_parquet = parse(spec, tmp_path / "page.parquet")
    from_arcgis = parse(spec, tmp_path / "arcgis.json")
    pd.testing.assert_frame_equal(from_json, from_arcgis)
    pd.testing.assert_frame_equal(from_json, from_parquet)
    assert len(from_json) == 200 and from_json["_row"].tolist() == list(range(1, 201))
    first = from_json.iloc[0]
    assert (first.incident_id, first.occurred_at, first.arrest) == (
        "11905072",
        "2019-11-27T23:57:00.000",
        "true",
    )
    # SODA leaves out null keys: the 7 records without coordinates are blank there, not an error.
    assert (from_json["latitude"] == "").sum() == sum("latitude" not in r for r in records) == 7


def test_iso8601_and_portal_timestamps_are_typed(spec, real_data):
    typed = crime.parse_crime_times(["2024-02-10T00:44:00.000", "2025-06-17T15:43:33", "x"], "iso8601")
    assert typed[:2] == [pd.Timestamp("2024-02-10 00:44"), pd.Timestamp("2025-06-17 15:43:33")]
    assert typed[2] is None
    epoch = crime.parse_crime_times(["1717243200000"], "epoch_ms")
    assert epoch[0] == pd.Timestamp("2024-06-01 12:00")
    portal = crime.parse_crime_times(
        [" 02/10/2024 12:44:00 AM", "02/10/2024 12:44:00 PM", "2024-02-10"], PORTAL
    )
    assert portal == [pd.Timestamp("2024-02-10 00:44"), pd.Timestamp("2024-02-10 12:44"), None]


def test_a_json_file_that_is_not_records_is_refused_naming_it(tmp_path, spec):
    (tmp_path / "odd.json").write_text('{"rows": 3}')
    with pytest.raises(SourceError, match="odd.json: expected a JSON list of records"):
        parse(spec, tmp_path / "odd.json")


def check(*args):
    return run_cli("check-source", *args, timeout=120)


def test_check_source_accepts_the_ready_made_deployments_and_their_samples(
    real_data, portal, tmp_path, monkeypatch
):
    # The community areas as a run fetches them (from a local stand-in of the portal) into a data home's raw/:
    # the boundaries check-source places the sample's incidents in.
    areas = json.loads((real_data / "chicago_community_areas_simplified_derived.geojson").read_text())
    portal.soda("igwz-8jzy", areas["features"], geojson=True)
    monkeypatch.setenv("CHICAGO_PORTAL_URL", portal.base_url)
    home = tmp_path / "home"
    paths = Paths(home, CHICAGO_CRIMES.parent, home / "warehouse.duckdb", home / "published")
    ingest.land(load_source(CHICAGO_CRIMES.parent / "chicago_community_areas.yml"), paths, None)

    result = run_cli(
        "check-source",
        str(CHICAGO_CRIMES),
        "--sample",
        str(real_data / "chicago_crimes_soda_api_sample200.json"),
        "--home",
        str(home),
        env={"CHICAGO_PORTAL_URL": portal.base_url},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "socrata" in result.stdout and "incremental on updated_on with a 7-day look-back" in result.stdout
    assert (
        "geography lookup chicago_community_areas: " in result.stdout and "of 77 rows loaded" in result.stdout
    )
    categories = re.search(
        r"categories of the (\d+) rows that would load: other (\d+), property (\d+), violent (\d+)\n",
        result.stdout,
    )
    assert categories and int(categories[1]) == sum(int(n) for n in categories.groups()[1:]) > 190
    for folder in ("chicago", "san_francisco"):
        for yml in sorted((REPO_ROOT / "sources" / folder).glob("*.yml")):
            assert check(str(yml)).returncode == 0, yml


@pytest.fixture
def newcomer(tmp_path):
    """A newcomer's first Chicago YAML: portal-export timestamps, for a SODA file."""
    shutil.copy(REPO_ROOT / "sources" / "chicago" / "fbi_code_crosswalk.csv", tmp_path)
    text = CHICAGO_CRIMES.read_text().replace(
        "timestamp_format: iso8601", 'timestamp_format: "%m/%d/%Y %I:%M:%S %p"'
    )
    text = text.replace("area_crosswalk: community_area_crosswalk.csv\n", "")
    (tmp_path / "crimes.yml").write_text(text)
    return tmp_path


def test_check_source_explains_a_timestamp_format_that_does_not_match(newcomer, real_data):
    result = check(
        str(newcomer / "crimes.yml"), "--sample", str(real_data / "chicago_crimes_soda_api_sample200.json")
    )
    assert result.returncode == 1
    assert (
        "200 of 200 rows: occurred_at does not match timestamp_format '%m/%d/%Y %I:%M:%S %p'" in result.stderr
    )
    assert "use timestamp_format: iso8601" in result.stderr


def test_check_source_names_the_codes_missing_from_the_crosswalk(newcomer, real_data):
    lines = (newcomer / "fbi_code_crosswalk.csv").read_text().splitlines()
    (newcomer / "fbi_code_crosswalk.csv").write_text(
        "\n".join(line for line in lines if not line.startswith("06,"))
    )
    text = (newcomer / "crimes.yml").read_text().replace('"%m/%d/%Y %I:%M:%S %p"', "iso8601")
    (newcomer / "crimes.yml").write_text(text)
    result = check(
        str(newcomer / "crimes.yml"), "--sample", str(real_data / "chicago_crimes_soda_api_sample200.json")
    )
    assert result.returncode == 1
    thefts = sum(
        r["fbi_code"] == "06"
        for r in json.loads((real_data / "chicago_crimes_soda_api_sample200.json").read_text())
    )
    assert (
        f"{thefts} of 200 rows ({thefts / 200:.1%})" in result.stderr and f"'06' ({thefts})" in result.stderr
    )


def test_check_source_refuses_a_bad_connector_with_an_actionable_message(newcomer):
    text = (newcomer / "crimes.yml").read_text().replace("/resource/ijzp-q8t2.json", "/d/ijzp-q8t2")
    (newcomer / "crimes.yml").write_text(text)
    result = check(str(newcomer / "crimes.yml"))
    assert result.returncode == 2
    assert "field 'connector.socrata.url'" in result.stderr or "connector" in result.stderr
    assert "must look like https://<portal>/resource/<dataset id>.json" in result.stderr
