"""Resident surveys: Qualtrics, SurveyMonkey and Google Forms exports (CSV or XLSX), Likert items.

`land` reads an export in Python (its layout has one to three header rows, see parsers/surveys.py) and streams
its mapped columns as text, in batches, into the parsed Parquet; `validate` scores and refuses them in SQL.

Personal data never leaves `land`: only the columns the YAML maps are kept; the columns each tool fills with
personal data (IP address, recipient names and emails, location, contact fields; see parsers/surveys.py) can be
mapped only with `pii: hash`, which replaces every value by HMAC-SHA256(NBHD_PII_SALT, normalized value); free-text
answers cannot be mapped as items or demographics; a survey tool's response id is kept only as a keyed hash. A
survey load without a salt stops with a clear message.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
from pydantic import ConfigDict, Field, field_validator, model_validator

from pipelines.checks import rules
from pipelines.errors import SchemaDriftError, SourceError
from pipelines.kinds import base
from pipelines.kinds.sql import EXCEL, blank, bool_sql, cited, label, strip, time_parameters, time_sql
from pipelines.parsers.surveys import MAX_HEADER_ROWS, Export, detect_layout
from pipelines.parsers.tables import delimiter_hint, iter_cells
from pipelines.pii import normalize_email, pseudonymize, require_salt
from pipelines.warehouse import literal, quote

LIKERT_5 = {
    "strongly disagree": 1,
    "disagree": 2,
    "neither agree nor disagree": 3,
    "agree": 4,
    "strongly agree": 5,
}

# Answers that mean "no answer" (case and spacing ignored): the item is skipped, not refused. A source's
# `missing` list adds to these.
MISSING_ANSWERS = ("", "don't know", "dont know", "prefer not to say", "n/a")


def _two_scores_at_least(scale: dict[str, int] | None) -> dict[str, int] | None:
    # A scale's ends are its lowest and highest score (see `on_one_to_five`): they must differ.
    if scale is not None and len(set(scale.values())) < 2:
        raise ValueError("a scale needs at least two different scores (its lowest and its highest)")
    return scale


def on_one_to_five(scale: dict[str, int]) -> dict[str, float]:
    """Each label's score moved linearly onto 1–5 by its scale's own ends: 1 + 4 × (score − lowest) / (highest −
    lowest). Reverse coding (6 − score) and the 0–100 index (docs/metrics.md#survey-indices) read 1–5, so a scale
    of any integers (0–3 symptoms, a 7-point scale) is read on it; a 1–5 scale is unchanged."""
    lowest, highest = min(scale.values()), max(scale.values())
    return {answer: 1 + 4 * (score - lowest) / (highest - lowest) for answer, score in scale.items()}


class HashedColumn(base.Spec):
    """A column that links records but identifies a person (an email, a panel id): loaded only as a keyed hash."""

    column: str
    pii: Literal["hash"]


class SurveyColumns(base.Spec):
    # A response id is loaded only as a keyed hash. Without one (Google Forms has none) a response is identified
    # by a keyed hash of its mapped answers and timestamp, so the same response in two cumulative exports is
    # counted once.
    response_id: str | HashedColumn | None = None
    submitted_at: str
    # The question "which neighborhood do you live in?"; a survey of one neighborhood has none and names it
    # with the source's `neighborhood_id` instead.
    neighborhood: str | None = None
    finished: str | None = None
    age_group: str | None = None
    gender: str | None = None


class SurveyItem(base.Spec):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    column: str
    # `construct` in YAML; renamed here because pydantic models already have a .construct method.
    construct_name: str = Field(alias="construct")
    reverse: bool = False
    # This item's own label -> score map, when it differs from the source's `scale`.
    scale: dict[str, int] | None = None

    @field_validator("scale")
    @classmethod
    def _scale_has_ends(cls, value):
        return _two_scores_at_least(value)

    @property
    def item_id(self) -> str:
        return re.sub(r"[^a-z0-9]+", "_", self.column.lower()).strip("_")[:60]


class SurveySource(base.SourceBase):
    kind: Literal["survey"]
    # `auto` accepts any known layout (parsers/surveys.py); naming a tool also refuses the other tools' files.
    export_format: Literal["auto", "qualtrics", "surveymonkey", "google_forms"] = "auto"
    columns: SurveyColumns
    timestamp_format: str
    items: list[SurveyItem] = Field(min_length=1)
    # Answer label (case-insensitive) -> score, any integers (read on 1–5 by `on_one_to_five`). Numeric codes
    # can be listed too. A `scale` given replaces this default (an item's own `scale` replaces the source's for
    # that item).
    scale: dict[str, int] = Field(default_factory=lambda: dict(LIKERT_5))
    # More answers meaning "no answer" (a tool's code for "Don't know", say), in addition to MISSING_ANSWERS.
    missing: list[str] = Field(default_factory=list)
    # Optional CSV `answer,neighborhood_id`; answers also match neighborhood ids and names directly.
    neighborhood_crosswalk: str | None = None

    def files_beside(self) -> dict[str, str]:
        return {"neighborhood_crosswalk": self.neighborhood_crosswalk} if self.neighborhood_crosswalk else {}

    # neighborhood_id -> other answers meaning it (abbreviations, old names, ZIP codes).
    neighborhood_aliases: dict[str, list[str]] = Field(default_factory=dict)

    # The neighborhood every response counts in, for an export of a survey run in one neighborhood (a form
    # without a neighborhood question): exactly one of this and `columns.neighborhood`.
    neighborhood_id: str | None = None

    @field_validator("scale")
    @classmethod
    def _scale_has_ends(cls, value):
        return _two_scores_at_least(value)

    @model_validator(mode="after")
    def _one_neighborhood_given(self) -> SurveySource:
        if (self.columns.neighborhood is None) == (self.neighborhood_id is None):
            raise ValueError(
                "give exactly one of columns.neighborhood (the question naming each respondent's neighborhood) "
                "and neighborhood_id (the one neighborhood of every response)"
            )
        return self

    def scale_of(self, item: SurveyItem) -> dict[str, int]:
        """The label -> score map `item` is read with."""
        return item.scale or self.scale

    @property
    def response_id_column(self) -> str:
        """The file's column identifying a response, as details name it."""
        column = self.columns.response_id
        if column is None:
            return "response id (a digest of the answers)"
        return column.column if isinstance(column, HashedColumn) else column


# A timestamp as a spreadsheet gives it: a serial number of days, or a cell styled as a date (read as ISO text).
SPREADSHEET_DATE = re.compile(r"\d+(\.\d+)?|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?")

# ---- landing files -> text columns

# Records per Arrow batch: memory stays bounded whatever the export's size.
BATCH_ROWS = 10_000


def text_columns(spec: SurveySource) -> dict[str, str | None]:
    """The parsed file's columns (canonical name -> the YAML's column, None where unmapped), in order; the items
    as `item_1`, `item_2`, ... in the YAML's order."""
    columns = spec.columns
    response_id = (
        columns.response_id.column if isinstance(columns.response_id, HashedColumn) else columns.response_id
    )
    mapping: dict[str, str | None] = columns.model_dump() | {"response_id": response_id}
    return mapping | {item_column(number): item.column for number, item in enumerate(spec.items, start=1)}


def item_column(number: int) -> str:
    """The parsed file's column of the `number`-th item (from 1)."""
    return f"item_{number}"


def mapped_positions(spec: SurveySource, file: Path, export: Export) -> dict[str, int | None]:
    """Canonical column -> its position in the export (None where unmapped); refuses personal and free-text
    columns, and names every mapped column the export does not have."""
    hashed = isinstance(spec.columns.response_id, HashedColumn)
    first_position: dict[str, int] = {}
    for index, name in enumerate(export.header):
        first_position.setdefault(name, index)  # a repeated header name means its first column
    positions: dict[str, int | None] = {}
    missing = []
    for canonical, column in text_columns(spec).items():
        position = export.position(column) if column else None
        if column and position is None:
            missing.append(column)
            continue
        if position is not None:
            name = export.header[position]
            if export.is_personal(name) and not (canonical == "response_id" and hashed):
                raise SourceError(
                    f"{file}: column {name!r} (mapped to {canonical}) holds personal data in {export.tool} "
                    "exports and is never loaded; to link records by it, map response_id to it with `pii: hash`"
                )
            if position in export.free_text and canonical not in ("neighborhood", "response_id"):
                raise SourceError(
                    f"{file}: column {name!r} (mapped to {canonical}) is a free-text answer; free text is never "
                    "loaded, only closed answers can be items or demographics"
                )
            position = first_position[name]
        positions[canonical] = position
    if missing:
        raise SchemaDriftError(
            f"{file}: missing required column(s) {', '.join(repr(m) for m in missing)}; "
            f"found {export.header[:30]}{delimiter_hint(export.header)}"
        )
    return positions


def _hash_identifier(value: str, salt: str) -> str:
    text = value.strip()
    if not text:
        return ""
    return pseudonymize(normalize_email(text) or " ".join(text.lower().split()), salt)


def response_ids(spec: SurveySource, values: dict[str, list[str]], salt: str) -> list[str]:
    """The keyed hash identifying each response of a batch (`values`: its text columns)."""
    if isinstance(spec.columns.response_id, HashedColumn):
        return [_hash_identifier(value, salt) for value in values["response_id"]]
    if spec.columns.response_id:
        # A survey tool's response id links back to the named respondent inside the tool: only its keyed hash
        # is kept (exact text: ids differing in case are different responses).
        return [
            pseudonymize(f"response_id:{value.strip()}", salt) if value.strip() else ""
            for value in values["response_id"]
        ]
    # No response id (Google Forms): a digest of the mapped answers and timestamp, the mapped columns first,
    # then the unmapped ones (blank), so a response hashes as it always has.
    mapping = {name: column for name, column in text_columns(spec).items() if name != "response_id"}
    order = [name for name, column in mapping.items() if column] + [n for n, c in mapping.items() if not c]
    return [
        pseudonymize(f"response:{chr(31).join(row)}", salt)
        for row in zip(*(values[name] for name in order), strict=True)
    ]


# ---- validation, in SQL

# The temporary relations `validate` leaves on the connection.
VALIDATED, LOADED, REJECTED = "survey_validated", "survey_loaded", "survey_rejected"


def _answers_table(answers: list[tuple[str, object]], value_type: pa.DataType) -> pa.Table:
    """(answer text, value) pairs with their order, as validation looks them up (of two answers compared
    alike, the later wins, as in a dict)."""
    return pa.table(
        {
            "answer": pa.array([answer for answer, _ in answers], pa.string()),
            "value": pa.array([value for _, value in answers], value_type),
            "ordinal": pa.array(range(len(answers)), pa.int64()),
        }
    )


class SurveyKind(base.Kind):
    name = "survey"
    spec_type = SurveySource
    columns = base.column_types(
        "response_id VARCHAR, submitted_at TIMESTAMP, neighborhood_id VARCHAR, age_group VARCHAR, gender VARCHAR, construct VARCHAR, item VARCHAR, score DOUBLE"
    )
    view = "survey_answers"
    lookups = ("geography",)
    freshness = timedelta(days=100)

    def land(self, spec, file, destination, metadata, con, salt) -> None:
        """Write an export's mapped columns as text and `_row` (the record's number in the file, header rows
        included) into the parsed Parquet `destination`, in batches of BATCH_ROWS; the response id only as a keyed
        hash."""
        file = Path(file)
        salt = require_salt(salt, f"{spec.name}: {file}")
        records = iter_cells(file)
        head = list(itertools.islice(records, MAX_HEADER_ROWS))
        export = detect_layout(file, [cells for _, cells in head])
        if spec.export_format not in ("auto", export.tool):
            raise SourceError(
                f"{file}: source {spec.name} reads {spec.export_format} exports, but this file is laid out as "
                f"{export.layout}"
            )
        positions = mapped_positions(spec, file, export)
        data = itertools.chain(head[export.header_rows :], records)
        schema = pa.schema([(name, pa.string()) for name in positions] + [("_row", pa.int64())])
        failures: list[SourceError] = []

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                while chunk := list(itertools.islice(data, BATCH_ROWS)):
                    values = {
                        name: [cells[position] for _, cells in chunk]
                        if position is not None
                        else [""] * len(chunk)
                        for name, position in positions.items()
                    }
                    values["response_id"] = response_ids(spec, values, salt)
                    yield pa.record_batch([*values.values(), [number for number, _ in chunk]], schema=schema)
            except SourceError as error:  # DuckDB, reading the batches, would report it as its own error
                failures.append(error)
                raise

        try:
            base.write_parsed(
                con, pa.RecordBatchReader.from_batches(schema, batches()), destination, metadata
            )
        except Exception:
            if failures:
                raise failures[0] from None
            raise

    def validate(self, spec: SurveySource, incoming: str, context: base.Context) -> base.Validated:
        """Validate the relation `incoming` (the parsed exports: `text_columns`, `_load`, `_row`, `_position`) into
        survey_loaded (one row per kept response and item) and survey_rejected (one row per refused response).

        The first failing rule of a response names its reason, in this order: incomplete_response (a `finished`
        column that is not true), missing_response_id, unparseable_submitted_at, submitted_at_in_future,
        unknown_neighborhood, invalid_answer (the first item whose answer is neither on its scale nor a missing
        answer), duplicate_response_superseded (the same response id submitted later in the file, whatever that
        submission's own fate).

        With the source's `neighborhood_id`, every response is in that neighborhood when a boundary has that id
        (exactly), and is unknown_neighborhood otherwise. Else a neighborhood answer matches, case and spacing
        ignored, through the crosswalk, then the neighborhoods' ids and names, then the aliases (a crosswalk entry
        or alias naming a neighborhood without a loaded boundary is ignored); a ZIP+4 answer that matches nothing
        is tried as its 5-digit ZIP.

        Each answer's score is its scale's, read on 1–5 (`on_one_to_five`), then reverse-coded (6 − score)."""
        con = context.con
        columns = spec.columns
        crosswalk = (
            base.read_crosswalk(spec.beside(spec.neighborhood_crosswalk), "answer", "neighborhood_id")
            if spec.neighborhood_crosswalk
            else {}
        )
        aliases = [(alias, nbhd) for nbhd, names in spec.neighborhood_aliases.items() for alias in names]
        lookups = {
            "survey_crosswalk": _answers_table(list(crosswalk.items()), pa.string()),
            "survey_aliases": _answers_table(aliases, pa.string()),
            "survey_missing": _answers_table(
                [(answer, "") for answer in (*MISSING_ANSWERS, *spec.missing)], pa.string()
            ),
            **{
                f"survey_scale_{index}": _answers_table(
                    list(on_one_to_five(spec.scale_of(item)).items()), pa.float64()
                )
                for index, item in enumerate(spec.items)
            },
        }
        for name, table in lookups.items():
            con.register(name, table)

        if spec.neighborhood_id is None:
            neighborhood = (
                "coalesce(answer.neighborhood_id, CASE WHEN regexp_full_match(neighborhood_label, "
                "'\\d{5}-\\d{4}') THEN zip.neighborhood_id END)"
            )
            unknown_neighborhood = cited(columns.neighborhood, "neighborhood")
        else:  # the source's one neighborhood, by its id exactly as the boundaries give it
            neighborhood = "(SELECT any_value(neighborhood_id) FROM neighborhoods WHERE neighborhood_id = $neighborhood_id)"
            unknown_neighborhood = literal(
                f"neighborhood_id: {spec.neighborhood_id!r} (the source's, for every response) is not the id of "
                "a loaded boundary"
            )
        items = [(index, item, quote(item_column(index + 1))) for index, item in enumerate(spec.items)]
        # Each item's answer scored by a join with its scale (one row per label compared): a scalar subquery per item
        # held a copy of every row for each item: 15 files of 6,000 responses took 330 MB to validate together, now 160 MB.
        scales = "".join(
            f"scale_{index} AS (SELECT {label('answer')} AS label, arg_max(value, ordinal) AS value "
            f"FROM survey_scale_{index} GROUP BY ALL),"
            for index, _, _ in items
        )
        scored = " ".join(
            f"LEFT JOIN scale_{index} ON scale_{index}.label = {label(f'i.{column}')}"
            for index, _, column in items
        )
        scores = ", ".join(f"{'6 - ' if item.reverse else ''}scale_{index}.value" for index, item, _ in items)
        skipped = ", ".join(f"{label(column)} IN (SELECT label FROM missing)" for _, _, column in items)
        first_invalid = " ".join(
            f"WHEN scores[{index + 1}] IS NULL AND NOT skipped[{index + 1}] THEN {cited(item.column, column)}"
            for index, item, column in items
        )

        def answered(column: str) -> str:
            return f"CASE WHEN {label(column)} NOT IN (SELECT label FROM missing) THEN {strip(column)} END"

        # A refused row's record names its items by their ids, as its loaded rows do.
        item_keys = {item_column(index + 1): f"item:{item.item_id}" for index, item, _ in items}
        record_keys = {name: item_keys.get(name, name) for name in text_columns(spec)}
        finished = (
            f"WHEN NOT coalesce({bool_sql('finished')}, false) THEN 'incomplete_response'"
            if columns.finished
            else ""
        )
        sql = f"""
        CREATE OR REPLACE TEMP TABLE {VALIDATED} AS
        WITH
            missing AS (SELECT DISTINCT {label("answer")} AS label FROM survey_missing),
            neighborhoods AS ({context.neighborhoods_sql()}),
            -- answer -> neighborhood: the crosswalk (0), then ids and names (1), then aliases (2)
            places AS (
                SELECT label, arg_min(neighborhood_id, via) AS neighborhood_id FROM (
                    SELECT label, neighborhood_id, 1 AS via FROM neighborhoods
                    UNION ALL
                    SELECT {label("answer")}, arg_max(value, ordinal), via
                    FROM (
                        SELECT *, 0 AS via FROM survey_crosswalk UNION ALL SELECT *, 2 FROM survey_aliases
                    )
                    WHERE value IN (SELECT neighborhood_id FROM neighborhoods)
                    GROUP BY ALL
                )
                GROUP BY label
            ),
            {scales}
            typed AS (
                SELECT
                    i.*,
                    {strip("response_id")} AS t_response_id,
                    {time_sql("submitted_at", spec.timestamp_format)} AS t_submitted_at,
                    {label("neighborhood")} AS neighborhood_label,
                    {answered("age_group")} AS t_age_group,
                    {answered("gender")} AS t_gender,
                    [{scores}] AS scores,
                    [{skipped}] AS skipped
                FROM ({incoming}) i {scored}
            ),
            located AS (
                SELECT
                    typed.*,
                    {neighborhood} AS t_neighborhood_id,
                    row_number() OVER (
                        PARTITION BY _load, t_response_id ORDER BY t_submitted_at DESC NULLS LAST, _row DESC
                    ) > 1 AS superseded,
                    CASE {first_invalid} END AS invalid_answer
                FROM typed
                LEFT JOIN places answer ON answer.label = neighborhood_label
                LEFT JOIN places zip ON zip.label = left(neighborhood_label, 5)
            ),
            decided AS (
                SELECT
                    *,
                    CASE
                        {finished}
                        WHEN {blank("response_id")} THEN 'missing_response_id'
                        WHEN t_submitted_at IS NULL THEN 'unparseable_submitted_at'
                        WHEN t_submitted_at > $now THEN 'submitted_at_in_future'
                        WHEN t_neighborhood_id IS NULL THEN 'unknown_neighborhood'
                        WHEN invalid_answer IS NOT NULL THEN 'invalid_answer'
                        WHEN superseded THEN 'duplicate_response_superseded'
                    END AS _reason
                FROM located
            )
        SELECT
            t_response_id AS response_id, t_submitted_at AS submitted_at, t_neighborhood_id AS neighborhood_id,
            t_age_group AS age_group, t_gender AS gender, scores, _load, _row, _position, _reason,
            CASE _reason
                WHEN 'incomplete_response' THEN {cited(columns.finished or "finished", "finished")}
                WHEN 'missing_response_id' THEN {cited(spec.response_id_column, "response_id")}
                WHEN 'unparseable_submitted_at' THEN {cited(columns.submitted_at, "submitted_at")}
                WHEN 'submitted_at_in_future' THEN {cited(columns.submitted_at, "submitted_at")}
                WHEN 'unknown_neighborhood' THEN {unknown_neighborhood}
                WHEN 'invalid_answer' THEN invalid_answer
                WHEN 'duplicate_response_superseded'
                    THEN {literal(f"{spec.response_id_column}: repeated; the latest submission is kept")}
            END AS detail,
            CASE WHEN _reason IS NOT NULL THEN
                CAST(json_object({", ".join(f"{literal(key)}, {quote(name)}" for name, key in record_keys.items())}) AS VARCHAR)
            END AS record
        FROM decided
        """
        try:
            base.execute_validation(
                con,
                sql,
                {
                    **time_parameters(spec.timestamp_format),
                    **({"neighborhood_id": spec.neighborhood_id} if spec.neighborhood_id is not None else {}),
                    "now": pd.Timestamp(context.now).to_pydatetime(),
                },
                spec,
                "timestamp_format",
            )
        finally:
            for name in lookups:
                con.unregister(name)
        # One row per (response, item): the shape trust metrics are computed from.
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {LOADED} AS
            SELECT v.response_id, v.submitted_at, v.neighborhood_id, v.age_group, v.gender,
                   i.construct, i.item, v.scores[i.position] AS score, v._load, v._row
            FROM {VALIDATED} v CROSS JOIN (SELECT unnest($constructs) AS construct, unnest($items) AS item,
                                                  generate_subscripts($items, 1) AS position) i
            WHERE v._reason IS NULL
            ORDER BY i.position, v._position
            """,
            {
                "constructs": [item.construct_name for item in spec.items],
                "items": [item.item_id for item in spec.items],
            },
        )
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {REJECTED} AS SELECT _load, _row, _reason AS reason, record, detail, _position "
            f"FROM {VALIDATED} WHERE _reason IS NOT NULL"
        )
        return base.Validated(base.rows_by_load(con, f"SELECT _load FROM {VALIDATED}"), LOADED, REJECTED)

    def check_sample(self, spec: SurveySource, sample, con) -> list[tuple[str, str]]:
        """What `check-source` adds for a survey sample: the scale and the missing codes in effect."""

        def labels(scale: dict[str, int]) -> str:
            return ", ".join(f"{label!r} = {score}" for label, score in scale.items())

        def rescaled(scale: dict[str, int]) -> str:
            lowest, highest = min(scale.values()), max(scale.values())
            if (lowest, highest) == (1, 5):
                return ""
            return f" (read on 1–5 as 1 + 4 × (score − {lowest}) / {highest - lowest})"

        # The source's scale, where an item is read with it.
        notes = (
            [f"scale: {labels(spec.scale)}{rescaled(spec.scale)}"]
            if any(not item.scale for item in spec.items)
            else []
        )
        notes += [
            f"scale of {item.column}: {labels(item.scale)}{rescaled(item.scale)}"
            for item in spec.items
            if item.scale
        ]
        if spec.neighborhood_id is not None:
            notes.append(f"every response counts in neighborhood {spec.neighborhood_id}")
        # As validation compares them (sql.label): lower-case, spacing collapsed.
        (missing,) = con.execute(
            f"SELECT list_sort(list_distinct(list_transform($answers, answer -> {label('answer')})))",
            {"answers": [*MISSING_ANSWERS, *spec.missing]},
        ).fetchone()
        notes.append(f"missing codes (skipped, never refused): {missing}")
        cells = con.execute(
            "SELECT neighborhood_id, CAST(date_trunc('quarter', submitted_at) AS DATE), count(DISTINCT response_id) "
            f"FROM raw.{quote(spec.name)} GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        counted = ", ".join(
            f"{count} in {nbhd} in the quarter of {quarter}" for nbhd, quarter, count in cells
        )
        notes.append(f"responses that would count: {counted or 'none'}")
        findings = [("note", note) for note in notes]
        unparseable, received, example = con.execute(
            f"SELECT count(*), (SELECT sum(rows_received) FROM meta.loads WHERE source = $source), "
            f"arg_min(json_extract_string(record, '$.submitted_at'), _row) FROM quarantine.{quote(spec.name)} "
            "WHERE reason = 'unparseable_submitted_at'",
            {"source": spec.name},
        ).fetchone()
        if (
            unparseable
            and spec.timestamp_format.lower() != EXCEL
            and SPREADSHEET_DATE.fullmatch(example.strip())
        ):
            findings.append(
                (
                    "warning",
                    f"{unparseable} of {received} rows: {spec.columns.submitted_at} {example.strip()!r} is a "
                    "spreadsheet's date (a serial number of days, or a cell styled as a date): use "
                    "timestamp_format: excel",
                )
            )
        return findings

    def expectations(self, spec, loaded_at):
        return [
            # score is null for a don't-know or skipped item (counted by the half-items rule in dbt)
            *rules.not_null("response_id", "submitted_at", "neighborhood_id", "construct", "item"),
            rules.between("score", 1, 5),
            rules.not_after("submitted_at", loaded_at),
            rules.unique("response_id", "item"),
        ]


KIND = SurveyKind()
