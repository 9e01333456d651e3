"""The static scorecard report: published/report/index.html and one page per neighborhood.

Reads only the published tables (what any reader sees) and writes plain HTML with inline CSS and SVG: no
script, no CDN, no web font, so it opens offline from the file system and can be mailed as a zip.
Suppressed survey cells read "suppressed", never 0; missing figures read "–".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date
from html import escape
from pathlib import Path

import pandas as pd

from pipelines.report.dictionary import read_dictionary
from pipelines.report.programs import EXPLANATION, program_sections
from pipelines.report.svg import CRIME_RAMP, TRUST_RAMP, MapArea, Series, choropleth, line_chart

CITY_COLOR, LOCAL_COLOR, TRUST_COLOR = "#969696", "#d94801", "#2171b5"
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


# --- the data -------------------------------------------------------------------------------------------


def _read(publish_dir: Path, name: str, *dates: str) -> pd.DataFrame | None:
    path = publish_dir / f"{name}.parquet"
    if not path.exists():
        return None
    frame = pd.read_parquet(path)
    for column in dates:
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def _value(value: object) -> float | None:
    return None if is_missing(value) else float(value)


CRIME_COLUMNS: list[Column] = [
    ("incidents", "incidents", count),
    ("violent_incidents", "violent", count),
    ("property_incidents", "property", count),
    ("incidents_per_1k", "incidents per 1k", rate),
    ("violent_per_1k", "violent per 1k", rate),
    ("violent_per_1k_12m", "violent per 1k, 12 months", rate),
]
ENGAGEMENT_COLUMNS: list[Column] = [
    ("events_held", "events", count),
    ("attendances", "attendances", count),
    ("unique_participants", "participants", count),
    ("new_participants", "new", count),
    ("returning_participants", "returning", count),
    ("youth_participants", "youth", count),
    ("participants_per_1k", "participants per 1k", rate),
]
TRUST_COLUMNS: list[Column] = [
    ("respondents", "respondents", count),
    ("trust_index", "trust index", index),
    ("trust_index_ci_low", "trust 95% low", index),
    ("trust_index_ci_high", "trust 95% high", index),
    ("safety_index", "safety index", index),
    ("safety_index_ci_low", "safety 95% low", index),
    ("safety_index_ci_high", "safety 95% high", index),
    ("pct_trust", "% trusting", index),
    ("pct_trust_ci_low", "% trusting low", index),
    ("pct_trust_ci_high", "% trusting high", index),
]
# respondents is published even for a suppressed row; every other survey figure is suppressed.
TRUST_SUPPRESSED = frozenset(c for c, _, _ in TRUST_COLUMNS) - {"respondents"}


def city_violent_rate(crime: pd.DataFrame) -> pd.Series:
    """City-wide violent incidents per 1,000 residents by month (neighborhoods with a known population)."""
    known = crime[crime["population"].notna() & (crime["population"] > 0)]
    totals = known.groupby("month")[["violent_incidents", "population"]].sum()
    return totals["violent_incidents"] / totals["population"] * 1000


def city_violent_12m(crime: pd.DataFrame, last_year: list[date]) -> float | None:
    """City-wide violent incidents of the last 12 months per 1,000 residents (latest population)."""
    known = crime[crime["population"].notna() & (crime["population"] > 0)]
    population = known[known["month"] == max(last_year, default=None)]["population"].sum()
    violent = known[known["month"].isin(last_year)]["violent_incidents"].sum()
    return violent / population * 1000 if population else None


def city_trust(trust: pd.DataFrame) -> pd.Series:
    """Respondent-weighted mean of the published (not suppressed) neighborhood trust indices by quarter."""
    shown = trust[~trust["suppressed"].astype(bool) & trust["trust_index"].notna()]
    weighted = shown.assign(weighted=shown["trust_index"] * shown["respondents"])
    sums = weighted.groupby("quarter")[["weighted", "respondents"]].sum()
    return sums["weighted"] / sums["respondents"]


def _series(values: pd.Series) -> list[tuple[date, float | None]]:
    return [(period, _value(value)) for period, value in values.items()]


# --- pages ----------------------------------------------------------------------------------------------


def build_report(publish_dir: Path, out_dir: Path) -> list[Path]:
    """Write the report into out_dir (index.html, neighborhoods/<id>.html, programs.html, dictionary.html)."""
    neighborhoods = _read(publish_dir, "neighborhoods")
    crime = _read(publish_dir, "crime_monthly", "month")
    engagement = _read(publish_dir, "engagement_monthly", "month")
    trust = _read(publish_dir, "trust_quarterly", "quarter")
    if neighborhoods is None or crime is None or engagement is None or trust is None:
        raise FileNotFoundError(f"{publish_dir}: the published tables are missing; publish first")
    programs = _read(publish_dir, "program_evaluation")
    event_study = _read(publish_dir, "program_event_study")
    dictionary_csv = publish_dir / "docs" / "data_dictionary.csv"
    has_programs = programs is not None
    neighborhoods = neighborhoods.sort_values("name")
    (out_dir / "neighborhoods").mkdir(parents=True, exist_ok=True)

    months = sorted(crime["month"].unique())
    quarters = sorted(trust["quarter"].unique())
    latest_month = months[-1] if months else None
    # The latest quarter of a survey wave: quarters after the last wave have no respondents anywhere.
    answered = trust.groupby("quarter")["respondents"].sum()
    latest_quarter = max(answered[answered > 0].index, default=quarters[-1] if quarters else None)
    last_year = months[-12:]
    # Each subject covers its own months (crime may start later than the calendars, or be missing).
    engagement_last_year = sorted(engagement["month"].unique())[-12:]
    covered = sorted({*months, *engagement["month"].unique()})
    period = (
        f"Data from {month_label(covered[0])} to {month_label(covered[-1])}" if covered else "No data yet"
    )
    city_rate = city_violent_rate(crime)
    city_trust_index = city_trust(trust)
    written = []

    def write(relative: str, html: str) -> None:
        path = out_dir / relative
        path.write_text(html, encoding="utf-8")
        written.append(path)

    # One page per neighborhood.
    summary_rows = []
    for nbhd in neighborhoods.itertuples(index=False):
        own_crime = crime[crime["neighborhood_id"] == nbhd.neighborhood_id].sort_values("month")
        own_engagement = engagement[engagement["neighborhood_id"] == nbhd.neighborhood_id].sort_values(
            "month"
        )
        own_trust = trust[trust["neighborhood_id"] == nbhd.neighborhood_id].sort_values("quarter")
        latest_crime = own_crime[own_crime["month"] == latest_month]
        violent_12m = _value(latest_crime["violent_per_1k_12m"].iloc[0]) if len(latest_crime) else None
        latest_trust = own_trust[own_trust["quarter"] == latest_quarter]
        trust_suppressed = bool(latest_trust["suppressed"].iloc[0]) if len(latest_trust) else False
        trust_now = None if trust_suppressed or not len(latest_trust) else latest_trust.iloc[0]
        participants_12m = int(
            own_engagement[own_engagement["month"].isin(engagement_last_year)]["attendances"].sum()
        )
        summary_rows.append((nbhd, violent_12m, trust_now, trust_suppressed, participants_12m))

        if trust_suppressed:
            trust_card = card(
                f"Trust index, {quarter_label(latest_quarter)}",
                SUPPRESSED,
                f"{count(latest_trust['respondents'].iloc[0])} respondents: too few to publish",
                "trust_index",
            )
        elif trust_now is not None:
            trust_card = card(
                f"Trust index, {quarter_label(latest_quarter)}",
                index(trust_now["trust_index"]),
                f"95% interval {index(trust_now['trust_index_ci_low'])}–{index(trust_now['trust_index_ci_high'])}, "
                f"{count(trust_now['respondents'])} respondents",
                "trust_index",
            )
        else:
            trust_card = card("Trust index", MISSING, "no survey", "trust_index")
        cards = (
            '<div class="cards">'
            + card("Population", count(nbhd.population), f"{index(nbhd.area_sq_km)} km²", "population")
            + card(
                "Violent crime, last 12 months",
                rate(violent_12m),
                f"per 1,000 residents, to {month_label(latest_month)}" if latest_month else "",
                "violent_per_1k_12m",
            )
            + trust_card
            + card(
                "Attendances, last 12 months",
                count(participants_12m),
                "person-event pairs at community events",
                "attendances_12m",
            )
            + "</div>"
        )
        crime_chart = line_chart(
            "Violent crime per 1,000 residents, by month",
            [
                Series(nbhd.name, _series(own_crime.set_index("month")["violent_per_1k"]), LOCAL_COLOR),
                Series("whole city", _series(city_rate), CITY_COLOR),
            ],
            "incidents per 1,000 residents",
        )
        engagement_chart = line_chart(
            "Participants in community events, by month",
            [
                Series(
                    nbhd.name, _series(own_engagement.set_index("month")["unique_participants"]), LOCAL_COLOR
                )
            ],
            "distinct persons",
        )
        shown = own_trust.set_index("quarter")
        trust_points = [
            (q, None if row["suppressed"] else _value(row["trust_index"])) for q, row in shown.iterrows()
        ]
        intervals = [
            (q, float(row["trust_index_ci_low"]), float(row["trust_index_ci_high"]))
            for q, row in shown.iterrows()
            if not row["suppressed"]
            and not is_missing(row["trust_index_ci_low"])
            and not is_missing(row["trust_index_ci_high"])
        ]
        trust_chart = line_chart(
            "Trust index by quarter, with its 95% interval",
            [
                Series(nbhd.name, trust_points, TRUST_COLOR, intervals),
                Series("whole city", _series(city_trust_index), CITY_COLOR),
            ],
            "0–100; gaps are suppressed quarters",
            y_from_zero=False,
        )
        recent_crime = own_crime[own_crime["month"].isin(last_year)]
        recent_engagement = own_engagement[own_engagement["month"].isin(engagement_last_year)]
        body = (
            cards
            + "<h2>Crime</h2>"
            + '<p class="note">Incidents counted once each, in the month they occurred; rates per 1,000 residents.</p>'
            + crime_chart
            + table("crime", recent_crime, "month", month_label, CRIME_COLUMNS)
            + "<h2>Engagement</h2>"
            + '<p class="note">Events held in the neighborhood and the people who attended them.</p>'
            + engagement_chart
            + table("engagement", recent_engagement, "month", month_label, ENGAGEMENT_COLUMNS)
            + "<h2>Trust and safety (resident survey)</h2>"
            + '<p class="note">Indices run from 0 (all strongly disagree) to 100 (all strongly agree); '
            "low/high are 95% intervals. Quarters with too few respondents are suppressed.</p>"
            + trust_chart
            + table(
                "trust",
                own_trust,
                "quarter",
                quarter_label,
                TRUST_COLUMNS,
                suppressed=own_trust["suppressed"].astype(bool),
                suppress_columns=TRUST_SUPPRESSED,
            )
        )
        write(
            f"neighborhoods/{page_name(nbhd.neighborhood_id)}",
            page(nbhd.name, f"Neighborhood {nbhd.neighborhood_id} · {period}", body, "../", has_programs),
        )

    # The city overview.
    map_crime = choropleth(
        [
            MapArea(f"neighborhoods/{page_name(n.neighborhood_id)}", n.name, n.geometry_geojson, v, rate(v))
            for n, v, _, _, _ in summary_rows
        ],
        CRIME_RAMP,
        f"Violent crime, 12 months to {month_label(latest_month)}" if latest_month else "Violent crime",
        "per 1,000 residents",
    )
    map_trust = choropleth(
        [
            MapArea(
                f"neighborhoods/{page_name(n.neighborhood_id)}",
                n.name,
                n.geometry_geojson,
                None if t is None else _value(t["trust_index"]),
                SUPPRESSED if hidden else (MISSING if t is None else index(t["trust_index"])),
            )
            for n, _, t, hidden, _ in summary_rows
        ],
        TRUST_RAMP,
        f"Trust index, {quarter_label(latest_quarter)}" if latest_quarter else "Trust index",
        "0–100",
    )
    city_attendances = engagement.groupby("month")["attendances"].sum()
    known_population = int(neighborhoods["population"].fillna(0).sum())
    city_cards = (
        '<div class="cards">'
        + card("Neighborhoods", count(len(neighborhoods)), f"{count(known_population)} residents")
        + card(
            "Violent crime, last 12 months",
            rate(city_violent_12m(crime, last_year)),
            "incidents per 1,000 residents, whole city",
        )
        + card(
            f"Trust index, {quarter_label(latest_quarter)}" if latest_quarter else "Trust index",
            index(city_trust_index.get(latest_quarter)),
            "respondent-weighted, suppressed neighborhoods left out",
        )
        + card(
            "Attendances, last 12 months",
            count(city_attendances[city_attendances.index.isin(engagement_last_year)].sum()),
            "person-event pairs at community events",
        )
        + "</div>"
    )
    overview_rows = "".join(
        f'<tr data-key="{escape(n.neighborhood_id)}"><td><a href="neighborhoods/{page_name(n.neighborhood_id)}">'
        f"{escape(n.name)}</a></td><td>{count(n.population)}</td>"
        f'<td data-column="violent_per_1k_12m">{rate(v)}</td>'
        + (
            f'<td data-column="trust_index" class="suppressed">{SUPPRESSED}</td>'
            if hidden
            else f'<td data-column="trust_index">{index(None if t is None else t["trust_index"])}</td>'
        )
        + f"<td>{count(p)}</td></tr>"
        for n, v, t, hidden, p in summary_rows
    )
    overview_table = (
        '<div class="scroll"><table id="neighborhoods"><thead><tr><th>neighborhood</th><th>population</th>'
        "<th>violent per 1k, 12 months</th>"
        f"<th>trust index, {quarter_label(latest_quarter) if latest_quarter else ''}</th>"
        f"<th>attendances, 12 months</th></tr></thead><tbody>{overview_rows}</tbody></table></div>"
    )
    body = (
        city_cards
        + "<h2>Neighborhoods at a glance</h2>"
        + '<p class="note">Click a neighborhood on either map, or in the table below, for its page. '
        "Hatched areas have no published figure (suppressed survey cell or no data).</p>"
        + f'<div class="maps">{map_crime}{map_trust}</div>'
        + "<h2>Trends, whole city</h2>"
        + line_chart(
            "Violent crime per 1,000 residents, by month",
            [Series("", _series(city_rate), LOCAL_COLOR)],
            "incidents per 1,000 residents",
        )
        + line_chart(
            "Attendances at community events, by month",
            [Series("", _series(city_attendances), "#41ab5d")],
            "person-event pairs",
        )
        + line_chart(
            "Trust index by quarter",
            [Series("", _series(city_trust_index), TRUST_COLOR)],
            "0–100, respondent-weighted mean of published neighborhoods",
            y_from_zero=False,
        )
        + "<h2>All neighborhoods</h2>"
        + overview_table
    )
    write("index.html", page("Neighborhood scorecard", period, body, "", has_programs))

    if programs is not None:
        columns: list[Column] = [
            (c, c.replace("_", " "), count if pd.api.types.is_integer_dtype(programs[c]) else rate)
            for c in programs.columns
            if c not in ("program_id",) and pd.api.types.is_numeric_dtype(programs[c])
        ]
        labels = [
            c
            for c in programs.columns
            if c != "program_id" and not pd.api.types.is_numeric_dtype(programs[c])
        ]
        shown = programs.assign(
            program=[
                " · ".join(str(v) for v in row if not is_missing(v))
                for row in programs[["program_id", *labels]].itertuples(index=False)
            ]
        )
        names = dict(zip(neighborhoods["neighborhood_id"], neighborhoods["name"], strict=True))
        body = (
            EXPLANATION
            + program_sections(programs, event_study, names)
            + "<h2>All estimates</h2>"
            + '<p class="note">Estimates with fewer than 6 months of data on either side are left out (“–”).</p>'
            + table("programs", shown, "program", str, columns)
        )
        write("programs.html", page("Program evaluation", period, body, "", has_programs))

    entries = read_dictionary(dictionary_csv) if dictionary_csv.exists() else []
    sections = []
    for name in dict.fromkeys(e.table for e in entries):
        rows = [e for e in entries if e.table == name]
        sections.append(
            f'<h2 id="{escape(name)}">{escape(name)}</h2><p class="note">{escape(rows[0].table_description)}</p>'
            '<div class="scroll"><table class="dictionary"><thead><tr><th>column</th><th>type</th>'
            '<th style="text-align:left">meaning</th></tr></thead><tbody>'
            + "".join(
                f"<tr><td><code>{escape(e.column)}</code></td><td>{escape(e.data_type)}</td>"
                f'<td style="text-align:left;white-space:normal">{escape(e.description)}</td></tr>'
                for e in rows
            )
            + "</tbody></table></div>"
        )
    body = (
        '<p class="note">Every published column, generated from the dbt project (also as '
        '<a href="../docs/data_dictionary.md">Markdown</a> and <a href="../docs/data_dictionary.csv">CSV</a>).</p>'
        + ("".join(sections) or "<p>The dictionary is generated with the dbt docs (published/docs/).</p>")
    )
    write("dictionary.html", page("What the figures mean", "The data dictionary", body, "", has_programs))
    return written
