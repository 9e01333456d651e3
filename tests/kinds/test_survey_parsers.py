"""Survey exports through the kind's interface: the real samples of each tool land (parsed Parquet) with a YAML
written for them here; layouts are detected; personal data and free text never come out of `land`; validation
(`ingest.validate_file` into a real in-memory warehouse) scores, reverse-codes and quarantines.
An export of an unknown tool is reliability property 10 (docs/reliability.md) (tests/reliability/test_bad_files.py)."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from pipelines import ingest
from pipelines.kinds import KINDS, survey
from pipelines.kinds.base import Context, SourceError
from pipelines.parsers.surveys import MAX_HEADER_ROWS, detect_layout
from pipelines.parsers.tables import iter_cells
from pipelines.pii import MissingSaltError
from pipelines.sources import load_source
from pipelines.warehouse import connect, quote
from tests.conftest import TEST_SALT

CANONICAL_RAW = {"response_id", "submitted_at", "neighborhood", "finished", "age_group", "gender", "_row"}


def source(tmp_path: Path, yaml_text: str, crosswalk: str | None = None) -> survey.SurveySource:
    if crosswalk is not None:
        (tmp_path / "crosswalk.csv").write_text(crosswalk)
    path = tmp_path / "survey.yml"
    path.write_text(yaml_text)
    return load_source(path)


def stamp(file: Path) -> dict[str, str]:
    """The landing file's name, as `ingest.land` stamps a parsed file."""
    return {ingest.FILE_KEY.decode(): Path(file).name}


def parse(
    spec: survey.SurveySource, file: Path, tmp_path: Path, salt: str | None = TEST_SALT
) -> pd.DataFrame:
    """The parsed Parquet `land` writes for `file` (in tmp_path), as a frame."""
    parsed = tmp_path / f"parsed-{Path(file).name}.parquet"
    with connect(None, allowed=[tmp_path]) as con:
        KINDS["survey"].land(spec, Path(file), parsed, stamp(file), con, salt)
    return pq.read_table(parsed).to_pandas()


def validate(
    spec: survey.SurveySource, file: Path, tmp_path: Path, neighborhoods: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`file` landed and validated as one load into an in-memory warehouse whose one boundary source holds
    `neighborhoods` (id -> name): (its raw rows, its quarantined rows with their record's values as columns)."""
    parsed = tmp_path / f"parsed-{Path(file).name}.parquet"
    with connect(None, allowed=[tmp_path]) as con:
        if not parsed.exists():
            KINDS["survey"].land(spec, Path(file), parsed, stamp(file), con, TEST_SALT)
        con.execute("CREATE SCHEMA raw; CREATE TABLE raw.geo (neighborhood_id VARCHAR, name VARCHAR)")
        con.executemany("INSERT INTO raw.geo VALUES (?, ?)", list(neighborhoods.items()))
        context = Context(con, {"geography": ["geo"]}, now=pd.Timestamp("2026-11-01"))
        summary = ingest.validate_file(spec, parsed, "load-1", Path(file).name, context)
        loaded = con.execute(
            f"SELECT * EXCLUDE (source, load_id, loaded_at, _file) FROM raw.{quote(spec.name)} ORDER BY _row, item"
        ).df()
        refused = con.execute(
            f"SELECT _row, reason, detail, record FROM quarantine.{quote(spec.name)} ORDER BY _row"
        ).fetchall()
    quarantined = pd.DataFrame(
        [
            {**json.loads(record), "_row": row, "reason": reason, "detail": detail}
            for row, reason, detail, record in refused
        ]
        or None,
        columns=None if refused else ["_row", "reason", "detail", "response_id"],
    )
    assert summary.rows_received == summary.rows_loaded + summary.rows_quarantined
    assert summary.rows_loaded == loaded["_row"].nunique() and summary.rows_quarantined == len(quarantined)
    return loaded, quarantined


def everything(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def keyed_hash(value: str) -> str:
    return hmac.new(TEST_SALT.encode(), value.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- the real exports

QUALTRICS_YAML = """
name: qualtrics_sample
kind: survey
export_format: qualtrics
timestamp_format: "%Y-%m-%d %H:%M:%S"
columns:
  response_id: ResponseId
  submitted_at: RecordedDate
  finished: Finished
  neighborhood: UserLanguage
neighborhood_aliases: {N_DE: ["de", "Deutsch"]}
scale: {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
items:
  # named by its question text (the second header row), which is also accepted
  - {column: This is a multiple choice question., construct: trust}
"""


def test_real_qualtrics_export_parses_and_loads(real_data, tmp_path):
    spec = source(tmp_path, QUALTRICS_YAML)
    raw = parse(spec, real_data / "qualtrics_export_sample_qualtRics.csv", tmp_path)
    assert set(raw.columns) == CANONICAL_RAW | {"item_1"}
    # The survey tool's response id links back to the respondent there: only its keyed hash is kept.
    assert raw.loc[0, "response_id"] == keyed_hash("response_id:R_2YPOQ602ER1jkf1")
    assert raw.loc[0, "_row"] == 4  # three header rows
    text = everything(raw)
    assert "130.92.34.66" not in text and "47.115" not in text and "Hello World" not in text
    assert "R_2YPOQ602ER1jkf1" not in text

    loaded, quarantined = validate(
        spec, real_data / "qualtrics_export_sample_qualtRics.csv", tmp_path, {"N_DE": "Bern"}
    )
    assert quarantined.empty
    assert loaded[["neighborhood_id", "construct", "score"]].values.tolist() == [["N_DE", "trust", 2.0]]
    assert loaded.loc[0, "submitted_at"] == pd.Timestamp("2017-07-18 08:28:48")


def test_real_legacy_qualtrics_export_parses_with_the_same_names(real_data, tmp_path):
    yaml_text = QUALTRICS_YAML.replace("name: qualtrics_sample", "name: qualtrics_legacy_sample")
    yaml_text = yaml_text.replace("ResponseId", "ResponseID").replace("RecordedDate", "EndDate")
    yaml_text = yaml_text.replace("finished: Finished", "finished: V10")  # the legacy V-name works too
    yaml_text = yaml_text.replace("neighborhood: UserLanguage", "neighborhood: ResponseSet")
    yaml_text = yaml_text.replace('["de", "Deutsch"]', '["standard-antwortsatz"]')
    spec = source(tmp_path, yaml_text)
    raw = parse(spec, real_data / "qualtrics_export_legacy_sample_qualtRics.csv", tmp_path)
    assert raw.loc[0, "response_id"] == keyed_hash("response_id:R_2YPOQ602ER1jkf1")
    assert raw.loc[0, "finished"] == "1" and raw.loc[0, "_row"] == 3
    assert "130.92.34.66" not in everything(raw) and "Anonym" not in everything(raw)
    loaded, quarantined = validate(
        spec, real_data / "qualtrics_export_legacy_sample_qualtRics.csv", tmp_path, {"N_DE": "Bern"}
    )
    assert quarantined.empty and loaded["score"].tolist() == [2.0]


SURVEYMONKEY_YAML = """
name: ggwash_anc_2022
kind: survey
export_format: surveymonkey
timestamp_format: "%m/%d/%y %H:%M"
columns:
  response_id: Respondent ID
  submitted_at: End Date
  neighborhood: "Select the Advisory Neighborhood Commission in which you are running:"
neighborhood_crosswalk: crosswalk.csv
missing: ["", "N/A—there are no projects on this map within the boundaries of my ANC."]
items:
  - column: Should apartments be legal to build District-wide?
    construct: housing
    scale: {"Yes": 5, "No": 1}
  - column: Do you think there are not enough cars, enough cars, or too many cars in the District?
    construct: transport
    scale: {"Not enough cars": 1, "Enough cars": 3, "Too many cars": 5}
  - column: Do you think inducing residents and visitors to drive less should be an explicit policy goal of the District?
    construct: transport
    scale: {"Yes": 5, "No": 1}
  - column: Do you support the projects in the bus priority plan in your ANC and, if necessary, would you support removing parking or travel lanes so that they can be built?
    construct: transport
    scale:
      "Yes, I support these projects and would support removing parking or travel lanes so that they can be built.": 5
      "Yes, I support these projects, but I would not support removing parking or travel lanes so that they can be built.": 4
      "No": 1
"""


def test_real_surveymonkey_export_parses_and_loads(real_data, tmp_path):
    file = real_data / "surveymonkey_export_ggwash_anc2022_redacted.csv"
    assert file.read_bytes().count(b"\r\n") == 37, "the sample is a CRLF file"
    # Cross-ward ANCs are answered as "3/4G": the crosswalk maps them, the rest match ids directly.
    spec = source(tmp_path, SURVEYMONKEY_YAML, crosswalk="answer,neighborhood_id\n3/4G,3G\n6/8F,6F\n")
    raw = parse(spec, file, tmp_path)
    assert len(raw) == 35 and raw["_row"].tolist() == list(range(3, 38))
    text = everything(raw)
    assert "redacted@example.org" not in text and "0.0.0.0" not in text and "Lee Dixon" not in text

    wards = {f"{ward}{letter}": f"ANC {ward}{letter}" for ward in range(1, 9) for letter in "ABCDEFG"}
    loaded, quarantined = validate(spec, file, tmp_path, wards)
    assert quarantined.empty, quarantined
    assert loaded["response_id"].nunique() == 35
    housing = loaded[loaded["construct"] == "housing"]["score"]
    assert sorted(housing.value_counts().to_dict().items()) == [(1.0, 1), (5.0, 34)]
    bus = loaded[loaded["item"].str.startswith("do_you_support_the_projects_in_the_bus")]["score"]
    assert bus.isna().sum() == 4 and (bus == 5).sum() == 26  # the N/A answers are missing, not zero
    assert set(loaded["neighborhood_id"]) >= {"3G", "6F", "6B"}


GOOGLE_FORMS_YAML = """
name: mis_survey
kind: survey
export_format: google_forms
timestamp_format: "%m/%d/%Y %H:%M:%S"
columns:
  submitted_at: Timestamp
  neighborhood: "Industry:"
neighborhood_aliases: {IT: ["IT / Software"], FIN: ["Finance", "Banking / Finance"]}
scale: {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
items:
  - {column: Agile is suitable for projects with frequent requirement changes, construct: agile}
  - {column: Agile improves communication and collaboration, construct: agile}
  - {column: "  Traditional ensures better documentation and control  ", construct: agile, reverse: true}
"""


def test_real_google_forms_export_parses_and_loads(real_data, tmp_path):
    file = real_data / "google_forms_export_mis_survey_first12.csv"
    spec = source(tmp_path, GOOGLE_FORMS_YAML)
    raw = parse(spec, file, tmp_path)
    assert len(raw) == 12
    # Google Forms has no response id: a keyed hash of the response's mapped values stands in for it.
    assert raw["response_id"].str.fullmatch(r"[0-9a-f]{64}").all() and raw["response_id"].nunique() == 12
    again = parse(spec, file, tmp_path)
    assert again["response_id"].tolist() == raw["response_id"].tolist(), "stable across re-exports"

    loaded, quarantined = validate(spec, file, tmp_path, {"IT": "IT", "FIN": "Finance"})
    first = pd.read_csv(file, dtype=str).iloc[0]
    assert quarantined.empty and set(loaded["neighborhood_id"]) == {"IT"}  # every answer is "IT / Software"
    assert len(loaded) == 12 * 3
    one = loaded[loaded["response_id"] == raw.loc[0, "response_id"]].set_index("item")["score"]
    traditional = [c for c in first.index if "Traditional ensures" in c][0]
    assert one["traditional_ensures_better_documentation_and_control"] == 6 - float(first[traditional])
    assert loaded.loc[0, "submitted_at"] == pd.Timestamp("2026-04-11 12:33:18")


# ---------------------------------------------------------------- layouts

QUALTRICS_HEADER = [
    "ResponseId",
    "RecordedDate",
    "Finished",
    "IPAddress",
    "RecipientEmail",
    "Q_NBHD",
    "Q_AGE",
    "T1",
    "T2",
    "Q_COMMENT",
]
QUALTRICS_IMPORT = [
    '{"ImportId":"_recordId"}',
    '{"ImportId":"recordedDate"}',
    '{"ImportId":"finished"}',
    '{"ImportId":"ipAddress"}',
    '{"ImportId":"recipientEmail"}',
    '{"ImportId":"QID1"}',
    '{"ImportId":"QID2"}',
    '{"ImportId":"QID3"}',
    '{"ImportId":"QID4"}',
    '{"ImportId":"QID5_TEXT"}',
]
QUALTRICS_ROWS = [
    [
        "R_1",
        "2024-02-01 10:00:00",
        "1",
        "198.51.100.7",
        "jane.roe@example.org",
        "alder  PARK",
        "25-34",
        "5",
        "Don't know",
        "Call Jane Roe",
    ],
    ["R_2", "2024-02-02 10:00:00", "0", "198.51.100.8", "", "Alder Park", "55+", "1", "", ""],
    ["R_3", "2024-02-03 10:00:00", "1", "198.51.100.9", "", "AP", "Prefer not to say", "2", "4", ""],
    ["R_3", "2024-02-04 10:00:00", "1", "198.51.100.9", "", "60601-1234", "55+", "3", "1", ""],
    ["R_4", "2024-02-05 10:00:00", "1", "198.51.100.6", "", "Atlantis", "55+", "3", "3", ""],
    ["R_5", "2024-02-05 10:00:00", "1", "198.51.100.5", "", "Alder Park", "55+", "7", "3", ""],
]
QUALTRICS_SPEC = """
name: wave
kind: survey
timestamp_format: "%Y-%m-%d %H:%M:%S"
columns: {response_id: ResponseId, submitted_at: RecordedDate, finished: Finished, neighborhood: Q_NBHD, age_group: Q_AGE}
neighborhood_aliases: {N01: ["AP", "60601"], N99: ["not a known neighborhood"]}
scale: {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
missing: ["", "Don't know", "Prefer not to say"]
items:
  - {column: T1, construct: trust}
  - {column: T2, construct: trust, reverse: true}
"""


def write_rows(path: Path, rows: list[list[str]], newline: str = "\n", bom: bool = False) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerows(rows)
    path.write_text(("\ufeff" if bom else "") + buffer.getvalue(), encoding="utf-8")
    return path


def test_qualtrics_validation_scores_reverse_codes_and_quarantines(tmp_path):
    spec = source(tmp_path, QUALTRICS_SPEC)
    file = write_rows(
        tmp_path / "wave.csv",
        [QUALTRICS_HEADER, QUALTRICS_HEADER, QUALTRICS_IMPORT, *QUALTRICS_ROWS],
        bom=True,
    )
    raw = parse(spec, file, tmp_path)
    assert "198.51.100" not in everything(raw) and "jane" not in everything(raw).lower()
    loaded, quarantined = validate(spec, file, tmp_path, {"N01": "Alder Park"})
    # Response ids are keyed hashes from here on: name them back through the hashes of the file's ids.
    ids = {keyed_hash(f"response_id:R_{n}"): f"R_{n}" for n in range(1, 6)}
    quarantined["response_id"] = quarantined["response_id"].map(ids)
    loaded["response_id"] = loaded["response_id"].map(ids)
    reasons = dict(
        zip(
            quarantined["response_id"] + "@" + quarantined["_row"].astype(str),
            quarantined["reason"] + " / " + quarantined["detail"],
            strict=True,
        )
    )
    assert reasons == {
        "R_2@5": "incomplete_response / Finished: '0'",
        # the later submission (row 7) is kept
        "R_3@6": "duplicate_response_superseded / ResponseId: repeated; the latest submission is kept",
        "R_4@8": "unknown_neighborhood / Q_NBHD: 'Atlantis'",
        "R_5@9": "invalid_answer / T1: '7'",
    }
    scores = loaded.set_index(["response_id", "item"])["score"]
    assert scores[("R_1", "t1")] == 5 and pd.isna(scores[("R_1", "t2")])  # "Don't know" is missing
    assert scores[("R_3", "t1")] == 3 and scores[("R_3", "t2")] == 5  # reverse: 6 - 1
    by_response = loaded.drop_duplicates("response_id").set_index("response_id")
    assert by_response.loc["R_3", "neighborhood_id"] == "N01"  # ZIP+4 answer through its 5-digit alias
    assert by_response.loc["R_1", "neighborhood_id"] == "N01"  # case and spacing
    assert by_response.loc["R_3", "age_group"] == "55+" and pd.isna(by_response.loc["R_1", "gender"])


def test_xlsx_export_parses_like_its_csv(tmp_path):
    spec = source(tmp_path, QUALTRICS_SPEC)
    grid = [QUALTRICS_HEADER, QUALTRICS_HEADER, QUALTRICS_IMPORT, *QUALTRICS_ROWS]
    csv_raw = parse(spec, write_rows(tmp_path / "wave.csv", grid), tmp_path)
    # As a spreadsheet holds them: numbers as numbers (read back as the text a CSV export writes).
    cells = [[int(cell) if cell.isdigit() else cell for cell in row] for row in grid]
    assert isinstance(cells[3][2], int)
    pd.DataFrame(cells).to_excel(tmp_path / "wave.xlsx", header=False, index=False)
    xlsx_raw = parse(spec, tmp_path / "wave.xlsx", tmp_path)
    pd.testing.assert_frame_equal(xlsx_raw, csv_raw)


def test_google_forms_with_stray_spaces_line_breaks_and_crlf(tmp_path):
    spec = source(
        tmp_path,
        """
name: forms
kind: survey
timestamp_format: "%m/%d/%Y %H:%M:%S"
columns:
  response_id: {column: Email Address, pii: hash}
  submitted_at: Timestamp
  neighborhood: Which neighborhood do you live in?
items:
  - {column: I trust the police in my neighborhood, construct: trust}
""",
    )
    rows = [
        [
            "Timestamp",
            "Email Address",
            "  Which neighborhood\ndo you live in?  ",
            " I trust the police in my neighborhood ",
            "Anything else?",
        ],
        [
            "3/1/2024 9:05:00",
            "Jane.Roe@Example.org",
            "Alder Park",
            "Agree",
            "Line one\nline two, with a comma",
        ],
        ["3/2/2024 9:05:00", "sam@example.net", " alder park ", "Strongly agree", ""],
        ["3/9/2024 18:00:00", " jane.roe@example.org ", "Alder Park", "Disagree", "changed my mind"],
    ]
    file = write_rows(tmp_path / "forms.csv", rows, newline="\r\n")
    raw = parse(spec, file, tmp_path)
    assert len(raw) == 3 and raw["_row"].tolist() == [2, 3, 4]  # the quoted line break stays in its row
    assert "example" not in everything(raw).lower() and "line two" not in everything(raw)
    assert raw.loc[0, "response_id"] == keyed_hash("jane.roe@example.org") == raw.loc[2, "response_id"]
    loaded, quarantined = validate(spec, file, tmp_path, {"N01": "Alder Park"})
    assert quarantined["reason"].tolist() == ["duplicate_response_superseded"] and quarantined[
        "_row"
    ].tolist() == [2]
    assert sorted(loaded["score"].tolist()) == [2.0, 5.0]


@pytest.mark.parametrize(
    ("rows", "layout"),
    [
        ([["Timestamp", "Q"], ["1", "a"], ["2", '{"ImportId": "x"}']], "google_forms"),
        ([["V1", "Q1"], ["ResponseID", "Q"], ['{"ImportId": "x"}', "1"]], "qualtrics_legacy"),
        ([["Respondent ID", "Q"], ["", "Response"], ["1", '{"ImportId": "x"}']], "surveymonkey"),
    ],
)
def test_an_answer_that_looks_like_an_import_id_does_not_change_the_layout(tmp_path, rows, layout):
    """Found by tests/reliability/test_parser_fuzz.py: one such answer in the third row made any export a
    Qualtrics one, whose three header rows swallowed a response."""
    file = write_rows(tmp_path / "export.csv", rows)
    head = [cells for _, cells in iter_cells(file)][:MAX_HEADER_ROWS]
    assert detect_layout(file, head).layout == layout


def test_a_file_of_another_tool_than_declared_is_refused(real_data, tmp_path):
    spec = source(
        tmp_path,
        SURVEYMONKEY_YAML.replace("export_format: surveymonkey", "export_format: qualtrics"),
        "answer,neighborhood_id\n",
    )
    with pytest.raises(
        SourceError, match="reads qualtrics exports, but this file is laid out as surveymonkey"
    ):
        parse(spec, real_data / "surveymonkey_export_ggwash_anc2022_redacted.csv", tmp_path)


# Per real export: (submitted_at, neighborhood, an item) columns that may be loaded.
SAFE_COLUMNS = {
    "qualtrics_export_sample_qualtRics.csv": ("RecordedDate", "UserLanguage", "Q1"),
    "qualtrics_export_legacy_sample_qualtRics.csv": ("EndDate", "ResponseSet", "Q1"),
    "surveymonkey_export_ggwash_anc2022_redacted.csv": (
        "End Date",
        "Respondent ID",
        "Should apartments be legal to build District-wide?",
    ),
}


@pytest.mark.parametrize(
    ("file", "field", "column", "problem"),
    [
        ("qualtrics_export_sample_qualtRics.csv", "neighborhood", "IPAddress", "holds personal data"),
        ("qualtrics_export_sample_qualtRics.csv", "neighborhood", "LocationLatitude", "holds personal data"),
        ("qualtrics_export_sample_qualtRics.csv", "age_group", "RecipientEmail", "holds personal data"),
        ("qualtrics_export_sample_qualtRics.csv", "response_id", "ExternalReference", "holds personal data"),
        ("qualtrics_export_sample_qualtRics.csv", "age_group", "Q2", "free-text answer"),
        ("qualtrics_export_legacy_sample_qualtRics.csv", "age_group", "EmailAddress", "holds personal data"),
        (
            "surveymonkey_export_ggwash_anc2022_redacted.csv",
            "age_group",
            "Email Address",
            "holds personal data",
        ),
        ("surveymonkey_export_ggwash_anc2022_redacted.csv", "gender", "IP Address", "holds personal data"),
        (
            "surveymonkey_export_ggwash_anc2022_redacted.csv",
            "age_group",
            "Contact information - Email",
            "holds personal data",
        ),
        (
            "surveymonkey_export_ggwash_anc2022_redacted.csv",
            "age_group",
            "Custom Data 1",
            "holds personal data",
        ),
        (
            "surveymonkey_export_ggwash_anc2022_redacted.csv",
            "gender",
            "What do you feel is the biggest issue in your neighborhood?",
            "free-text answer",
        ),
    ],
)
def test_personal_and_free_text_columns_cannot_be_loaded(real_data, tmp_path, file, field, column, problem):
    submitted_at, neighborhood, item = SAFE_COLUMNS[file]
    definition = {
        "name": "leaky",
        "kind": "survey",
        "timestamp_format": "%Y",
        "columns": {"submitted_at": submitted_at, "neighborhood": neighborhood, field: column},
        "items": [{"column": item, "construct": "trust"}],
    }
    spec = source(tmp_path, yaml.safe_dump(definition))
    with pytest.raises(SourceError, match=problem) as error:
        parse(spec, real_data / file, tmp_path)
    assert str(real_data / file) in str(error.value) and column in str(error.value)


def test_a_missing_salt_stops_the_load_with_a_clear_message(real_data, tmp_path):
    spec = source(tmp_path, QUALTRICS_YAML)
    with pytest.raises(MissingSaltError, match="NBHD_PII_SALT is not set") as error:
        parse(spec, real_data / "qualtrics_export_sample_qualtRics.csv", tmp_path, salt=None)
    assert "qualtrics_sample" in str(error.value) and "qualtrics_export_sample" in str(error.value)


def test_a_scale_without_two_ends_is_a_definition_error(tmp_path):
    with pytest.raises(SourceError, match="at least two different scores"):
        source(
            tmp_path,
            QUALTRICS_SPEC.replace('scale: {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5}', 'scale: {"1": 3}'),
        )


FORM_SPEC = """
name: form
kind: survey
timestamp_format: excel
columns: {submitted_at: Timestamp, neighborhood: Where}
scale: {"0 None": 0, "1 Slight": 1, "2 Moderate": 2, "3 Severe": 3}
items:
  - {column: "Symptom [Fatigue]", construct: symptoms}
  - column: Ease
    construct: ease
    reverse: true
    scale: {Very difficult: 1, Difficult: 2, Somewhat difficult: 3, Neutral: 4, Somewhat easy: 5, Easy: 6, Very easy: 7}
"""


def test_scales_of_any_integers_are_read_on_one_to_five_and_excel_serial_dates_parse(tmp_path):
    """A 0–3 scale and a 7-point one, each moved onto 1–5 by its own ends (1 + 4 × (s − lowest) / (highest −
    lowest)), reverse coding after that; Timestamps as Excel serial numbers (days since 1899-12-30) or as the
    ISO text of a cell styled as a date."""
    spec = source(tmp_path, FORM_SPEC)
    file = write_rows(
        tmp_path / "form.csv",
        [
            ["Timestamp", "Where", "Symptom [Fatigue]", "Ease"],
            ["46129.5", "N01", "0 None", "Very difficult"],  # 2026-04-17 12:00
            ["2026-04-18 09:30:00.250000", "N01", "1 Slight", "Difficult"],
            ["46131.75", "N01", "3 Severe", "Easy"],  # 2026-04-19 18:00
            ["-3", "N01", "2 Moderate", "Neutral"],  # before Excel's first day
            ["46132", "N01", "4 Extreme", "Neutral"],  # not on the scale
        ],
        newline="\r\n",
    )
    loaded, quarantined = validate(spec, file, tmp_path, {"N01": "Alder Park"})
    scores = {(row["_row"], row["item"]): row["score"] for _, row in loaded.iterrows()}
    # reverse of a 7-point answer s: 6 − (1 + 4 × (s − 1) / 6)
    assert scores == pytest.approx(
        {
            (2, "symptom_fatigue"): 1.0,
            (2, "ease"): 5.0,
            (3, "symptom_fatigue"): 1 + 4 / 3,
            (3, "ease"): 6 - (1 + 4 / 6),
            (4, "symptom_fatigue"): 5.0,
            (4, "ease"): 6 - (1 + 4 * 5 / 6),
        }
    )
    submitted = loaded.drop_duplicates("_row").set_index("_row")["submitted_at"]
    assert submitted.to_dict() == {
        2: pd.Timestamp("2026-04-17 12:00"),
        3: pd.Timestamp("2026-04-18 09:30:00.250"),
        4: pd.Timestamp("2026-04-19 18:00"),
    }
    assert quarantined[["_row", "reason", "detail"]].values.tolist() == [
        [5, "unparseable_submitted_at", "Timestamp: '-3'"],
        [6, "invalid_answer", "Symptom [Fatigue]: '4 Extreme'"],
    ]


def test_an_xlsx_timestamp_reads_alike_whether_or_not_its_cell_is_styled_as_a_date(tmp_path):
    """`excel`: a workbook's date cell (read as a datetime) and a bare serial number (a cell left as a number)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Timestamp ", "  Where", "Symptom [Fatigue]", "Ease"])  # stray spaces in the headers
    sheet.append([datetime(2026, 4, 17, 15, 53, 40, 167000), "N01", "0 None", "Easy"])
    sheet.append([46129.5, "N01", "1 Slight", "Easy"])
    sheet.append([46130, "N01", "1 Slight", "Easy"])
    assert sheet["A2"].is_date and not sheet["A3"].is_date
    book.save(tmp_path / "form.xlsx")
    loaded, quarantined = validate(
        source(tmp_path, FORM_SPEC), tmp_path / "form.xlsx", tmp_path, {"N01": "A"}
    )
    assert quarantined.empty
    assert loaded.drop_duplicates("_row").set_index("_row")["submitted_at"].to_dict() == {
        2: pd.Timestamp("2026-04-17 15:53:40.167"),
        3: pd.Timestamp("2026-04-17 12:00"),
        4: pd.Timestamp("2026-04-18"),
    }


def test_a_survey_of_one_neighborhood_names_it_for_every_response(tmp_path):
    one = FORM_SPEC.replace("neighborhood: Where}", "}\nneighborhood_id: N02")
    file = write_rows(
        tmp_path / "form.csv",
        [
            ["Timestamp", "Symptom [Fatigue]", "Ease"],
            ["46129.5", "0 None", "Easy"],
            ["46130.5", "1 Slight", ""],
        ],
    )
    loaded, quarantined = validate(source(tmp_path, one), file, tmp_path, {"N01": "N02", "N02": "Birch"})
    # by the id exactly: not N01, whose name is "N02"
    assert loaded.groupby("_row")["neighborhood_id"].unique().to_dict() == {2: ["N02"], 3: ["N02"]}
    assert quarantined.empty
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    loaded, quarantined = validate(source(elsewhere, one), file, elsewhere, {"N01": "Alder Park"})
    assert loaded.empty
    assert quarantined[["_row", "reason", "detail"]].values.tolist() == [
        [
            row,
            "unknown_neighborhood",
            "neighborhood_id: 'N02' (the source's, for every response) is not the id of a loaded boundary",
        ]
        for row in (2, 3)
    ]
    for both_or_neither in (
        one.replace("columns: {", "columns: {neighborhood: Where, "),
        FORM_SPEC.replace(", neighborhood: Where}", "}"),
    ):
        with pytest.raises(SourceError, match="exactly one of columns.neighborhood .* and neighborhood_id"):
            source(tmp_path, both_or_neither)


def test_neighborhood_answers_match_through_the_crosswalk_then_ids_and_names_then_aliases(tmp_path):
    spec = source(
        tmp_path,
        """
name: places
kind: survey
timestamp_format: "%m/%d/%Y %H:%M:%S"
columns: {submitted_at: Timestamp, neighborhood: "Where do you live?"}
neighborhood_crosswalk: crosswalk.csv
neighborhood_aliases: {N01: ["AP", "60601"], N99: ["Lost Lake"]}
items:
  - {column: I trust the police, construct: trust}
""",
        crosswalk="answer,neighborhood_id\nBirch Hill,N01\nOld Mill,N99\nap,N02\n",
    )
    # answer -> the neighborhood it must load in (None: refused as unknown_neighborhood), by the rules above
    expected = {
        "birch  HILL": "N01",  # the crosswalk wins over the name of N02
        "Old Mill": None,  # the crosswalk names a neighborhood without a boundary
        "AP": "N02",  # the crosswalk wins over the alias
        "n02": "N02",  # an id, case ignored
        "Alder Park": "N01",  # a name
        "Lost Lake": None,  # an alias of a neighborhood without a boundary
        "60601-1234": "N01",  # a ZIP+4 through the alias of its ZIP
        "Atlantis": None,
    }
    rows = [["Timestamp", "Where do you live?", "I trust the police"]] + [
        [f"3/{day}/2024 9:05:00", answer, "Agree"] for day, answer in enumerate(expected, start=1)
    ]
    file = write_rows(tmp_path / "places.csv", rows)
    loaded, quarantined = validate(spec, file, tmp_path, {"N01": "Alder Park", "N02": "Birch Hill"})
    found = dict.fromkeys(quarantined["neighborhood"])
    answers = dict(enumerate(expected, start=2))
    found |= {answers[row]: nbhd for row, nbhd in zip(loaded["_row"], loaded["neighborhood_id"], strict=True)}
    assert found == expected
    assert set(quarantined["reason"]) == {"unknown_neighborhood"}
    assert sorted(quarantined["detail"]) == sorted(
        f"Where do you live?: {answer!r}" for answer, nbhd in expected.items() if nbhd is None
    )
