"""The published report, docs and dictionary, from the hand-sized city's shared whole run (tests/conftest.py:
small_city; cells of 10 respondents, so suppressed quarters sit next to published ones).

The browser test drives Debian's chromium (installed by `make test`'s set-up) through Playwright: it opens
the report from the file system with every network request refused, follows a link to a neighborhood page
and checks each figure there against the published Parquet table, then saves screenshots.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.fixtures.small_city import NEIGHBORHOODS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def published(small_city) -> Path:
    return small_city.home / "published" / "current"


def table(published: Path, name: str, period: str | None = None) -> pd.DataFrame:
    frame = pd.read_parquet(published / f"{name}.parquet")
    if period:
        frame[period] = pd.to_datetime(frame[period])
    return frame


# How the report is meant to show each kind of figure (README "Evaluators").
def shown_count(value) -> str:
    return "–" if pd.isna(value) else f"{int(value):,}"


def shown_rate(value) -> str:
    return "–" if pd.isna(value) else f"{value:,.2f}"


def shown_index(value) -> str:
    return "–" if pd.isna(value) else f"{value:.1f}"


def test_report_and_docs_are_self_contained(published):
    pages = sorted((published / "report").rglob("*.html"))
    names = {p.relative_to(published / "report").as_posix() for p in pages}
    assert {"index.html", "dictionary.html"} <= names
    assert {f"neighborhoods/{nbhd}.html" for nbhd in NEIGHBORHOODS} <= names
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html, f"{page}: no scripts"
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), f"{page}: links off the machine"
        assert ("<svg" in html) == (page.name != "dictionary.html"), (
            f"{page}: charts on every page but the dictionary"
        )
    index = (published / "report" / "index.html").read_text(encoding="utf-8")
    assert index.count("<path d=") == 2 * len(NEIGHBORHOODS), "both maps draw every neighborhood"
    docs = published / "docs" / "index.html"
    assert docs.stat().st_size > 100_000 and "crime_monthly" in docs.read_text(encoding="utf-8")
    assert not re.search(r"""<script[^>]+src=["']?https?://""", docs.read_text(encoding="utf-8"))


def test_dictionary_describes_every_published_column(published):
    dictionary = pd.read_csv(published / "docs" / "data_dictionary.csv")
    described = dictionary.set_index(["table", "column"])["description"]
    for parquet in sorted(published.glob("*.parquet")):
        for column in pd.read_parquet(parquet).columns:
            text = described.get((parquet.stem, column))
            assert isinstance(text, str) and len(text) > 10 and text != "(no description)", (
                f"{parquet.stem}.{column}: {text!r}"
            )
    markdown = (published / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    assert "## trust_quarterly" in markdown and "`violent_per_1k_12m`" in markdown


def test_a_neighborhood_page_shows_the_published_figures(published, tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    assert CHROMIUM.exists(), "Debian's chromium is installed by `make test` (apt-get install chromium)"
    neighborhoods = table(published, "neighborhoods")
    crime = table(published, "crime_monthly", "month")
    engagement = table(published, "engagement_monthly", "month")
    trust = table(published, "trust_quarterly", "quarter")
    # The neighborhood with both suppressed and published survey quarters shows both cases.
    mixed = trust.groupby("neighborhood_id")["suppressed"].agg(["any", "all"])
    target = mixed[mixed["any"] & ~mixed["all"]].index[0]
    name = neighborhoods.set_index("neighborhood_id").loc[target, "name"]

    refused = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})

        def only_files(route):
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                refused.append(route.request.url)
                route.abort()

        page.route("**/*", only_files)
        page.goto((published / "report" / "index.html").as_uri())
        assert page.title() == "Neighborhood scorecard"
        page.screenshot(path=tmp_path / "index.png", full_page=True)
        page.locator("table#neighborhoods").get_by_role("link", name=name).click()
        page.wait_for_load_state()
        assert page.url.endswith(f"/neighborhoods/{target}.html")
        assert page.locator("header h1").inner_text() == name
        page.screenshot(path=tmp_path / "neighborhood.png", full_page=True)

        def cells(table_id: str) -> dict[str, dict[str, str]]:
            rows = page.locator(f"table#{table_id} tbody tr")
            return {
                rows.nth(i).get_attribute("data-key"): {
                    cell.get_attribute("data-column"): cell.inner_text()
                    for cell in rows.nth(i).locator("td[data-column]").all()
                }
                for i in range(rows.count())
            }

        shown_crime, shown_engagement, shown_trust = cells("crime"), cells("engagement"), cells("trust")
        card = page.locator('[data-field="violent_per_1k_12m"]').inner_text()
        trust_card = page.locator('[data-field="trust_index"]').inner_text()
        browser.close()

    assert refused == [], f"the report asked the network for {refused}"
    assert (tmp_path / "index.png").stat().st_size > 10_000
    assert (tmp_path / "neighborhood.png").stat().st_size > 10_000

    own_crime = crime[crime["neighborhood_id"] == target].sort_values("month").tail(12)
    assert list(shown_crime) == [m.strftime("%Y-%m-%d") for m in own_crime["month"]]
    for row in own_crime.itertuples():
        shown = shown_crime[row.month.strftime("%Y-%m-%d")]
        assert shown["incidents"] == shown_count(row.incidents)
        assert shown["violent_incidents"] == shown_count(row.violent_incidents)
        assert shown["property_incidents"] == shown_count(row.property_incidents)
        assert shown["violent_per_1k"] == shown_rate(row.violent_per_1k)
        assert shown["violent_per_1k_12m"] == shown_rate(row.violent_per_1k_12m)
    assert card == shown_rate(own_crime["violent_per_1k_12m"].iloc[-1])

    own_engagement = engagement[engagement["neighborhood_id"] == target].sort_values("month").tail(12)
    for row in own_engagement.itertuples():
        shown = shown_engagement[row.month.strftime("%Y-%m-%d")]
        assert shown["unique_participants"] == shown_count(row.unique_participants)
        assert shown["attendances"] == shown_count(row.attendances)
        assert shown["participants_per_1k"] == shown_rate(row.participants_per_1k)

    own_trust = trust[trust["neighborhood_id"] == target].sort_values("quarter")
    assert len(shown_trust) == len(own_trust)
    for row in own_trust.itertuples():
        shown = shown_trust[row.quarter.strftime("%Y-%m-%d")]
        assert shown["respondents"] == shown_count(row.respondents)
        if row.suppressed:
            assert shown["trust_index"] == shown["trust_index_ci_low"] == shown["pct_trust"] == "suppressed"
        else:
            assert shown["trust_index"] == shown_index(row.trust_index)
            assert shown["trust_index_ci_low"] == shown_index(row.trust_index_ci_low)
            assert shown["trust_index_ci_high"] == shown_index(row.trust_index_ci_high)
            assert shown["pct_trust"] == shown_index(row.pct_trust)
            assert not math.isnan(row.trust_index)
    answered = trust.groupby("quarter")["respondents"].sum()
    latest = own_trust.set_index("quarter").loc[answered[answered > 0].index.max()]  # the last survey wave
    assert trust_card == ("suppressed" if latest.suppressed else shown_index(latest.trust_index))


# How the program page shows an estimate: signed, in the metric's unit (index points: one decimal).
def shown_estimate(value, metric: str) -> str:
    return "–" if pd.isna(value) else f"{value:+,.{1 if metric == 'trust_index' else 2}f}"


def test_the_program_page_shows_the_published_estimates(published, tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    assert CHROMIUM.exists(), "Debian's chromium is installed by `make test` (apt-get install chromium)"
    evaluation = table(published, "program_evaluation", "start_month")
    event_study = table(published, "program_event_study")
    names = table(published, "neighborhoods").set_index("neighborhood_id")["name"]
    assert len(evaluation) and evaluation["did"].notna().any(), "the fixture's program has estimates"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto((published / "report" / "index.html").as_uri())
        page.get_by_role("link", name="Program evaluation").first.click()
        page.wait_for_load_state()
        assert page.url.endswith("/programs.html") and page.title() == "Program evaluation"
        page.screenshot(path=tmp_path / "programs.png", full_page=True)
        shown = {}
        for row in evaluation.itertuples():
            section = page.locator(f'section[data-program="{row.program_id}"]')
            assert row.program_name in section.locator("h2").inner_text()
            assert section.locator('[data-field="neighborhood"]').inner_text() == names[row.neighborhood_id]
            assert section.locator('[data-field="start_month"]').inner_text() == row.start_month.strftime(
                "%B %Y"
            )
            fields = section.locator(f'[data-metric="{row.metric}"][data-field]')
            shown[(row.program_id, row.metric)] = {
                "fields": {
                    fields.nth(i).get_attribute("data-field"): fields.nth(i).inner_text()
                    for i in range(fields.count())
                },
                "text": section.inner_text(),
                "points": [
                    (int(c.get_attribute("data-relative-period")), float(c.get_attribute("data-gap-vs-pre")))
                    for c in section.locator(f'svg.event-study[data-metric="{row.metric}"] circle').all()
                ],
            }
        browser.close()
    assert (tmp_path / "programs.png").stat().st_size > 10_000

    for row in evaluation.itertuples():
        got = shown[(row.program_id, row.metric)]
        if pd.isna(row.did):
            assert got["fields"] == {}
        else:
            assert got["fields"]["did"] == shown_estimate(row.did, row.metric)
            assert got["fields"]["did_p_value"] == f"{row.did_p_value:.3f}"
            assert got["fields"]["placebos"] == str(row.placebos)
            if pd.isna(
                row.did_ci_low
            ):  # the small city has 2 comparison neighborhoods: too few for an interval
                assert "did_ci_low" not in got["fields"]
                assert "Too few placebo neighborhoods" in got["text"]
        own = event_study[
            (event_study["program_id"] == row.program_id) & (event_study["metric"] == row.metric)
        ]
        own = own.dropna(subset=["gap_vs_pre"]).sort_values("relative_period")
        assert got["points"] == list(zip(own["relative_period"], own["gap_vs_pre"], strict=True))
