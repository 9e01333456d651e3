import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.demo.generate import SIZES, generate_demo_city

CRIME_COLUMNS = [
    "ID",
    "Case Number",
    "Date",
    "Block",
    "IUCR",
    "Primary Type",
    "Description",
    "Location Description",
    "Arrest",
    "Domestic",
    "Beat",
    "District",
    "Ward",
    "Community Area",
    "FBI Code",
    "X Coordinate",
    "Y Coordinate",
    "Year",
    "Updated On",
    "Latitude",
    "Longitude",
    "Location",
]
STANDARD_FBI = {
    "01A",
    "01B",
    "02",
    "03",
    "04A",
    "04B",
    "05",
    "06",
    "07",
    "08A",
    "08B",
    "09",
    "10",
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "17",
    "18",
    "19",
    "20",
    "22",
    "24",
    "26",
}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    landing = tmp_path_factory.mktemp("small")
    return landing, generate_demo_city(landing, "small", seed=7)


def _hashes(landing: Path) -> dict[str, str]:
    return {
        p.relative_to(landing).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(landing.rglob("*"))
        if p.is_file()
    }


def _crimes(landing: Path) -> pd.DataFrame:
    frames = [
        pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        for p in sorted((landing / "demo_crimes").glob("crimes_*.csv"))
    ]
    return pd.concat(frames, ignore_index=True)


def test_same_seed_is_byte_identical_and_int_size_is_exact(tmp_path):
    a = generate_demo_city(tmp_path / "a", 5_000, seed=3)
    b = generate_demo_city(tmp_path / "b", 5_000, seed=3)
    generate_demo_city(tmp_path / "c", 5_000, seed=4)
    assert a == b
    ha, hb, hc = _hashes(tmp_path / "a"), _hashes(tmp_path / "b"), _hashes(tmp_path / "c")
    assert ha == hb
    assert set(ha) == set(a["files"])
    assert ha["demo_crimes/crimes_2023.csv"] != hc["demo_crimes/crimes_2023.csv"]
    assert ha["demo_neighborhoods/neighborhoods.geojson"] != hc["demo_neighborhoods/neighborhoods.geojson"]
    assert a["incidents"] == 5_000 and len(_crimes(tmp_path / "a")) == 5_000


def test_summary(small):
    landing, summary = small
    assert summary["incidents"] == SIZES["small"] == 60_000
    assert summary["months"] == 48 and summary["neighborhoods"] == 24
    assert all((landing / f).is_file() for f in summary["files"])


def test_crime_files_match_portal_export(small):
    landing, _ = small
    files = sorted((landing / "demo_crimes").glob("crimes_*.csv"))
    assert [p.name for p in files] == [f"crimes_{y}.csv" for y in range(2022, 2026)]
    raw = files[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    header = raw[3:].split(b"\n", 1)[0].decode()
    assert header.split(",") == CRIME_COLUMNS
    df = _crimes(landing)
    assert list(df.columns) == CRIME_COLUMNS
    dates = pd.to_datetime(df["Date"], format="%m/%d/%Y %I:%M:%S %p", errors="coerce")
    assert dates.dt.to_period("M").nunique() >= 36
    good = dates.notna()
    updated = pd.to_datetime(df["Updated On"], format="%m/%d/%Y %I:%M:%S %p")
    assert (updated[good] > dates[good]).all() and updated.max() <= pd.Timestamp("2026-01-31 23:59:59")
    assert df["IUCR"].str.len().eq(4).all() and df["Beat"].str.fullmatch(r"\d{4}").all()
    assert df["District"].str.fullmatch(r"\d{3}").all()
    assert set(df["Arrest"]) == {"true", "false"} and set(df["Community Area"].astype(int)) == set(
        range(1, 25)
    )
    located = df["Latitude"] != ""
    assert (
        df.loc[located, "Location"]
        == "(" + df.loc[located, "Latitude"] + ", " + df.loc[located, "Longitude"] + ")"
    ).all()


def test_crime_bad_rows_are_about_one_percent(small):
    df = _crimes(small[0])
    bad_date = pd.to_datetime(df["Date"], format="%m/%d/%Y %I:%M:%S %p", errors="coerce").isna()
    duplicate = df.duplicated(keep="first")
    lat = pd.to_numeric(df["Latitude"], errors="coerce")
    outside = lat.notna() & ((lat < 41.6) | (lat > 42.1))
    bad_fbi = ~df["FBI Code"].isin(STANDARD_FBI)
    for mask in (bad_date, duplicate, outside, bad_fbi):
        assert mask.sum() > 0
    share = (bad_date | duplicate | outside | bad_fbi).mean()
    assert 0.003 <= share <= 0.03
    assert df.loc[duplicate, "ID"].isin(df.loc[~duplicate, "ID"]).all()
    blank = df["Latitude"] == ""
    assert 0.002 <= blank.mean() <= 0.01 and (df.loc[blank, "Community Area"] != "").all()


def point_in_polygon(x: float, y: float, ring: list) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(ring[:-1], ring[1:], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def test_neighborhoods_tile_without_overlap(small):
    gj = json.loads((small[0] / "demo_neighborhoods" / "neighborhoods.geojson").read_text())
    feats = gj["features"]
    assert len(feats) == 24
    assert [f["properties"]["nbhd_id"] for f in feats] == [f"N{i:02d}" for i in range(1, 25)]
    assert len({f["properties"]["nbhd_name"] for f in feats}) == 24
    assert any(f["geometry"]["type"] == "MultiPolygon" for f in feats)
    rings_by_nbhd = []
    for f in feats:
        g = f["geometry"]
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        rings = [poly[0] for poly in polys]
        for ring in rings:
            assert ring[0] == ring[-1]
            area2 = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring[:-1], ring[1:], strict=True))
            assert area2 > 0  # counter-clockwise
        rings_by_nbhd.append(rings)
    rng = np.random.default_rng(0)
    xs, ys = rng.uniform(-87.81, -87.50, 3000), rng.uniform(41.69, 41.96, 3000)
    hits = [
        sum(any(point_in_polygon(x, y, r) for r in rings) for rings in rings_by_nbhd)
        for x, y in zip(xs, ys, strict=True)
    ]
    assert max(hits) == 1
    in_grid = (xs > -87.80) & (xs < -87.55) & (ys > 41.70) & (ys < 41.95)
    assert all(h == 1 for h, g in zip(hits, in_grid, strict=True) if g)  # no gaps either


def test_qualtrics_export_layout_and_bad_rows(small):
    files = sorted((small[0] / "demo_survey_qualtrics").glob("wave_*.csv"))
    assert len(files) == 15
    raw = files[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["StartDate", "EndDate", "Status"] and rows[0][-1] == "Q_COMMENT"
    assert rows[1][0] == "Start Date" and rows[1][20] == "I trust the police in my neighborhood"
    assert all(json.loads(v)["ImportId"] for v in rows[2])
    frames = [
        pd.read_csv(p, skiprows=[1, 2], dtype=str, keep_default_na=False, encoding="utf-8-sig").assign(
            wave=p.stem
        )
        for p in files
    ]
    df = pd.concat(frames, ignore_index=True)
    likert = df[["T1", "T2", "T3", "T4", "S1", "S2", "S3"]]
    out_of_range = ~likert.isin(["", "1", "2", "3", "4", "5", "6"]).all(axis=1)
    bad_date = pd.to_datetime(df["RecordedDate"], format="%Y-%m-%d %H:%M:%S", errors="coerce").isna()
    dup_id = df["ResponseId"].duplicated()
    for mask in (out_of_range, bad_date, dup_id):
        assert mask.sum() > 0
    assert 0.003 <= (out_of_range | bad_date | dup_id).mean() <= 0.03
    assert set(df["Finished"]) == {"0", "1"}
    geo = json.loads((small[0] / "demo_neighborhoods" / "neighborhoods.geojson").read_text())
    names = {f["properties"]["nbhd_name"].lower() for f in geo["features"]}
    answered = df.assign(n=df["Q_NBHD"].str.strip().str.lower())
    counts = answered[answered["n"].isin(names)].groupby(["n", "wave"]).size()
    assert answered["n"].isin(names).mean() > 0.99
    # about 100 respondents per neighborhood-wave, and two thinly surveyed neighborhoods with some waves below 10
    assert counts.between(60, 160).mean() > 0.7 and (counts < 10).sum() > 0


def test_surveymonkey_export_layout(small):
    files = list((small[0] / "demo_survey_surveymonkey").glob("wave_*.csv"))
    assert [p.name for p in files] == ["wave_2024Q3.csv"]
    raw = files[0].read_bytes()
    assert raw.count(b"\r\n") > 10 and b"\n" not in raw.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    assert rows[0][:9] == [
        "Respondent ID",
        "Collector ID",
        "Start Date",
        "End Date",
        "IP Address",
        "Email Address",
        "First Name",
        "Last Name",
        "Custom Data 1",
    ]
    assert rows[1] == [""] * 9 + ["Response"] * 10 + ["Open-Ended Response"]
    assert any(r[12] == "Strongly agree" for r in rows[2:])
    assert any("Totally agree" in r for r in rows[2:]), "an answer off the scale, to be refused"


def test_events_and_rosters(small):
    landing = small[0]
    cal = pd.read_csv(landing / "demo_events" / "calendar.csv", dtype=str, keep_default_na=False)
    assert cal["Event ID"].is_unique
    assert cal["Title"].str.endswith("Beat Meeting").sum() >= 24 * 48 * 0.99
    bad_start = pd.to_datetime(cal["Start"], format="%Y-%m-%d %H:%M", errors="coerce").isna()
    assert 0 < bad_start.sum() < len(cal) * 0.03
    signin = pd.concat(
        [
            pd.read_csv(p, dtype=str, keep_default_na=False)
            for p in sorted((landing / "demo_rosters_signin").glob("signin_*.csv"))
        ]
    )
    eventbrite = pd.concat(
        [
            pd.read_csv(p, dtype=str, keep_default_na=False)
            for p in sorted((landing / "demo_rosters_eventbrite").glob("attendees_*.csv"))
        ]
    )
    assert set(eventbrite["Attendee Status"]) == {"Checked In", "Attending", "Not Attending"}
    nobody = (signin["Name"] == "") & (signin["Email"] == "") & (signin["Phone"] == "")
    unknown = ~signin["Event ID"].isin(cal["Event ID"])
    assert nobody.sum() > 0 and unknown.sum() > 0
    assert (~eventbrite["Event ID"].isin(cal["Event ID"])).sum() > 0
    assert eventbrite["Email"].str.contains("+", regex=False).any()
    # Two different people with the same name (different emails) exist in the rosters.
    named = eventbrite.assign(
        key=eventbrite["First Name"].str.lower() + " " + eventbrite["Last Name"].str.lower(),
        mail=eventbrite["Email"]
        .str.strip()
        .str.lower()
        .str.replace(r"\+[^@]*", "", regex=True)
        .str.replace(".", "", regex=False),
    )
    assert (named.groupby("key")["mail"].nunique() > 1).any()


def test_population_and_programs(small):
    landing = small[0]
    pop = pd.read_csv(landing / "demo_population" / "population.csv")
    assert len(pop) == 24 and pop["population"].between(8_000, 90_000).all()
    margins = pd.read_csv(landing / "demo_population" / "margins.csv")
    totals = margins.groupby(["neighborhood_id", "dimension"])["population"].sum().unstack()
    assert (totals["age_group"] == totals["gender"]).all()
    programs = pd.read_csv(landing / "demo_programs" / "programs.csv", dtype=str, keep_default_na=False)
    assert 3 <= len(programs) <= 4 and programs["neighborhood_id"].is_unique
    starts = pd.to_datetime(programs["start_date"])
    assert (starts >= "2023-01-01").all() and (starts <= "2024-12-31").all()


def test_attendance_grows_with_the_neighborhood(small):
    """Bigger neighborhoods bring more people to their events, so the rate per 1,000 residents does not depend on
    a neighborhood's size (it did when every event drew the same crowd: small ones then had 5x the rate)."""
    landing = small[0]
    cal = pd.read_csv(landing / "demo_events" / "calendar.csv", dtype=str, keep_default_na=False)
    event_nbhd = dict(zip(cal["Event ID"], cal["Neighborhood"], strict=True))
    signin = pd.concat(
        pd.read_csv(p, dtype=str, keep_default_na=False)
        for p in (landing / "demo_rosters_signin").glob("*.csv")
    )
    eventbrite = pd.concat(
        pd.read_csv(p, dtype=str, keep_default_na=False)
        for p in (landing / "demo_rosters_eventbrite").glob("*.csv")
    )
    present = eventbrite.loc[eventbrite["Attendee Status"] == "Checked In", "Event ID"]
    attended = pd.concat([signin["Event ID"], present]).map(event_nbhd).value_counts()
    geo = json.loads((landing / "demo_neighborhoods" / "neighborhoods.geojson").read_text())
    names = {f["properties"]["nbhd_id"]: f["properties"]["nbhd_name"] for f in geo["features"]}
    pop = pd.read_csv(landing / "demo_population" / "population.csv")
    programs = pd.read_csv(landing / "demo_programs" / "programs.csv", dtype=str)
    pop = pop[~pop["neighborhood_id"].isin(programs["neighborhood_id"])]  # programs add events and people
    pop["per_1k"] = [
        attended.get(names[n], 0) / p * 1000
        for n, p in zip(pop["neighborhood_id"], pop["population"], strict=True)
    ]
    small_rate = pop.loc[pop["population"] < 30_000, "per_1k"].mean()
    large_rate = pop.loc[pop["population"] > 60_000, "per_1k"].mean()
    assert 2 / 3 < small_rate / large_rate < 3 / 2, (small_rate, large_rate)
