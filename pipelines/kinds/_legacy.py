"""TEMPORARY: a kind still validated as a pandas frame, behind the `Kind` interface (removed once every kind
validates in SQL)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines.kinds.base import Context, Kind, SourceBase, Validated, write_parsed


class LegacyContext(Context):
    """Context plus the notes a pandas validator leaves."""

    def __init__(self, context: Context):
        super().__init__(context.con, context.lookup_sources, context.now)
        self.notes: dict[str, int] = {}

    def note(self, note: str, rows: int) -> None:
        if rows:
            self.notes[note] = self.notes.get(note, 0) + rows


class LegacyKind(Kind):
    parse_frame: ClassVar[Callable]
    validate_frame: ClassVar[Callable]
    records_loaded: ClassVar[str] = "count(DISTINCT _row)"

    def land(
        self,
        spec: SourceBase,
        file: Path,
        destination: Path,
        metadata: Mapping[str, str],
        con: duckdb.DuckDBPyConnection,
        salt: str | None,
    ) -> None:
        frame = type(self).parse_frame(spec, file, salt)
        write_parsed(con, pa.Table.from_pandas(frame, preserve_index=False), destination, metadata)

    def validate(self, spec: SourceBase, incoming: str, context: Context) -> Validated:
        con = context.con
        raw = (
            con.execute(f"SELECT * EXCLUDE (_position) FROM ({incoming}) ORDER BY _position")
            .fetch_arrow_table()
            .to_pandas(types_mapper=lambda t: pd.StringDtype() if t == pa.string() else None)
        )
        legacy = LegacyContext(context)
        loaded, quarantined = type(self).validate_frame(spec, raw, legacy)
        rejected = pd.DataFrame(
            {
                "_row": quarantined["_row"].astype("int64"),
                "reason": quarantined["_reason"].astype(str),
                "record": [
                    json.dumps({k: (None if pd.isna(v) else str(v)) for k, v in record.items()})
                    for record in quarantined.drop(columns=["_row", "_reason", "_detail"]).to_dict("records")
                ],
                "detail": quarantined["_detail"].astype("string"),
            }
        )
        con.register("legacy_loaded", loaded)
        con.register("legacy_rejected", rejected)
        return Validated(len(raw), "legacy_loaded", "legacy_rejected", self.records_loaded, legacy.notes)
