"""The data dictionary: every published column with its type and its description, from dbt's own artifacts.

dbt's manifest holds the descriptions written next to each model (units and metric definitions included);
its catalog holds the columns as they are in the warehouse, so a column added to a model without a
description shows up here as undescribed instead of silently missing.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

UNDESCRIBED = "(no description)"


@dataclass(frozen=True)
class Entry:
    table: str
    column: str
    data_type: str
    description: str
    table_description: str


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def data_dictionary(manifest: dict, catalog: dict, tables: list[str]) -> list[Entry]:
    models = {
        node["name"]: (unique_id, node)
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["name"] in tables
    }
    entries = []
    for table in tables:
        unique_id, node = models[table]
        catalog_columns = catalog["nodes"].get(unique_id, {}).get("columns", {})
        described = {name.lower(): column for name, column in node["columns"].items()}
        # The warehouse's column order (the catalog), else the YAML's when the table was never built.
        ordered = sorted(catalog_columns.values(), key=lambda c: c["index"]) or [
            {"name": name, "type": column.get("data_type") or ""} for name, column in node["columns"].items()
        ]
        for column in ordered:
            documented = described.get(column["name"].lower(), {})
            entries.append(
                Entry(
                    table=table,
                    column=column["name"],
                    data_type=(column.get("type") or documented.get("data_type") or "").upper(),
                    description=_clean(documented.get("description")) or UNDESCRIBED,
                    table_description=_clean(node.get("description")),
                )
            )
    return entries


def _cell(text: str) -> str:
    return text.replace("|", "\\|")  # a pipe would end the Markdown table cell


def write_dictionary(entries: list[Entry], folder: Path) -> list[Path]:
    """data_dictionary.csv (one row per column) and data_dictionary.md (readable anywhere)."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = folder / "data_dictionary.csv", folder / "data_dictionary.md"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(Entry.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(asdict(entry) for entry in entries)
    lines = [
        "# Data dictionary",
        "",
        "Every published table and column (`published/current/<table>.parquet|.csv`, `published/current/metrics.duckdb`).",
        "Generated from the dbt project's model descriptions; the dbt docs site beside this file has the lineage.",
    ]
    for table in dict.fromkeys(entry.table for entry in entries):
        rows = [entry for entry in entries if entry.table == table]
        lines += [
            "",
            f"## {table}",
            "",
            rows[0].table_description,
            "",
            "| column | type | meaning |",
            "|---|---|---|",
        ]
        lines += [f"| `{e.column}` | {e.data_type} | {_cell(e.description)} |" for e in rows]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [csv_path, md_path]


def read_dictionary(csv_path: Path) -> list[Entry]:
    with csv_path.open(newline="", encoding="utf-8") as handle:
        return [Entry(**row) for row in csv.DictReader(handle)]
