"""The report's building blocks: the stylesheet, one formatting rule per kind of figure, and the HTML pieces
(page, card, table) every page is made of. Suppressed survey cells read "suppressed", never 0; missing figures
read "–".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date
from html import escape

import pandas as pd

SUPPRESSED = "suppressed"
MISSING = "–"

CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#d9dee3; --accent:#2171b5; --bg:#f7f8fa; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--bg); }
header { background:#102a43; color:#fff; padding:18px 32px; }
header h1 { margin:0; font-size:24px; font-weight:600; }
header p { margin:4px 0 0; color:#bcccdc; }
nav { background:#243b53; padding:8px 32px; }
nav a { color:#d9e2ec; margin-right:20px; text-decoration:none; font-size:14px; }
nav a:hover { color:#fff; text-decoration:underline; }
main { max-width:1100px; margin:0 auto; padding:24px 32px 48px; }
h2 { font-size:19px; margin:32px 0 8px; padding-bottom:4px; border-bottom:2px solid var(--line); }
p.note { color:var(--muted); font-size:13px; margin:4px 0 12px; }
.cards { display:flex; flex-wrap:wrap; gap:14px; margin:8px 0 8px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 16px; min-width:190px; flex:1; }
.card .label { color:var(--muted); font-size:13px; }
.card .value { font-size:26px; font-weight:600; }
.card .detail { color:var(--muted); font-size:12px; }
.maps { display:flex; flex-wrap:wrap; gap:20px; }
.maps figure { flex:1 1 0; min-width:320px; }
figure { margin:8px 0 16px; background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 12px; }
figcaption { font-weight:600; margin-bottom:6px; }
figcaption small { color:var(--muted); font-weight:400; }
svg text { font-size:11px; fill:var(--muted); }
svg .grid { stroke:#e6e9ec; stroke-width:1; }
svg a path:hover { stroke:#000; stroke-width:2; }
.legend { display:flex; flex-wrap:wrap; gap:12px; font-size:12px; color:var(--muted); margin-top:6px; }
.legend i { display:inline-block; width:14px; height:10px; margin-right:4px; border:1px solid #999; vertical-align:middle; }
.legend i.hatch { background:repeating-linear-gradient(45deg,#e4e4e4 0 3px,#aaa 3px 5px); }
table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); font-size:13.5px; }
th, td { padding:5px 9px; border-bottom:1px solid #edf0f2; text-align:right; white-space:nowrap; }
th { background:#f0f3f6; font-weight:600; color:#334e68; }
th:first-child, td:first-child { text-align:left; }
td.suppressed { color:#8a8a8a; font-style:italic; background:#f4f4f4; }
td.missing { color:#9aa5b1; }
tbody tr:hover { background:#f5f9ff; }
.scroll { overflow-x:auto; }
a { color:var(--accent); }
footer { color:var(--muted); font-size:12px; text-align:center; padding:16px; }
"""


# --- formatting: one rule per kind of figure, shared by every page ---------------------------------------


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def number(value: object) -> float | None:
    """A published figure as a float, None when it is missing (what the charts draw)."""
    return None if is_missing(value) else float(value)


def count(value: object) -> str:
    return MISSING if is_missing(value) else f"{int(value):,}"


def rate(value: object) -> str:
    """Rates per 1,000 residents: two decimals (a monthly rate is often below 1)."""
    return MISSING if is_missing(value) else f"{float(value):,.2f}"


def index(value: object) -> str:
    """Indices and percentages on a 0-100 scale: one decimal."""
    return MISSING if is_missing(value) else f"{float(value):.1f}"


def month_label(value: date) -> str:
    return pd.Timestamp(value).strftime("%b %Y")


def quarter_label(value: date) -> str:
    stamp = pd.Timestamp(value)
    return f"{stamp.year} Q{stamp.quarter}"


def page_name(neighborhood_id: str) -> str:
    """A file name for the neighborhood's page that is safe on every file system."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(neighborhood_id)) + ".html"


# --- page pieces ----------------------------------------------------------------------------------------


def page(title: str, subtitle: str, body: str, root: str, has_programs: bool) -> str:
    links = [("index.html", "City overview")]
    if has_programs:
        links.append(("programs.html", "Program evaluation"))
    links += [("dictionary.html", "What the figures mean"), ("../docs/index.html", "dbt docs")]
    nav = "".join(f'<a href="{root}{href}">{escape(text)}</a>' for href, text in links)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header><nav>{nav}</nav>"
        f"<main>{body}</main><footer>Generated by neighborhood-metrics from the published tables. "
        "Suppressed survey cells (too few respondents to publish) are shown as “suppressed”, never as 0; "
        "“–” means no figure (for example no population known).</footer></body></html>\n"
    )


def card(label: str, value: str, detail: str = "", field: str = "") -> str:
    attribute = f' data-field="{escape(field)}"' if field else ""
    return (
        f'<div class="card"><div class="label">{escape(label)}</div>'
        f'<div class="value"{attribute}>{escape(value)}</div><div class="detail">{escape(detail)}</div></div>'
    )


Column = tuple[str, str, Callable[[object], str]]  # (published column, header, formatter)


def table(
    table_id: str,
    rows: pd.DataFrame,
    key: str,
    key_label: Callable[[object], str],
    columns: list[Column],
    suppressed: pd.Series | None = None,
    suppress_columns: frozenset[str] = frozenset(),
) -> str:
    """A table whose cells carry their published column name (data-column), so readers and tests can
    match every figure to the published table. Suppressed rows say so in every suppressed cell."""
    head = f"<th>{escape(key.replace('_', ' '))}</th>" + "".join(
        f"<th>{escape(h)}</th>" for _, h, _ in columns
    )
    body = []
    for position, (_, row) in enumerate(rows.iterrows()):
        hidden = bool(suppressed.iloc[position]) if suppressed is not None else False
        cells = [f"<td>{escape(key_label(row[key]))}</td>"]
        for column, _, formatter in columns:
            if hidden and column in suppress_columns:
                cells.append(f'<td data-column="{column}" class="suppressed">{SUPPRESSED}</td>')
                continue
            text = formatter(row[column])
            css = ' class="missing"' if text == MISSING else ""
            cells.append(f'<td data-column="{column}"{css}>{escape(text)}</td>')
        body.append(f'<tr data-key="{escape(str(row[key]))}">{"".join(cells)}</tr>')
    return (
        f'<div class="scroll"><table id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
