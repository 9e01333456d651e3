"""The two steps of every load, with no Dagster in them: landing -> raw Parquet -> warehouse.

raw/<source>/<load_id>.parquet is immutable and already free of personal data; the warehouse can be rebuilt
from raw/ alone. Both steps skip what they have already done, so re-running changes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.connectors.files import landing_files
from pipelines.kinds import kind_module
from pipelines.kinds.base import Context
from pipelines.settings import Paths
from pipelines.sources import SourceError, SourceSpec
from pipelines.warehouse import LoadSummary, connect, ensure_tables, loaded_ids, write_load

FILE_KEY = b"neighborhood_metrics.landing_file"  # Parquet metadata: which landing file a raw load came from


def land(spec: SourceSpec, paths: Paths, salt: str | None) -> list[Path]:
    """Parse new landing files into raw Parquet. One bad file does not stop the others; all errors are raised
    together at the end, each naming its file."""
    target = paths.raw / spec.name
    target.mkdir(parents=True, exist_ok=True)
    written, errors = [], []
    for landing in landing_files(paths.home, spec.landing_glob):
        destination = target / f"{landing.load_id}.parquet"
        if destination.exists():
            continue
        try:
            table = kind_module(spec.kind).parse(spec, landing.path, salt)
        except SourceError as error:
            errors.append(str(error))
            continue
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), FILE_KEY: landing.relative})
        temporary = destination.with_suffix(".parquet.tmp")
        pq.write_table(arrow, temporary)
        os.replace(temporary, destination)  # atomic: a raw file is complete or absent
        written.append(destination)
    if errors:
        raise SourceError(f"{spec.name}: {len(errors)} file(s) could not be read:\n" + "\n".join(errors))
    return written


def load(spec: SourceSpec, specs: list[SourceSpec], paths: Paths) -> list[LoadSummary]:
    """Validate every raw file not yet in the warehouse and write it (loaded rows + quarantine) atomically."""
    summaries = []
    with connect(paths.warehouse) as con:
        lookups = [s for s in specs if s.kind in ("geography", "events")]
        for each in [spec, *lookups]:
            ensure_tables(con, each.name, each.kind)
        context = Context(
            con,
            neighborhood_sources=[s.name for s in lookups if s.kind == "geography"],
            event_sources=[s.name for s in lookups if s.kind == "events"],
        )
        done = loaded_ids(con, spec.name)
        for raw_file in sorted((paths.raw / spec.name).glob("*.parquet")):
            load_id = raw_file.stem
            if load_id in done:
                continue
            file = pq.read_schema(raw_file).metadata[FILE_KEY].decode()
            raw = pd.read_parquet(raw_file)
            loaded, quarantined = kind_module(spec.kind).validate(spec, raw, context)
            summaries.append(
                write_load(
                    con,
                    spec=spec,
                    load_id=load_id,
                    file=file,
                    loaded_at=context.now,
                    raw=raw,
                    loaded=loaded,
                    quarantined=quarantined,
                )
            )
    return summaries
