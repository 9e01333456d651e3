"""Loading one file of a kind through its interface, as a run does (Kind.land into a parsed Parquet file, then
ingest.validate_file into a real warehouse), for the kinds' tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from pipelines import ingest
from pipelines.kinds import KINDS
from pipelines.kinds.base import Context
from pipelines.sources import load_source
from pipelines.warehouse import connect
from tests.conftest import TEST_SALT


def spec(folder: Path, name: str, body: str):
    path = folder / f"{name}.yml"
    path.write_text(textwrap.dedent(body))
    return load_source(path)


def load(folder: Path, spec, file: Path, context: Context, salt: str | None = TEST_SALT):
    """Land `file` and validate it into the warehouse of `context`: the parsed file, the loaded rows and the
    quarantined rows (both in file order), as frames."""
    parsed = folder / f"{spec.name}-{file.stem}.parquet"
    with connect(None, allowed=[folder]) as con:
        KINDS[spec.kind].land(spec, file, parsed, {ingest.FILE_KEY.decode(): file.name}, con, salt)
    ingest.validate_file(spec, parsed, file.stem, file.name, context)
    loaded, quarantined = (
        pd.DataFrame(
            context.con.execute(f"SELECT * FROM {table}.{spec.name} ORDER BY _row")
            .fetch_arrow_table()
            .to_pylist()
        )
        for table in ("raw", "quarantine")
    )
    return pq.read_table(parsed).to_pandas(), loaded, quarantined
