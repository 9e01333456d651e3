"""The static scorecard report: published/report/index.html and one page per neighborhood.

Reads only the published tables (what any reader sees, pipelines/report/data.py) and writes plain HTML with
inline CSS and SVG: no script, no CDN, no web font, so it opens offline from the file system and can be mailed
as a zip. The headline figures are in figures.py, the HTML pieces and formatting rules in layout.py; this
module lays out each page's sections and writes the pages.
"""

from __future__ import annotations

from datetime import date
from html import escape
from pathlib import Path

import pandas as pd

from pipelines.report.data import Periods, Published, read_published
from pipelines.report.dictionary import Entry
from pipelines.report.figures import City, Neighborhood, city_cards, neighborhood_cards
from pipelines.report.layout import (
    MISSING,
    SUPPRESSED,
    Column,
    count,
    index,
    is_missing,
    month_label,
    number,
    page,
    page_name,
    quarter_label,
    rate,
    table,
)
from pipelines.report.programs import EXPLANATION, program_sections
from pipelines.report.svg import CRIME_RAMP, TRUST_RAMP, MapArea, Series, choropleth, line_chart

CITY_COLOR, LOCAL_COLOR, TRUST_COLOR = "#969696", "#d94801", "#2171b5"

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


def _series(values: pd.Series) -> list[tuple[date, float | None]]:
    return [(period, number(value)) for period, value in values.items()]


# --- a neighborhood's page ------------------------------------------------------------------------------


def neighborhood_body(nbhd: Neighborhood, periods: Periods, city: City) -> str:
    name = nbhd.row.name
    crime_chart = line_chart(
        "Violent crime per 1,000 residents, by month",
        [
            Series(name, _series(nbhd.crime.set_index("month")["violent_per_1k"]), LOCAL_COLOR),
            Series("whole city", _series(city.violent_rate), CITY_COLOR),
        ],
        "incidents per 1,000 residents",
    )
    engagement_chart = line_chart(
        "Participants in community events, by month",
        [Series(name, _series(nbhd.engagement.set_index("month")["unique_participants"]), LOCAL_COLOR)],
        "distinct persons",
    )
    shown = nbhd.trust.set_index("quarter")
    trust_points = [
        (q, None if row["suppressed"] else number(row["trust_index"])) for q, row in shown.iterrows()
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
            Series(name, trust_points, TRUST_COLOR, intervals),
            Series("whole city", _series(city.trust_index), CITY_COLOR),
        ],
        "0–100; gaps are suppressed quarters",
        y_from_zero=False,
    )
    recent_crime = nbhd.crime[nbhd.crime["month"].isin(periods.crime_last_year)]
    recent_engagement = nbhd.engagement[nbhd.engagement["month"].isin(periods.engagement_last_year)]
    return (
        neighborhood_cards(nbhd, periods)
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
            nbhd.trust,
            "quarter",
            quarter_label,
            TRUST_COLUMNS,
            suppressed=nbhd.trust["suppressed"].astype(bool),
            suppress_columns=TRUST_SUPPRESSED,
        )
    )


# --- the city overview ----------------------------------------------------------------------------------


def _trust_shown(nbhd: Neighborhood) -> float | None:
    return None if nbhd.trust_now is None else number(nbhd.trust_now["trust_index"])


def overview_maps(neighborhoods: list[Neighborhood], periods: Periods) -> str:
    latest_month, latest_quarter = periods.latest_month, periods.latest_quarter
    map_crime = choropleth(
        [
            MapArea(
                f"neighborhoods/{page_name(n.row.neighborhood_id)}",
                n.row.name,
                n.row.geometry_geojson,
                n.violent_12m,
                rate(n.violent_12m),
            )
            for n in neighborhoods
        ],
        CRIME_RAMP,
        f"Violent crime, 12 months to {month_label(latest_month)}" if latest_month else "Violent crime",
        "per 1,000 residents",
    )
    map_trust = choropleth(
        [
            MapArea(
                f"neighborhoods/{page_name(n.row.neighborhood_id)}",
                n.row.name,
                n.row.geometry_geojson,
                _trust_shown(n),
                SUPPRESSED
                if n.trust_suppressed
                else (MISSING if n.trust_now is None else index(n.trust_now["trust_index"])),
            )
            for n in neighborhoods
        ],
        TRUST_RAMP,
        f"Trust index, {quarter_label(latest_quarter)}" if latest_quarter else "Trust index",
        "0–100",
    )
    return f'<div class="maps">{map_crime}{map_trust}</div>'


def overview_table(neighborhoods: list[Neighborhood], periods: Periods) -> str:
    rows = "".join(
        f'<tr data-key="{escape(n.row.neighborhood_id)}"><td><a href="neighborhoods/{page_name(n.row.neighborhood_id)}">'
        f"{escape(n.row.name)}</a></td><td>{count(n.row.population)}</td>"
        f'<td data-column="violent_per_1k_12m">{rate(n.violent_12m)}</td>'
        + (
            f'<td data-column="trust_index" class="suppressed">{SUPPRESSED}</td>'
            if n.trust_suppressed
            else f'<td data-column="trust_index">{index(None if n.trust_now is None else n.trust_now["trust_index"])}</td>'
        )
        + f"<td>{count(n.attendances_12m)}</td></tr>"
        for n in neighborhoods
    )
    latest_quarter = periods.latest_quarter
    return (
        '<div class="scroll"><table id="neighborhoods"><thead><tr><th>neighborhood</th><th>population</th>'
        "<th>violent per 1k, 12 months</th>"
        f"<th>trust index, {quarter_label(latest_quarter) if latest_quarter else ''}</th>"
        f"<th>attendances, 12 months</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )


def overview_body(
    published: Published, periods: Periods, city: City, neighborhoods: list[Neighborhood]
) -> str:
    return (
        city_cards(published, periods, city)
        + "<h2>Neighborhoods at a glance</h2>"
        + '<p class="note">Click a neighborhood on either map, or in the table below, for its page. '
        "Hatched areas have no published figure (suppressed survey cell or no data).</p>"
        + overview_maps(neighborhoods, periods)
        + "<h2>Trends, whole city</h2>"
        + line_chart(
            "Violent crime per 1,000 residents, by month",
            [Series("", _series(city.violent_rate), LOCAL_COLOR)],
            "incidents per 1,000 residents",
        )
        + line_chart(
            "Attendances at community events, by month",
            [Series("", _series(city.attendances), "#41ab5d")],
            "person-event pairs",
        )
        + line_chart(
            "Trust index by quarter",
            [Series("", _series(city.trust_index), TRUST_COLOR)],
            "0–100, respondent-weighted mean of published neighborhoods",
            y_from_zero=False,
        )
        + "<h2>All neighborhoods</h2>"
        + overview_table(neighborhoods, periods)
    )


# --- the program evaluation and the dictionary ----------------------------------------------------------


def programs_body(
    programs: pd.DataFrame, event_study: pd.DataFrame | None, neighborhoods: pd.DataFrame
) -> str:
    columns: list[Column] = [
        (c, c.replace("_", " "), count if pd.api.types.is_integer_dtype(programs[c]) else rate)
        for c in programs.columns
        if c not in ("program_id",) and pd.api.types.is_numeric_dtype(programs[c])
    ]
    labels = [
        c for c in programs.columns if c != "program_id" and not pd.api.types.is_numeric_dtype(programs[c])
    ]
    shown = programs.assign(
        program=[
            " · ".join(str(v) for v in row if not is_missing(v))
            for row in programs[["program_id", *labels]].itertuples(index=False)
        ]
    )
    names = dict(zip(neighborhoods["neighborhood_id"], neighborhoods["name"], strict=True))
    return (
        EXPLANATION
        + program_sections(programs, event_study, names)
        + "<h2>All estimates</h2>"
        + '<p class="note">Estimates with fewer than 6 months of data on either side are left out (“–”).</p>'
        + table("programs", shown, "program", str, columns)
    )


def dictionary_body(entries: list[Entry]) -> str:
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
    return (
        '<p class="note">Every published column, generated from the dbt project (also as '
        '<a href="../docs/data_dictionary.md">Markdown</a> and <a href="../docs/data_dictionary.csv">CSV</a>).</p>'
        + ("".join(sections) or "<p>The dictionary is generated with the dbt docs (published/docs/).</p>")
    )


# --- the report -----------------------------------------------------------------------------------------


def report_pages(published: Published) -> dict[str, str]:
    """Every page of the report: its path relative to the report folder -> its HTML."""
    periods = Periods.of(published)
    city = City.of(published)
    has_programs = published.programs is not None
    neighborhoods = [
        Neighborhood.of(row, published, periods) for row in published.neighborhoods.itertuples(index=False)
    ]
    pages = {
        f"neighborhoods/{page_name(n.row.neighborhood_id)}": page(
            n.row.name,
            f"Neighborhood {n.row.neighborhood_id} · {periods.label}",
            neighborhood_body(n, periods, city),
            "../",
            has_programs,
        )
        for n in neighborhoods
    }
    pages["index.html"] = page(
        "Neighborhood scorecard",
        periods.label,
        overview_body(published, periods, city, neighborhoods),
        "",
        has_programs,
    )
    if published.programs is not None:
        pages["programs.html"] = page(
            "Program evaluation",
            periods.label,
            programs_body(published.programs, published.event_study, published.neighborhoods),
            "",
            has_programs,
        )
    pages["dictionary.html"] = page(
        "What the figures mean",
        "The data dictionary",
        dictionary_body(published.dictionary),
        "",
        has_programs,
    )
    return pages


def build_report(publish_dir: Path, out_dir: Path) -> list[Path]:
    """Write the report into out_dir (index.html, neighborhoods/<id>.html, programs.html, dictionary.html)."""
    pages = report_pages(read_published(publish_dir))
    (out_dir / "neighborhoods").mkdir(parents=True, exist_ok=True)
    written = []
    for relative, html in pages.items():
        path = out_dir / relative
        path.write_text(html, encoding="utf-8")
        written.append(path)
    return written
