"""A source's new files are parsed side by side (ingest.LANDING_THREADS): each parsed file holds its own landing
file's rows, whatever the files' formats, exactly as the file parsed alone."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq

from pipelines import ingest
from pipelines.kinds import crime
from pipelines.parsers.landing import read_columns
from pipelines.settings import Paths
from tests.kinds.loading import spec as write_spec

COLUMNS = {"incident_id": "id", "occurred_at": "date", "offense_code": "fbi_code"}


def test_files_parsed_side_by_side_each_hold_their_own_rows(tmp_path):
    (tmp_path / "offenses.csv").write_text("offense_code,ucr_category\n01A,violent\n")
    source = write_spec(
        tmp_path,
        "crimes",
        f"""
        name: crimes
        kind: crime
        path: landing/crimes/*
        timestamp_format: iso8601
        columns: {json.dumps(COLUMNS)}
        offense_crosswalk: offenses.csv
        """,
    )
    landing = tmp_path / "landing" / "crimes"
    landing.mkdir(parents=True)
    # Files of every format a crime source reads: JSON records are registered on the connection that copies them,
    # the others are read by DuckDB. Each file's ids are its own.
    for number in range(12):
        records = [
            {"id": f"{number}-{row}", "date": f"2024-01-{1 + row % 28:02d}T10:00:00", "fbi_code": "01A"}
            for row in range(1_000 + 100 * number)
        ]
        if number % 4 == 0:
            (landing / f"file{number:02d}.json").write_text(json.dumps(records))
        elif number % 4 == 1:
            (landing / f"file{number:02d}.json").write_text(
                json.dumps({"features": [{"attributes": record} for record in records]})
            )
        elif number % 4 == 2:
            pd.DataFrame(records).to_csv(landing / f"file{number:02d}.csv", index=False)
        else:
            pd.DataFrame(records).to_parquet(landing / f"file{number:02d}.parquet")
    paths = Paths(
        home=tmp_path, sources_dir=tmp_path, warehouse=tmp_path / "w.duckdb", publish_dir=tmp_path / "p"
    )

    written = ingest.land(source, paths, None)

    assert len(written) == 12
    for parsed in written:
        file = landing / pq.read_schema(parsed).metadata[ingest.FILE_KEY].decode().rsplit("/", 1)[-1]
        alone = read_columns(file, crime.file_columns(source)).to_pandas()
        rows = pq.read_table(parsed).to_pandas()  # a CSV file's rows are numbered by position: no `_row`
        assert len(rows) == 1_000 + 100 * int(file.stem[-2:]), file.name
        columns = list(crime.TEXT_COLUMNS)
        pd.testing.assert_frame_equal(rows[columns], alone[columns], obj=file.name)
