"""Reliability property 13 (docs/reliability.md) — Paths from source YAML and file drops resolve inside the data home (no `../` escape, no absolute
path out, no symlink out); SQL identifiers from config are validated and quoted; values are bound as parameters.

Source YAML goes through the real loader (`pipelines.sources.load_source`), file drops through `ingest.land` /
`ingest.validate` into a DuckDB warehouse.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines import ingest
from pipelines.connectors.files import landing_files
from pipelines.kinds import KINDS
from pipelines.kinds.base import SourceError
from pipelines.warehouse import connect, quote, refresh_canonical_view
from tests.conftest import TEST_SALT, parse_file
from tests.reliability._helpers import (
    DEMO_CROSSWALK,
    FUZZ,
    drop,
    land_and_load,
    make_paths,
    neighborhoods_geojson,
    query,
    write_source,
)

GEOGRAPHY = """
name: {name}
kind: geography
id_property: nbhd_id
name_property: nbhd_name
"""


@pytest.fixture
def paths(tmp_path):
    return make_paths(tmp_path / "home")


def refused_definition(paths, body: str, *says: str, crosswalks=None) -> str:
    with pytest.raises(SourceError) as error:
        write_source(paths, "definition", body, crosswalks)
    message = str(error.value)
    assert str(paths.sources_dir / "definition.yml") in message, message
    for expected in says:
        assert expected in message, message
    return message


# ---------------------------------------------------------------- paths in source YAML


@pytest.mark.parametrize(
    "pattern",
    [
        "../outside/*.csv",
        "landing/../../outside/*.csv",
        "landing/places/../../../etc/*",
        "/etc/*",
        "/tmp/*.geojson",
        "..\\\\outside\\\\*.csv",
        "${ESCAPE}/x.geojson",  # a value from the environment is checked after it is expanded
    ],
)
def test_a_path_out_of_the_data_home_is_refused_by_the_yaml_loader(paths, monkeypatch, pattern):
    monkeypatch.setenv("ESCAPE", "../../home/someone")
    body = GEOGRAPHY.format(name="places") + f'path: "{pattern}"\n'
    refused_definition(paths, body, "field 'path'", "relative to the data home")


def test_the_landing_step_refuses_an_escaping_pattern_too(paths):
    """Defence in depth: a spec built without the YAML loader still cannot read outside the home."""
    for pattern in ("../*", "/etc/*", "landing/../../*"):
        with pytest.raises(SourceError, match="must be relative to the data home"):
            landing_files(paths.home, pattern)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("offense_crosswalk", "../../../etc/passwd"),
        ("offense_crosswalk", "/etc/passwd"),
        ("area_crosswalk", "../outside.csv"),
    ],
)
def test_a_crosswalk_outside_the_yaml_folder_is_refused(paths, field, value):
    (paths.home / "outside.csv").write_text("area_code,neighborhood_id\n1,N01\n")
    files = {"offense_crosswalk": "crosswalk.csv", field: value}
    body = (
        "name: crimes\nkind: crime\ncolumns: {incident_id: ID, occurred_at: Date, offense_code: FBI Code}\n"
    )
    body += "".join(f'{name}: "{file}"\n' for name, file in files.items())
    refused_definition(
        paths, body, f"field '{field}'", "points outside", crosswalks={"crosswalk.csv": DEMO_CROSSWALK}
    )


@pytest.mark.parametrize("field", ["crosswalk", "boundaries"])
def test_an_event_area_file_outside_the_yaml_folder_is_refused(paths, field):
    (paths.home / "beats.csv").write_text("area_code,neighborhood_id\n1,N01\n")
    extra = ", id_property: BEAT" if field == "boundaries" else ""
    body = f"""
    name: calendar
    kind: events
    timestamp_format: "%Y-%m-%d %H:%M"
    columns: {{title: Title, starts_at: Start}}
    area: {{{field}: ../beats.csv{extra}}}
    """
    refused_definition(paths, body, f"field 'area.{field}'", "points outside")


def test_a_crosswalk_that_is_a_symlink_out_of_the_yaml_folder_is_refused(paths, tmp_path):
    secret = tmp_path / "elsewhere.csv"
    secret.write_text("offense_code,ucr_category\n06,property\n")
    (paths.sources_dir / "crosswalk.csv").symlink_to(secret)
    body = """
    name: crimes
    kind: crime
    columns: {incident_id: ID, occurred_at: Date, offense_code: FBI Code}
    offense_crosswalk: crosswalk.csv
    """
    refused_definition(paths, body, "field 'offense_crosswalk'", "points outside")


# ---------------------------------------------------------------- file drops


def test_a_symlinked_landing_file_pointing_outside_is_refused_with_a_clear_message(paths, tmp_path):
    spec = write_source(paths, "places", GEOGRAPHY.format(name="places"))
    outside = tmp_path / "outside.geojson"
    outside.write_text(neighborhoods_geojson(("N01",)))
    link = paths.landing / "places" / "boundaries.geojson"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    with pytest.raises(SourceError) as error:
        ingest.land(spec, paths, TEST_SALT)
    message = str(error.value)
    assert str(link) in message and "refused" in message and "outside" in message, message
    assert not list((paths.parsed / "places").glob("*")), "nothing of the outside file was read into parsed/"


def test_a_symlinked_landing_folder_pointing_outside_is_refused(paths, tmp_path):
    spec = write_source(paths, "places", GEOGRAPHY.format(name="places"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "boundaries.geojson").write_text(neighborhoods_geojson(("N01",)))
    paths.landing.mkdir(parents=True)
    (paths.landing / "places").symlink_to(outside, target_is_directory=True)
    with pytest.raises(SourceError, match=r"refused: .* outside"):
        ingest.land(spec, paths, TEST_SALT)
    assert not list((paths.parsed / "places").glob("*"))


def test_a_symlink_that_stays_inside_the_data_home_is_followed(paths):
    spec = write_source(paths, "places", GEOGRAPHY.format(name="places"))
    shared = drop(paths, "shared", "boundaries.geojson", neighborhoods_geojson())
    (paths.landing / "places").mkdir(parents=True)
    (paths.landing / "places" / "boundaries.geojson").symlink_to(shared)
    (summary,) = land_and_load(paths, spec, [spec])
    assert summary.rows_loaded == 3


# ---------------------------------------------------------------- identifiers from config

NASTY_NAMES = [
    "x; drop table raw.x",
    "x'); DROP TABLE meta.loads; --",
    'x"; DROP TABLE meta.loads; --',
    "raw.x",
    "../x",
    "x/../../y",
    "Places",
    "1places",
    "_places",
    "places-2024",
    "places 2024",
    "plâces",
    "",
    "p" * 64,
]


@pytest.mark.parametrize("name", NASTY_NAMES)
def test_a_source_name_that_is_not_a_safe_identifier_is_refused_by_the_yaml_loader(paths, name):
    body = GEOGRAPHY.format(name=json.dumps(name))
    refused_definition(paths, body, "field 'name'", "lower-case letters, digits and underscores")


@FUZZ
@given(name=st.text(alphabet="abcxyz019_;'\" -.()/É", max_size=70))
def test_only_safe_identifiers_pass_the_yaml_loader(tmp_path_factory, name):
    paths = make_paths(tmp_path_factory.mktemp("names"))
    safe = re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name) is not None
    try:
        spec = write_source(paths, "definition", GEOGRAPHY.format(name=json.dumps(name)))
    except SourceError as error:
        assert not safe, f"{name!r} was refused: {error}"
        assert "field 'name'" in str(error)
    else:
        assert safe and spec.name == name
        assert quote(spec.name) == f'"{name}"'


@pytest.mark.parametrize("name", ["select", "order", "from", "table"])
def test_a_source_named_like_a_sql_keyword_loads_because_identifiers_are_quoted(paths, name):
    spec = write_source(paths, name, GEOGRAPHY.format(name=name))
    drop(paths, name, "boundaries.geojson", neighborhoods_geojson())
    (summary,) = land_and_load(paths, spec, [spec])
    assert summary.rows_loaded == 3
    with connect(paths.warehouse) as con:
        refresh_canonical_view(con, KINDS["geography"], [name])
    assert query(paths, "SELECT count(*) AS n FROM canonical.neighborhoods")["n"].item() == 3
    assert query(paths, f'SELECT count(*) AS n FROM raw."{name}"')["n"].item() == 3


@pytest.mark.parametrize("identifier", NASTY_NAMES + ["a\x00b", "x\ny"])
def test_quote_refuses_anything_but_a_plain_identifier(identifier):
    with pytest.raises(ValueError, match="not a safe SQL identifier"):
        quote(identifier)


@pytest.mark.parametrize(
    ("field", "value"),
    [("order_by", "id; DROP TABLE x"), ("cursor_field", "updated_on' OR '1'='1"), ("order_by", "id desc")],
)
def test_connector_field_names_are_validated_before_they_reach_a_query(paths, field, value):
    body = f"""
    name: crimes
    kind: crime
    connector: {{type: socrata, url: "https://data.example.org/resource/abcd-1234.json", {field}: "{value}"}}
    columns: {{incident_id: id, occurred_at: date, offense_code: fbi_code}}
    offense_crosswalk: crosswalk.csv
    """
    refused_definition(
        paths, body, f"field 'connector.socrata.{field}'", crosswalks={"crosswalk.csv": DEMO_CROSSWALK}
    )


# ---------------------------------------------------------------- values are bound, not spliced

INJECTION = "x'); DROP TABLE meta.loads; --"


def test_a_file_name_with_quotes_and_sql_is_stored_as_a_value(paths):
    spec = write_source(paths, "places", GEOGRAPHY.format(name="places"))
    drop(paths, "places", f"{INJECTION}.geojson", neighborhoods_geojson())
    (summary,) = land_and_load(paths, spec, [spec])
    assert summary.rows_loaded == 3
    files = query(paths, "SELECT file FROM meta.loads")["file"].tolist()
    assert files == [f"landing/places/{INJECTION}.geojson"]
    assert set(query(paths, "SELECT DISTINCT _file FROM raw.places")["_file"]) == set(files)


@pytest.mark.parametrize("kind", ["crime", "roster", "survey"])
def test_column_names_and_values_from_a_file_never_become_sql(paths, kind):
    """A column mapped in the YAML by a name full of SQL, holding values full of SQL: read as data, loaded as data
    (and the warehouse's other tables are untouched)."""
    column = 'ID"; DROP TABLE meta.loads; --'
    bodies = {
        "crime": f"""
            name: sneaky
            kind: crime
            timestamp_format: "%Y-%m-%d"
            columns: {{incident_id: {json.dumps(column)}, occurred_at: Date, offense_code: Code}}
            offense_crosswalk: crosswalk.csv
            """,
        "roster": f"""
            name: sneaky
            kind: roster
            columns: {{event_id: {json.dumps(column)}, name: Name}}
            """,
        "survey": f"""
            name: sneaky
            kind: survey
            timestamp_format: "%Y-%m-%d"
            columns: {{response_id: Code, submitted_at: Date, neighborhood: {json.dumps(column)}}}
            scale: {{"1": 1, "5": 5}}
            items: [{{column: Name, construct: trust}}]
            """,
    }
    spec = write_source(paths, "sneaky", bodies[kind], {"crosswalk.csv": DEMO_CROSSWALK})
    # Google Forms' layout (a survey export must be of a known tool's): a first column named Timestamp.
    header = ",".join(["Timestamp", '"ID""; DROP TABLE meta.loads; --"', "Date", "Code", "Name"])
    row = ",".join(["x", f'"{INJECTION.replace(chr(34), chr(34) * 2)}"', "2024-01-09", "06", "Ada Lovelace"])
    file = drop(paths, "sneaky", "drop.csv", f"{header}\n{row}\n")
    parsed = parse_file(spec, file, TEST_SALT)
    # (A survey's response id is only ever stored as a keyed hash: the neighborhood answer carries the value.)
    first = {"crime": "incident_id", "roster": "event_id", "survey": "neighborhood"}[kind]
    assert parsed[first].tolist() == [INJECTION]
    ingest.land(spec, paths, TEST_SALT)
    (summary,) = ingest.validate(spec, [spec], paths)
    assert summary.rows_received == 1
    assert query(paths, "SELECT count(*) AS n FROM meta.loads")["n"].item() == 1
    stored = query(
        paths, "SELECT record FROM quarantine.sneaky UNION ALL SELECT CAST(_row AS VARCHAR) FROM raw.sneaky"
    )
    assert len(stored) == 1
