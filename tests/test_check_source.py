"""`check-source --sample`: a sample is validated as the run would load it, against the boundaries and calendars in
the deployment's landing folder, and the run's own blocking checks decide the exit code. Hand-sized deployments
in a temporary folder; the expected lines are computed here from the files, in plain Python. The CLI runs
in-process (no pipeline run)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.connectors.files import landing_files
from pipelines.demo.generate import generate_demo_city
from pipelines.settings import DEMO_SOURCES_DIR
from pipelines.sources import load_source

# id -> (name, (lon_min, lon_max, lat_min, lat_max))
BOXES = {
    "N1": ("Alder Park", (-87.70, -87.65, 41.80, 41.85)),
    "N2": ("Birch Hill", (-87.65, -87.60, 41.80, 41.85)),
    "N3": ("Cedar Row", (-87.60, -87.55, 41.80, 41.85)),
}
BOUNDARIES_YAML = "name: bounds\nkind: geography\nid_property: nbhd_id\nname_property: nbhd_name\n"
LIKERT = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]
DEFAULT_MISSING = {"", "don't know", "dont know", "prefer not to say", "n/a"}
SURVEY_YAML = """
name: residents
kind: survey
export_format: google_forms
timestamp_format: "%m/%d/%Y %H:%M:%S"
columns:
  submitted_at: Timestamp
  neighborhood: Where do you live?
missing: ["Skipped"]
items:
  - {column: Q1, construct: trust}
  - {column: Q2, construct: trust}
  - {column: Q3, construct: safety, reverse: true}
"""
SURVEY_HEADER = ["Timestamp", "Where do you live?", "Q1", "Q2", "Q3"]
CRIME_YAML = """
name: incidents
kind: crime
timestamp_format: "%m/%d/%Y %I:%M:%S %p"
columns:
  incident_id: ID
  occurred_at: Date
  offense_code: FBI Code
  latitude: Latitude
  longitude: Longitude
offense_crosswalk: offenses.csv
"""
OFFENSES = {"03": "violent", "04B": "violent", "06": "property", "08B": "other"}


def feature(nbhd: str, name: str, box) -> dict:
    west, east, south, north = box
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature",
        "properties": {"nbhd_id": nbhd, "nbhd_name": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def write_boundaries(home: Path, boxes: dict) -> None:
    folder = home / "landing" / "bounds"
    folder.mkdir(parents=True, exist_ok=True)
    features = [feature(nbhd, name, box) for nbhd, (name, box) in boxes.items()]
    (folder / "areas.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture
def deployment(tmp_path) -> tuple[Path, Path]:
    """A deployment folder with three rectangular neighborhoods, their file in the data home's landing folder."""
    sources, home = tmp_path / "sources", tmp_path / "home"
    sources.mkdir()
    (sources / "bounds.yml").write_text(BOUNDARIES_YAML)
    write_boundaries(home, BOXES)
    return sources, home


def check(capsys, yml: Path, sample: Path, home: Path) -> tuple[int, str, str]:
    status = main(["check-source", str(yml), "--sample", str(sample), "--home", str(home)])
    out, err = capsys.readouterr()
    return status, out, err


def survey_rows(neighborhoods: list[str], q3: list[str]) -> list[list[str]]:
    rows = []
    for i, (answer, third) in enumerate(zip(neighborhoods, q3, strict=True)):
        first = (
            ["Don't know", "Skipped"][i] if i < 2 else LIKERT[i % 5]
        )  # missing codes: the default's and the YAML's
        rows.append([f"3/{1 + i % 28}/2024 10:00:00", answer, first, LIKERT[(i + 2) % 5], third])
    return rows


def known_answers() -> set[str]:
    return {label.lower() for nbhd, (name, _) in BOXES.items() for label in (nbhd, name)}


def test_a_label_off_the_scale_is_named_with_its_column_and_count_and_blocks(deployment, tmp_path, capsys):
    sources, home = deployment
    (sources / "residents.yml").write_text(SURVEY_YAML)
    places = [" alder PARK", "N2", "Cedar  Row"]
    q3 = [
        "Somewhat agree" if i % 3 == 0 else "Agree strongly" if i == 7 else LIKERT[i % 5] for i in range(30)
    ]
    rows = survey_rows([places[i % 3] for i in range(30)], q3)
    sample = write_csv(tmp_path / "wave.csv", [SURVEY_HEADER, *rows])

    status, out, err = check(capsys, sources / "residents.yml", sample, home)

    missing = DEFAULT_MISSING | {"skipped"}
    scale = {label.lower() for label in LIKERT}
    off_scale = Counter()
    for values in rows:
        for column, value in zip(SURVEY_HEADER[2:], values[2:], strict=True):
            if " ".join(value.lower().split()) not in scale | missing:
                off_scale[column, value] += 1
                break
    assert off_scale == {("Q3", "Somewhat agree"): 10, ("Q3", "Agree strongly"): 1}  # the fixture's own check
    assert status == 1
    for (column, value), count in off_scale.items():
        assert f"{column}: {value!r} in {count} of {len(rows)} rows is not on the scale" in err
    assert "Q1:" not in err  # "Don't know" (a default) and "Skipped" (the YAML's) are both missing codes
    assert "check quarantine_share would block the load" in err
    assert f"{sum(off_scale.values())} of {len(rows)} rows refused" in err


def test_neighborhood_answers_matching_no_boundary_in_the_landing_folder_block(deployment, tmp_path, capsys):
    sources, home = deployment
    (sources / "residents.yml").write_text(SURVEY_YAML)
    answers = ["Springfield", "Atlantis", "alder park", "N3", "Springfield", " Birch hill "] * 5
    rows = survey_rows(answers, [LIKERT[i % 5] for i in range(len(answers))])
    sample = write_csv(tmp_path / "wave.csv", [SURVEY_HEADER, *rows])

    status, out, err = check(capsys, sources / "residents.yml", sample, home)

    unknown = Counter(a for a in answers if " ".join(a.lower().split()) not in known_answers())
    assert unknown == {"Springfield": 10, "Atlantis": 5}
    assert status == 1
    for answer, count in unknown.items():
        assert f"Where do you live?: {answer!r} in {count} of {len(rows)} rows matches no neighborhood" in err
    assert f"geography lookup bounds: {len(BOXES)} of {len(BOXES)} rows loaded" in out

    # The same sample passes once the deployment's boundary file has those neighborhoods.
    more = {
        "N4": ("Springfield", (-87.55, -87.50, 41.80, 41.85)),
        "N5": ("Atlantis", (-87.50, -87.45, 41.80, 41.85)),
    }
    write_boundaries(home, BOXES | more)
    status, out, err = check(capsys, sources / "residents.yml", sample, home)
    assert status == 0, err
    assert "unknown_neighborhood" not in err


def test_an_offense_code_missing_from_the_crosswalk_is_listed_below_the_blocking_share(
    deployment, tmp_path, capsys
):
    sources, home = deployment
    (sources / "incidents.yml").write_text(CRIME_YAML)
    write_csv(sources / "offenses.csv", [["offense_code", "ucr_category"], *OFFENSES.items()])
    header = ["ID", "Date", "FBI Code", "Latitude", "Longitude"]
    rows = []
    for i in range(200):
        west, east, south, north = list(BOXES.values())[i % 3][1]
        code = "99Z" if i == 50 else list(OFFENSES)[i % 4]
        point = ("0", "0") if i == 120 else (f"{(south + north) / 2:.4f}", f"{(west + east) / 2:.4f}")
        rows.append([str(5000 + i), "02/10/2024 12:44:00 AM", code, *point])
    sample = write_csv(tmp_path / "export.csv", [header, *rows])

    status, out, err = check(capsys, sources / "incidents.yml", sample, home)

    loaded = [r for r in rows if r[3:] != ["0", "0"]]  # (0, 0) is no location: that incident is refused
    unmapped = Counter(r[2] for r in rows if r[2] not in OFFENSES)
    assert unmapped == {"99Z": 1} and 1 / len(rows) < 0.01  # below the default 1 % share
    assert status == 0, err
    assert (
        f"warning: {sample}: 1 of {len(rows)} rows ({1 / len(rows):.1%}) have offense codes "
        "missing from offenses.csv, loaded as 'other' (the load blocks above 1.0%): add rows "
        "'offense_code,ucr_category' for '99Z' (1)"
    ) in err
    assert (
        f"warning: {sample}: unlocatable: Latitude, Longitude: (0, 0), read as no coordinates in 1 of 200 rows"
        in err
    )
    categories = Counter(OFFENSES.get(r[2], "other") for r in loaded)
    listed = ", ".join(
        f"{c} {n}" for c, n in sorted(categories.items(), key=lambda item: (-item[1], item[0]))
    )
    assert f"categories of the {len(loaded)} rows that would load: {listed}\n" in out
    assert "{}" not in out


def test_a_misspelt_id_property_is_named_with_the_properties_found(deployment, capsys):
    sources, home = deployment
    (sources / "bounds.yml").write_text(
        BOUNDARIES_YAML.replace("id_property: nbhd_id", "id_property: nbhd_idd")
    )
    status, out, err = check(
        capsys, sources / "bounds.yml", home / "landing" / "bounds" / "areas.geojson", home
    )
    assert status == 1
    assert "id_property 'nbhd_idd': no feature has this property; the features' properties are " in err
    assert "['nbhd_id', 'nbhd_name']" in err
    assert "name_property" not in err


def test_a_boundary_sample_with_a_self_intersecting_shape_is_repaired_not_refused(
    deployment, tmp_path, capsys
):
    sources, home = deployment
    west, east, south, north = BOXES["N1"][1]
    bow_tie = feature("N1", "Alder Park", BOXES["N1"][1])
    bow_tie["geometry"]["coordinates"] = [
        [[west, south], [east, north], [east, south], [west, north], [west, south]]
    ]
    sample = tmp_path / "bow_tie.geojson"
    sample.write_text(json.dumps({"type": "FeatureCollection", "features": [bow_tie]}))
    status, out, err = check(capsys, sources / "bounds.yml", sample, home)
    assert status == 0, err
    assert "repaired_geometry: 1 rows would be loaded changed" in out
    assert "invalid" not in err


def test_an_unreadable_sample_exits_2(deployment, tmp_path, capsys):
    sources, home = deployment
    (sources / "residents.yml").write_text(SURVEY_YAML)
    (tmp_path / "empty.csv").write_bytes(b"")
    status, _, err = check(capsys, sources / "residents.yml", tmp_path / "empty.csv", home)
    assert status == 2 and "empty.csv" in err


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("demo")
    generate_demo_city(home / "landing", 2000)
    return home


@pytest.mark.parametrize("yml", sorted(path.name for path in DEMO_SOURCES_DIR.glob("*.yml")))
def test_each_demo_source_accepts_its_own_files(demo_home, yml, capsys):
    spec = load_source(DEMO_SOURCES_DIR / yml)
    sample = landing_files(demo_home, spec.landing_glob)[-1].path
    status, out, err = check(capsys, DEMO_SOURCES_DIR / yml, sample, demo_home)
    assert status == 0, out + err
    assert f"check quarantine_share: {spec.name}: at most " in out
