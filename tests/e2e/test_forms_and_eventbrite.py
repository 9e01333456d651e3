"""Two real Google Forms XLSX exports and a real Eventbrite attendee report, each read by a YAML written here, on
the hand-sized city's boundaries: the published survey and engagement figures, and every refused row, are
recomputed here from the files alone (openpyxl, the csv module, plain loops; the scale maps below are the data
both the YAMLs and the recount read).

The quirks: verbal Likert items, each with its own wording of a scale that is not 1–5 (7-point scales whose ends
nobody chose, a 0–5 one, the symptom questionnaire's `0 None` … `3 Severe`), all read on 1–5 by their own
ends; Timestamps Excel keeps as serial numbers styled as dates (`timestamp_format: excel` reads the date cells
and bare serials alike); Google Forms grid headers (`Symptom Assessment [Fatigue]`); a header with a stray space
(`Participant ID `); forms with no neighborhood question (`neighborhood_id:` names the one neighborhood each form
was run in); an attendee report exported per event, without an event column (`event_id:` names it), CRLF lines,
order dates with a UTC offset and empty trailing columns.

One pipeline run for the module, selecting the published files; `check-source --sample` runs in-process on the
same deployment (no pipeline run)."""

from __future__ import annotations

import csv
import json
import math
import shutil
import statistics
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import yaml
from scipy import stats

from pipelines.cli import main
from tests.conftest import run_cli
from tests.e2e._recount import published, warehouse
from tests.fixtures.small_city import NEIGHBORHOODS, write_sources

MIN_CELL = 10
POST, SSQ, REPORT = (
    "googleforms_post_experiment_likert_responses.xlsx",
    "googleforms_ssq_matrix_likert_responses.xlsx",
    "eventbrite_attendee_report_redacted.csv",
)
BOUNDARIES = "demo_neighborhoods"  # the demo's geography YAML, on the small city's three rectangles
# source name -> (file, the neighborhood the form was run in)
SURVEYS = {"lane_change_debrief": (POST, "N01"), "simulator_sickness": (SSQ, "N02")}
CALENDAR, ATTENDEES = "meetup_calendar", "meetup_attendees"
EVENT = {
    "id": "498317751207",
    "title": "Attendance Tracker Kickoff",
    "starts": "2023-01-15 10:00",
    "at": "N03",
}


def scale(*labels: str, lowest: int = 1) -> dict[str, int]:
    """A verbal scale, from its lowest label up."""
    return {label: score for score, label in enumerate(labels, start=lowest)}


# The post-experiment questionnaire: (column, construct, reverse, scale). Seven-point scales whose unchosen end
# (`Very easy`, `Very clear`, ...) is listed all the same: the scale's ends set its reading on 1–5.
POST_ITEMS = [
    (
        "1. How difficult was it for you to judge the last safe moment to change lanes (Last Safe Gap)?",
        "workload",
        True,  # high = easy: reverse-coded into workload
        scale(
            "Very difficult",
            "Difficult",
            "Somewhat difficult",
            "Neutral",
            "Somewhat easy",
            "Easy",
            "Very easy",
        ),
    ),
    (
        "2. How much mental demand was required for this task (e.g., thinking, observing, deciding)?",
        "workload",
        False,
        scale("Very low", "Low", "Somewhat low", "Moderate", "Somewhat high", "High", "Very high"),
    ),
    (
        "3. How much effort did you have to exert to maintain your decision-making performance?",
        "workload",
        False,
        scale("Very little", "Little", "Somewhat little", "Moderate", "Somewhat much", "Much", "Very much"),
    ),
    (
        "4. How clearly could you judge the motion (speed and distance) of the approaching vehicle using the "
        "CMS display?",
        "clarity",
        False,
        scale(
            "Very unclear",
            "Unclear",
            "Somewhat unclear",
            "Neutral",
            "Somewhat clear",
            "Clear",
            "Very clear",
        ),
    ),
    (
        "5. To what extent did the flickering in the display interfere with your ability to judge the position "
        "or speed?",
        "flicker",
        False,
        scale("Not at all", "Slightly", "Moderately", "Strongly", "Very strongly", "Extremely", lowest=0),
    ),
    (
        "6. How much visual discomfort or eye fatigue did you experience during the experiment?",
        "flicker",
        False,
        scale("Hardly any", "Slightly", "Noticeable", "Moderate", "Severe"),
    ),
    (
        "7. How confident or certain were you in the decisions you made during the experiment overall?",
        "clarity",
        False,
        scale(
            "Not confident at all",
            "Unconfident",
            "Somewhat unconfident",
            "Neutral",
            "Somewhat confident",
            "Confident",
            "Very confident",
        ),
    ),
    (
        "8. How noticeable were the differences in flickering between different trials?",
        "flicker",
        False,
        scale(
            "Not noticeable", "Slightly noticeable", "Noticeable", "Very noticeable", "Extremely noticeable"
        ),
    ),
    (
        "9. Overall, to what extent did different flicker conditions influence your lane-change decisions?",
        "flicker",
        False,
        scale("Hardly at all", "Slightly", "Moderately", "Strongly", "Significantly"),
    ),
]
# The Simulator Sickness Questionnaire's grid: one 0–3 scale for every symptom.
SYMPTOMS = [
    "General discomfort",
    "Fatigue",
    "Headache",
    "Eye strain",
    "Difficulty focusing",
    "Salivation increasing",
    "Sweating",
    "Nausea",
    "Difficulty concentrating",
    "Fullness of the Head",
    "Blurred vision",
    "Dizziness with eyes open",
    "Dizziness with eyes closed",
    "Vertigo (Loss of orientation with respect to vertical upright)",
    "Stomach awareness (Feeling of discomfort just short of nausea)",
    "Burping",
]
SSQ_SCALE = scale("0 None", "1 Slight", "2 Moderate", "3 Severe", lowest=0)
SSQ_ITEMS = [(f"Symptom Assessment [{symptom}]", "symptoms", False, SSQ_SCALE) for symptom in SYMPTOMS]
ITEMS = {"lane_change_debrief": POST_ITEMS, "simulator_sickness": SSQ_ITEMS}
CONSTRUCTS = sorted({construct for items in ITEMS.values() for _, construct, _, _ in items})


def survey_yaml(name: str) -> dict:
    """A form run in one neighborhood: `neighborhood_id` instead of a neighborhood question. Each participant
    counts once, with their latest submission (the symptom form is filled in before and after the drive)."""
    file, neighborhood = SURVEYS[name]
    return {
        "name": name,
        "kind": "survey",
        "export_format": "google_forms",
        "path": f"landing/{name}/*.xlsx",
        "timestamp_format": "excel",
        # `Participant ID ` in the post-experiment file: headers are compared with their spacing collapsed
        "columns": {"submitted_at": "Timestamp", "response_id": "Participant ID"},
        "neighborhood_id": neighborhood,
        "items": [
            {"column": column, "construct": construct, "reverse": reverse, "scale": labels}
            for column, construct, reverse, labels in ITEMS[name]
        ],
    }


def calendar_yaml() -> dict:
    return {
        "name": CALENDAR,
        "kind": "events",
        "path": f"landing/{CALENDAR}/*.csv",
        "timestamp_format": "%Y-%m-%d %H:%M",
        "columns": {"event_id": "Event ID", "title": "Title", "starts_at": "Start", "neighborhood": "Where"},
    }


def attendees_yaml() -> dict:
    """The attendee report of one event: the event's id in the YAML, the report having no event column."""
    return {
        "name": ATTENDEES,
        "kind": "roster",
        "path": f"landing/{ATTENDEES}/*.csv",
        "event_id": EVENT["id"],
        "columns": {
            "first_name": "First Name",
            "last_name": "Last Name",
            "email": "Email",
            "status": "Attendee Status",
        },
        "present_statuses": ["Checked In"],
    }


def write_deployment(home: Path, real_data: Path) -> Path:
    """The sources folder (the YAMLs above and the demo's geography YAML) and the landing files: the small city's
    three rectangles and each real file, copied into the temporary data home."""
    sources = write_sources(home / "sources", (BOUNDARIES,))
    features = [
        {
            "type": "Feature",
            "properties": {"nbhd_id": nbhd, "nbhd_name": name},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
            },
        }
        for nbhd, (name, w, e, s, n, _) in NEIGHBORHOODS.items()
    ]
    landing = home / "landing"
    (landing / BOUNDARIES).mkdir(parents=True)
    (landing / BOUNDARIES / "areas.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )
    definitions = [survey_yaml(name) for name in SURVEYS] + [calendar_yaml(), attendees_yaml()]
    for definition in definitions:
        (sources / f"{definition['name']}.yml").write_text(yaml.safe_dump(definition, sort_keys=False))
        (landing / definition["name"]).mkdir()
    for name, (file, _) in SURVEYS.items():
        shutil.copy(real_data / file, landing / name / file)
    shutil.copy(real_data / REPORT, landing / ATTENDEES / REPORT)
    with (landing / CALENDAR / "calendar.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(
            [
                ["Event ID", "Title", "Start", "Where"],
                [EVENT["id"], EVENT["title"], EVENT["starts"], EVENT["at"]],
            ]
        )
    return sources


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, real_data) -> tuple[Path, Path]:
    home = tmp_path_factory.mktemp("forms_and_eventbrite")
    sources = write_deployment(home, real_data)
    result = run_cli(
        "run",
        "--home",
        str(home),
        "--sources",
        str(sources),
        "--select",
        "+key:published_files",
        env={"NBHD_MIN_CELL": str(MIN_CELL)},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return home, sources


# ---------------------------------------------------------------- the recount, from the files alone


def sheet(file: Path) -> tuple[list[str], list[tuple[int, tuple]]]:
    """The first sheet's header (stripped) and its rows with their number in the file (the header is row 1)."""
    book = openpyxl.load_workbook(file, read_only=True, data_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    return [str(cell).strip() for cell in rows[0]], list(enumerate(rows[1:], start=2))


def responses(real_data: Path, name: str) -> tuple[list[dict], list[int]]:
    """Each participant's latest submission (the column -> answer, its time) and the rows set aside."""
    header, rows = sheet(real_data / SURVEYS[name][0])
    latest: dict[str, tuple[int, tuple]] = {}
    for number, row in rows:
        participant = row[header.index("Participant ID")].strip()
        at = row[header.index("Timestamp")]
        if participant not in latest or at > latest[participant][1][header.index("Timestamp")]:
            latest[participant] = (number, row)
    kept = {number for number, _ in latest.values()}
    return (
        [dict(zip(header, row, strict=True)) for _, row in latest.values()],
        [number for number, _ in rows if number not in kept],
    )


def indices(answers: dict, items: list) -> dict[str, float]:
    """A respondent's 0–100 index per construct: each answer moved onto 1–5 by its scale's own ends, reversed
    after that, averaged over the construct's items when at least half are scored."""
    scored: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for column, construct, reverse, labels in items:
        counts[construct] = counts.get(construct, 0) + 1
        answer = answers[column]
        if answer in (None, ""):
            continue
        low, high = min(labels.values()), max(labels.values())
        score = 1 + 4 * (labels[answer] - low) / (high - low)
        scored.setdefault(construct, []).append(6 - score if reverse else score)
    return {
        construct: (sum(values) / len(values) - 1) / 4 * 100
        for construct, values in scored.items()
        if 2 * len(values) >= counts[construct]
    }


def quarter_of(moment: datetime) -> date:
    return date(moment.year, 3 * ((moment.month - 1) // 3) + 1, 1)


def expected_constructs(real_data: Path) -> dict[tuple, dict]:
    """survey_constructs_quarterly, keyed (neighborhood, quarter, construct): every neighborhood in every quarter
    a response falls in, with every construct any survey names."""
    by_cell: dict[tuple, list[dict]] = {}
    for name, (_, neighborhood) in SURVEYS.items():
        for answers in responses(real_data, name)[0]:
            key = (neighborhood, quarter_of(answers["Timestamp"]))
            by_cell.setdefault(key, []).append(indices(answers, ITEMS[name]))
    quarters = {quarter for _, quarter in by_cell}
    expected = {}
    for neighborhood in NEIGHBORHOODS:
        for quarter in quarters:
            respondents = by_cell.get((neighborhood, quarter), [])
            n, suppressed = len(respondents), len(respondents) < MIN_CELL
            for construct in CONSTRUCTS:
                values = [scores[construct] for scores in respondents if construct in scores]
                row = {
                    "respondents": n,
                    "suppressed": suppressed,
                    "construct_index": None,
                    "construct_index_ci_low": None,
                    "construct_index_ci_high": None,
                    "construct_index_weighted": None,  # no population margins: no weights
                    "effective_n": None if suppressed or n == 0 else float(n),
                }
                if values and not suppressed:
                    mean = sum(values) / len(values)
                    row["construct_index"] = mean
                    if len(values) >= 2:
                        half = (
                            stats.t.ppf(0.975, len(values) - 1)
                            * statistics.stdev(values)
                            / math.sqrt(len(values))
                        )
                        row["construct_index_ci_low"], row["construct_index_ci_high"] = (
                            mean - half,
                            mean + half,
                        )
                expected[neighborhood, quarter, construct] = row
    return expected


def report_rows(real_data: Path) -> list[dict]:
    with (real_data / REPORT).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------- the published figures


def assert_same(got: dict, expected: dict, where: tuple) -> None:
    """The same NULLs, and the same values to 1e-9 (doubles summed in another order)."""
    assert [key for key, value in got.items() if value is None] == [
        key for key, value in expected.items() if value is None
    ], where
    values = {key: value for key, value in got.items() if value is not None}
    assert values == pytest.approx(
        {key: value for key, value in expected.items() if value is not None}, rel=1e-9, abs=1e-9
    ), where


def test_survey_constructs_equal_an_independent_recount(deployment, real_data):
    home, _ = deployment
    expected = expected_constructs(real_data)
    got = {
        (row["neighborhood_id"], row["quarter"], row["construct"]): {
            key: row[key] for key in next(iter(expected.values()))
        }
        for row in published(home, "survey_constructs_quarterly")
    }
    assert set(got) == set(expected)
    for key, row in expected.items():
        assert_same(got[key], row, key)
    # What the files come to: 25 participants in each form, all in the second quarter of 2026; the symptom
    # index of N02 reads the 0–3 answers on 1–5 (a "1 Slight" is 1 + 4/3).
    spring = date(2026, 4, 1)
    assert {quarter for _, quarter, _ in expected} == {spring}
    assert (
        expected["N01", spring, "workload"]["respondents"]
        == expected["N02", spring, "symptoms"]["respondents"]
        == 25
    )
    assert expected["N01", spring, "symptoms"]["construct_index"] is None  # nobody in N01 answered the SSQ
    assert expected["N03", spring, "flicker"]["suppressed"]


def test_trust_quarterly_counts_the_respondents_of_each_form(deployment, real_data):
    home, _ = deployment
    respondents = {
        neighborhood: len(responses(real_data, name)[0]) for name, (_, neighborhood) in SURVEYS.items()
    }
    got = {
        (row["neighborhood_id"], row["quarter"]): (row["respondents"], row["suppressed"], row["trust_index"])
        for row in published(home, "trust_quarterly")
    }
    # No form names a trust construct: the cells count respondents, with no trust index.
    assert got == {
        (neighborhood, date(2026, 4, 1)): (
            respondents.get(neighborhood, 0),
            respondents.get(neighborhood, 0) < MIN_CELL,
            None,
        )
        for neighborhood in NEIGHBORHOODS
    }


def test_engagement_counts_the_checked_in_attendees_of_the_report(deployment, real_data):
    home, _ = deployment
    rows = report_rows(real_data)
    present = [row for row in rows if row["Attendee Status"].strip().lower() == "checked in"]
    persons = {row["Email"].strip().lower() for row in present}
    month = date(2023, 1, 1)
    zero = {"events_held": 0, "attendances": 0, "unique_participants": 0, "new_participants": 0}
    expected = {(nbhd, month): dict(zero) for nbhd in NEIGHBORHOODS}
    expected[EVENT["at"], month] = {
        "events_held": 1,
        "attendances": len(persons),  # one event: one attendance per person
        "unique_participants": len(persons),
        "new_participants": len(persons),  # nobody attended before
    }
    got = {
        (row["neighborhood_id"], row["month"]): {key: row[key] for key in zero}
        for row in published(home, "engagement_monthly")
    }
    assert got == expected
    assert len(persons) == 24
    for row in published(home, "engagement_monthly"):
        assert row["returning_participants"] == row["unique_participants"] - row["new_participants"]
        assert row["youth_participants"] == 0  # the report has no age group
        assert row["participants_per_1k"] is None  # the deployment has no population source


def test_every_refused_row_is_counted_with_its_reason(deployment, real_data):
    home, _ = deployment
    superseded = {name: responses(real_data, name)[1] for name in SURVEYS}
    received = {name: len(sheet(real_data / file)[1]) for name, (file, _) in SURVEYS.items()}
    received |= {ATTENDEES: len(report_rows(real_data)), CALENDAR: 1, BOUNDARIES: len(NEIGHBORHOODS)}
    refused = {name: len(rows) for name, rows in superseded.items()}
    quality = {
        row["source"]: (row["rows_received"], row["rows_loaded"], row["rows_quarantined"])
        for row in published(home, "data_quality")
    }
    assert quality == {
        name: (count, count - refused.get(name, 0), refused.get(name, 0)) for name, count in received.items()
    }
    reasons = {
        (row["source"], row["reason"]): row["rows"]
        for row in published(home, "data_quality_reasons")
        if row["refused"]
    }
    assert reasons == {
        (name, "duplicate_response_superseded"): len(rows) for name, rows in superseded.items() if rows
    }
    for name, rows in superseded.items():
        assert warehouse(home, f"SELECT _row, reason FROM quarantine.{name} ORDER BY _row") == [
            (number, "duplicate_response_superseded") for number in rows
        ]
    # The SSQ's pre-drive rows give way to the post-drive ones; the debrief has one row per participant.
    assert (len(superseded["simulator_sickness"]), len(superseded["lane_change_debrief"])) == (25, 0)


# ---------------------------------------------------------------- check-source on the real files


def check(capsys, sources: Path, name: str, sample: Path, home: Path) -> tuple[int, str]:
    status = main(
        ["check-source", str(sources / f"{name}.yml"), "--sample", str(sample), "--home", str(home)]
    )
    out, err = capsys.readouterr()
    return status, out + err


def test_check_source_on_the_real_files_tells_what_the_run_does(deployment, real_data, capsys):
    home, sources = deployment
    for name, (file, neighborhood) in SURVEYS.items():
        status, output = check(capsys, sources, name, real_data / file, home)
        assert status == 0, output
        rows, superseded = len(sheet(real_data / file)[1]), responses(real_data, name)[1]
        assert (
            f"geography lookup {BOUNDARIES}: {len(NEIGHBORHOODS)} of {len(NEIGHBORHOODS)} rows loaded"
            in output
        )
        assert f"every response counts in neighborhood {neighborhood}" in output
        assert f"{rows} rows with columns" in output
        assert (
            f"responses that would count: {rows - len(superseded)} in {neighborhood} in the quarter of 2026-04-01"
            in output
        )
        if superseded:
            assert (
                f"{len(superseded)} of {rows} rows would be set aside as duplicate_response_superseded"
                in output
            )
        else:
            assert "set aside" not in output
        assert "\nerror" not in output and "\nwarning" not in output and "scale: " not in output
        for column, _, _, labels in ITEMS[name]:
            low, high = min(labels.values()), max(labels.values())
            reading = (
                "" if (low, high) == (1, 5) else f" (read on 1–5 as 1 + 4 × (score − {low}) / {high - low})"
            )
            shown = ", ".join(f"{label!r} = {score}" for label, score in labels.items())
            assert f"scale of {column}: {shown}{reading}" in output
    status, output = check(capsys, sources, ATTENDEES, real_data / REPORT, home)
    assert status == 0, output
    rows = report_rows(real_data)
    present = [row for row in rows if row["Attendee Status"] == "Checked In"]
    assert f"events lookup {CALENDAR}: 1 of 1 rows loaded" in output
    assert (
        f"rows that would load as attendances (status in present_statuses): {len(present)} of {len(rows)} at "
        f"event '{EVENT['id']}'"
    ) in output
    assert "\nerror" not in output and "\nwarning" not in output


def test_check_source_tells_a_form_read_with_its_csv_format_to_read_spreadsheet_dates(
    tmp_path, real_data, capsys
):
    """The post-experiment form's YAML with the Google Forms CSV format: every response is refused, and the
    refusal says why (the XLSX holds a date cell, read as ISO text), on its own deployment (nothing run)."""
    sources = write_deployment(tmp_path, real_data)
    name = "lane_change_debrief"
    definition = survey_yaml(name) | {"timestamp_format": "%m/%d/%Y %H:%M:%S"}
    (sources / f"{name}.yml").write_text(yaml.safe_dump(definition, sort_keys=False))
    header, rows = sheet(real_data / POST)
    first = rows[0][1][header.index("Timestamp")]
    status, output = check(capsys, sources, name, real_data / POST, tmp_path)
    assert status == 1
    assert (
        f"warning: {real_data / POST}: {len(rows)} of {len(rows)} rows: Timestamp '{first.isoformat(' ')}' is a "
        "spreadsheet's date (a serial number of days, or a cell styled as a date): use timestamp_format: excel"
    ) in output
    assert "check quarantine_share would block the load" in output
