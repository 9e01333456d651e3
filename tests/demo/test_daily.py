"""The demo city's daily update: a file of new and revised incidents in the portal export layout."""

import csv
import datetime as dt
import shutil

import pytest

from pipelines.demo.generate import generate_demo_city, write_daily_update

PORTAL = "%m/%d/%Y %I:%M:%S %p"


def read(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    landing = tmp_path_factory.mktemp("daily") / "landing"
    generate_demo_city(landing, 20_000, seed=5)
    return landing


def test_new_and_revised_incidents(city, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(city, landing)
    path = write_daily_update(landing, n_new=700, n_revised=2_000, seed=5)
    assert path == landing / "demo_crimes" / "crimes_daily_2026-02-01.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    header, rows = read(path)
    history_header, history = read(landing / "demo_crimes" / "crimes_2025.csv")
    assert header == history_header
    at = {name: i for i, name in enumerate(header)}
    earlier = {}
    for year in range(2022, 2026):
        for row in read(landing / "demo_crimes" / f"crimes_{year}.csv")[1]:
            earlier.setdefault(row[0], row)
    largest = max(int(i) for i in earlier)
    ids = [row[0] for row in rows]
    assert len(rows) == 2_700 and len(set(ids)) == 2_700
    revised = [row for row in rows if row[0] in earlier]
    new = [row for row in rows if row[0] not in earlier]
    assert len(revised) == 2_000 and len(new) == 700
    assert all(int(row[0]) > largest for row in new)
    for row in revised:
        before = earlier[row[0]]
        assert row[at["Date"]] == before[at["Date"]]
        assert dt.datetime.strptime(row[at["Updated On"]], PORTAL) > dt.datetime.strptime(
            before[at["Updated On"]], PORTAL
        )
        assert row[at["FBI Code"]] != before[at["FBI Code"]]
    assert {dt.datetime.strptime(row[at["Date"]], PORTAL).date() for row in new} == {dt.date(2026, 1, 31)}
    assert all(row[at["Latitude"]] for row in rows)  # every one placeable: nothing quarantined on purpose


def test_deterministic_and_a_later_day_continues_the_ids(city, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(city, first)
    shutil.copytree(city, second)
    one = write_daily_update(first, n_new=50, n_revised=100, seed=5)
    assert one.read_bytes() == write_daily_update(second, n_new=50, n_revised=100, seed=5).read_bytes()
    later = write_daily_update(first, n_new=50, n_revised=100, seed=5, day=dt.date(2026, 2, 2))
    new_ids = [int(row[0]) for row in read(later)[1] if int(row[0]) > max(int(r[0]) for r in read(one)[1])]
    assert len(new_ids) == 50
