"""trust_quarterly end to end on a fixture city surveyed with Qualtrics (CSV and XLSX), SurveyMonkey and Google
Forms, each with its own source YAML. Every published statistic is recomputed here from the fixture's ground
truth: scipy for the intervals and a direct iterative-proportional-fitting loop for the weights. Suppression is
checked at k − 1 and k respondents, and nothing personal is found outside landing/ (the one run whose inputs have
these tools' layouts; tests/security scans a run of rosters, a Qualtrics wave and a portal's records)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from tests.conftest import run_cli
from tests.pii_scan import find_personal_data, texts

MIN_CELL = 10
NEIGHBORHOODS = {"N01": "Alder Park", "N02": "Birch Flats", "N03": "Cedar Point", "N04": "Dogwood Hill"}
AGES, GENDERS = ["18-34", "35-54", "55+"], ["Female", "Male"]
# Margins per neighborhood (age_group, gender); N03 has none, so it cannot be weighted.
MARGINS = {
    # far from N01's young sample: its raking weights run past [0.2, 5] × mean and are trimmed
    "N01": ({"18-34": 500, "35-54": 1500, "55+": 8000}, {"Female": 5200, "Male": 4800}),
    "N02": ({"18-34": 1500, "35-54": 1500, "55+": 1000}, {"Female": 2000, "Male": 2000}),
    "N04": ({"18-34": 1200, "35-54": 2000, "55+": 1800}, {"Female": 2600, "Male": 2400}),
}
# (column, construct, reverse)
ITEMS = [
    ("T1", "trust", False),
    ("T2", "trust", False),
    ("T3", "trust", False),
    ("T4", "trust", True),
    ("S1", "safety", False),
    ("S2", "safety", False),
    ("S3", "safety", True),
]
TRUST = [c for c, construct, _ in ITEMS if construct == "trust"]
SAFETY = [c for c, construct, _ in ITEMS if construct == "safety"]
LABELS = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Neither agree nor disagree",
    4: "Agree",
    5: "Strongly agree",
}
DONT_KNOW = "dk"
# (neighborhood, first day, respondents): N02 has k − 1 respondents in Q1 and k in Q2; N04 has nobody aged 55+.
PLAN = [
    ("N01", "2024-01-15", 32),
    ("N01", "2024-04-10", 20),
    ("N02", "2024-02-01", MIN_CELL - 1),
    ("N02", "2024-05-01", MIN_CELL),
    ("N03", "2024-02-20", 12),
    ("N04", "2024-03-03", 12),
]
TOOLS = ["qualtrics_csv", "qualtrics_xlsx", "surveymonkey", "forms"]
SOURCE_OF_TOOL = {
    "qualtrics_csv": "trust_qualtrics",
    "qualtrics_xlsx": "trust_qualtrics",
    "surveymonkey": "trust_surveymonkey",
    "forms": "trust_forms",
}


@dataclass
class Respondent:
    tool: str
    response_id: str
    submitted: pd.Timestamp
    neighborhood_id: str
    answer: str  # how they named their neighborhood
    age: str
    gender: str
    codes: list  # per item: 1..5, DONT_KNOW or None (skipped)
    first: str
    last: str
    email: str
    phone: str
    ip: str
    finished: bool = True
    extra: dict = field(default_factory=dict)


def _people(rng: np.random.Generator) -> list[Respondent]:
    firsts = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances"]
    lasts = ["Byron", "Murray", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Hamilton"]
    people, number = [], 0
    for nbhd, day, count in PLAN:
        ages = AGES[:2] if nbhd == "N04" else AGES
        for position in range(count):
            number += 1
            if position < 6:  # every margin category is met in every cell
                age, gender = ages[position % len(ages)], GENDERS[position % 2]
            else:  # a skewed rest, so the weights differ from 1
                age = str(rng.choice(ages, p=[0.6, 0.4] if len(ages) == 2 else [0.55, 0.3, 0.15]))
                gender = "Female" if rng.random() < 0.7 else "Male"
                if number % 9 == 0:
                    age = "Prefer not to say"  # missing: kept at the mean weight
                if number % 13 == 0:
                    gender = "Non-binary"  # not a margin category: kept at the mean weight
            codes = [int(c) for c in np.clip(np.round(rng.normal(3.4, 1.1, len(ITEMS))), 1, 5)]
            for i in range(len(ITEMS)):
                u = rng.random()
                codes[i] = DONT_KNOW if u < 0.07 else None if u < 0.12 else codes[i]
            if number % 10 == 0:
                codes[0:4] = [4, None, DONT_KNOW, None]  # one trust item of four: below the half-items rule
            if number % 12 == 0:
                codes[0:4] = [5, 2, None, None]  # exactly half: kept
            if number % 15 == 0:
                codes[4:7] = [None, DONT_KNOW, 3]  # one safety item of three: below the half-items rule
            first, last = firsts[number % len(firsts)], lasts[number % len(lasts)]
            name = NEIGHBORHOODS[nbhd]
            answer = [name, name.upper(), f"  {name.lower()} ", nbhd][number % 4]
            people.append(
                Respondent(
                    tool=TOOLS[number % 4],
                    response_id=f"R_{number:05d}",
                    submitted=pd.Timestamp(day) + pd.Timedelta(hours=number),
                    neighborhood_id=nbhd,
                    answer=answer,
                    age=age,
                    gender=gender,
                    codes=codes,
                    first=first,
                    last=last,
                    email=f"{first.lower()}.{last.lower()}{number}@example.org",
                    phone=f"312555{number:04d}",
                    ip=f"203.0.113.{number % 250}",
                )
            )
    return people


def _write(path: Path, rows: list[list[str]], newline: str = "\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _qualtrics_rows(people: list[Respondent]) -> list[list[str]]:
    header = [
        "StartDate",
        "EndDate",
        "Status",
        "IPAddress",
        "Progress",
        "Finished",
        "RecordedDate",
        "ResponseId",
    ]
    header += [
        "RecipientLastName",
        "RecipientFirstName",
        "RecipientEmail",
        "LocationLatitude",
        "LocationLongitude",
    ]
    header += ["Q_NBHD", "Q_AGE", "Q_GENDER", *[c for c, _, _ in ITEMS], "Q_COMMENT"]
    texts_row = [h.replace("_", " ") for h in header]
    import_row = [json.dumps({"ImportId": f"QID_{h}_TEXT" if h == "Q_COMMENT" else h}) for h in header]
    rows = [header, texts_row, import_row]
    for p in people:
        stamp = p.submitted.strftime("%Y-%m-%d %H:%M:%S")
        codes = ["6" if c == DONT_KNOW else "" if c is None else str(c) for c in p.codes]
        rows.append(
            [stamp, stamp, "0", p.ip, "100" if p.finished else "40", "1" if p.finished else "0", stamp]
            + [p.response_id, p.last, p.first, p.email, "41.873318", "-87.662513"]
            + [p.extra.get("answer", p.answer), p.age, p.gender, *p.extra.get("codes", codes)]
            + [f"Call {p.first} {p.last} at {p.phone}"]
        )
    return rows


def _label(code) -> str:
    return "Don't know" if code == DONT_KNOW else "" if code is None else LABELS[code]


def build(home: Path) -> pd.DataFrame:
    """Landing files and source YAMLs under `home`; returns the truth: one row per counted respondent."""
    rng = np.random.default_rng(11)
    landing, sources = home / "landing", home / "sources"
    sources.mkdir(parents=True)
    people = _people(rng)
    by_tool = {tool: [p for p in people if p.tool == tool] for tool in TOOLS}

    features = [
        {
            "type": "Feature",
            "properties": {"id": nbhd, "name": name},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [-87.7 + k / 10, 41.8],
                        [-87.65 + k / 10, 41.8],
                        [-87.65 + k / 10, 41.85],
                        [-87.7 + k / 10, 41.8],
                    ]
                ],
            },
        }
        for k, (nbhd, name) in enumerate(NEIGHBORHOODS.items())
    ]
    (landing / "trust_neighborhoods").mkdir(parents=True)
    (landing / "trust_neighborhoods" / "areas.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )
    _write(
        landing / "trust_population" / "population.csv",
        [["neighborhood_id", "population"]] + [[n, "10000"] for n in NEIGHBORHOODS],
    )
    margin_rows = [["neighborhood_id", "dimension", "category", "population"]]
    for nbhd, (ages, genders) in MARGINS.items():
        margin_rows += [[nbhd, "age_group", c, str(v)] for c, v in ages.items()]
        margin_rows += [[nbhd, "gender", c, str(v)] for c, v in genders.items()]
    _write(landing / "trust_population" / "margins.csv", margin_rows)

    # Qualtrics, CSV: plus an incomplete response, an unknown neighborhood and an out-of-scale answer.
    bad = [
        Respondent(
            "qualtrics_csv",
            "R_incomplete",
            pd.Timestamp("2024-01-20"),
            "N01",
            "Alder Park",
            "55+",
            "Male",
            [5] * 7,
            "Ivy",
            "Quarantine",
            "ivy.q@example.org",
            "3125550999",
            "198.51.100.1",
            finished=False,
        ),
        Respondent(
            "qualtrics_csv",
            "R_atlantis",
            pd.Timestamp("2024-01-20"),
            "N01",
            "Atlantis",
            "55+",
            "Male",
            [5] * 7,
            "Ivy",
            "Atlantis",
            "ivy.a@example.org",
            "3125550998",
            "198.51.100.2",
        ),
        Respondent(
            "qualtrics_csv",
            "R_nine",
            pd.Timestamp("2024-01-20"),
            "N01",
            "Alder Park",
            "55+",
            "Male",
            [9] * 7,
            "Ivy",
            "Nine",
            "ivy.n@example.org",
            "3125550997",
            "198.51.100.3",
        ),
    ]
    # A response of the CSV re-submitted later in the XLSX wave, with other answers and age: the later one counts.
    resubmitted = by_tool["qualtrics_csv"][0]
    later = Respondent(
        **{
            **resubmitted.__dict__,
            "tool": "qualtrics_xlsx",
            "submitted": resubmitted.submitted + pd.Timedelta(days=2),
            "age": "55+",
            "codes": [1, 1, 2, 2, 5, 5, 1],
        }
    )
    _write(landing / "trust_qualtrics" / "wave_2024.csv", _qualtrics_rows(by_tool["qualtrics_csv"] + bad))
    xlsx = pd.DataFrame(_qualtrics_rows(by_tool["qualtrics_xlsx"] + [later]))
    xlsx.to_excel(landing / "trust_qualtrics" / "wave_2024_late.xlsx", header=False, index=False)

    # SurveyMonkey: 2 header rows, text labels, CRLF; ZIP answers through the crosswalk; a duplicate id.
    meta = [
        "Respondent ID",
        "Collector ID",
        "Start Date",
        "End Date",
        "IP Address",
        "Email Address",
        "First Name",
        "Last Name",
        "Custom Data 1",
    ]
    questions = ["Which neighborhood do you live in?", "What is your age?", "What is your gender?"]
    questions += [f"Statement {c}" for c, _, _ in ITEMS] + ["Anything else?"]
    sub = [""] * len(meta) + ["Response"] * (len(questions) - 1) + ["Open-Ended Response"]
    sm = by_tool["surveymonkey"]
    sm[1].answer = f"6060{sm[1].neighborhood_id[-1]}"  # a ZIP, through the crosswalk
    dup = Respondent(
        **{**sm[2].__dict__, "submitted": sm[2].submitted - pd.Timedelta(days=1), "codes": [5] * 7}
    )
    rows = [meta + questions, sub]
    for p in [*sm, dup]:
        stamp = p.submitted.strftime("%m/%d/%y %H:%M")
        rows.append(
            [
                p.response_id.replace("R_", "11400"),
                "4471",
                stamp,
                stamp,
                p.ip,
                p.email,
                p.first,
                p.last,
                p.phone,
            ]
            + [p.answer, p.age, p.gender, *[_label(c) for c in p.codes], f"I am {p.first} {p.last}"]
        )
    _write(landing / "trust_surveymonkey" / "wave.csv", rows, newline="\r\n")
    (sources / "zip_crosswalk.csv").write_text(
        "answer,neighborhood_id\n" + "".join(f"6060{n[-1]},{n}\n" for n in NEIGHBORHOODS)
    )

    # Google Forms: stray spaces in headers, a line break inside a quoted answer, the email as a hashed id.
    forms = by_tool["forms"]
    header = [
        "Timestamp",
        "Email Address",
        "  Which neighborhood do you live in?  ",
        " What is your age? ",
        "What is your gender?  ",
    ]
    header += [f" Statement {c} " for c, _, _ in ITEMS] + ["Anything else?"]
    rows = [header]
    again = Respondent(
        **{**forms[3].__dict__, "submitted": forms[3].submitted - pd.Timedelta(hours=1), "codes": [1] * 7}
    )
    for p in [again, *forms]:
        comment = f"Thanks!\nRing {p.first} {p.last} on {p.phone}, or write to {p.email}"
        rows.append(
            [p.submitted.strftime("%-m/%-d/%Y %H:%M:%S"), p.email.upper() if p is again else p.email]
            + [p.answer, p.age, p.gender, *[_label(c) for c in p.codes], comment]
        )
    _write(landing / "trust_forms" / "responses.csv", rows)

    items = [{"column": c, "construct": k} | ({"reverse": True} if r else {}) for c, k, r in ITEMS]
    statements = [item | {"column": f"Statement {item['column']}"} for item in items]
    questions = {"neighborhood": "Which neighborhood do you live in?", "age_group": "What is your age?"}
    questions["gender"] = "What is your gender?"
    definitions = {
        "trust_neighborhoods": {"kind": "geography", "id_property": "id", "name_property": "name"},
        "trust_population": {"kind": "population"},
        "trust_qualtrics": {  # export_format left to detection: CSV and XLSX waves in one folder
            "kind": "survey",
            "timestamp_format": "%Y-%m-%d %H:%M:%S",
            "columns": {"response_id": "ResponseId", "submitted_at": "RecordedDate", "finished": "Finished"}
            | {"neighborhood": "Q_NBHD", "age_group": "Q_AGE", "gender": "Q_GENDER"},
            "scale": {str(k): k for k in range(1, 6)},
            "missing": ["", "6", "Prefer not to say"],
            "items": items,
        },
        "trust_surveymonkey": {
            "kind": "survey",
            "export_format": "surveymonkey",
            "timestamp_format": "%m/%d/%y %H:%M",
            "columns": {"response_id": "Respondent ID", "submitted_at": "End Date"} | questions,
            "neighborhood_crosswalk": "zip_crosswalk.csv",
            "items": statements,
        },
        "trust_forms": {
            "kind": "survey",
            "export_format": "google_forms",
            "timestamp_format": "%m/%d/%Y %H:%M:%S",
            "columns": {
                "response_id": {"column": "Email Address", "pii": "hash"},
                "submitted_at": "Timestamp",
            }
            | questions,
            "items": statements,
        },
    }
    for name, definition in definitions.items():
        document = {"name": name, **definition, "max_quarantine_share": 0.5}
        (sources / f"{name}.yml").write_text(yaml.safe_dump(document, sort_keys=False))

    # The truth: the counted responses (the XLSX re-submission replaces the first CSV response).
    counted = [later if p is resubmitted else p for p in people]
    truth = pd.DataFrame(
        {
            "respondent": [f"{p.first} {p.last}" for p in counted],
            "neighborhood_id": [p.neighborhood_id for p in counted],
            "quarter": [p.submitted.to_period("Q").to_timestamp() for p in counted],
            "age_group": [None if p.age == "Prefer not to say" else p.age for p in counted],
            "gender": [p.gender for p in counted],
        }
    )
    for i, (column, _, reverse) in enumerate(ITEMS):
        scores = pd.Series(
            [p.codes[i] if isinstance(p.codes[i], int) else np.nan for p in counted], dtype=float
        )
        truth[column] = 6 - scores if reverse else scores
    truth.attrs["names"] = {f"{p.first} {p.last}" for p in people + bad}
    truth.attrs["phones"] = {p.phone for p in people + bad}
    return truth


# ---------------------------------------------------------------- the independent computation


def direct_ipf(ages: np.ndarray, genders: np.ndarray, age_margin: dict, gender_margin: dict) -> np.ndarray:
    w = np.ones(len(ages))
    for _ in range(100_000):
        before = w.copy()
        for labels, margin in ((ages, age_margin), (genders, gender_margin)):
            total = sum(margin.values())
            for category, population in margin.items():
                w[labels == category] *= len(w) * population / total / w[labels == category].sum()
        if np.max(np.abs(w - before)) < 1e-15:
            break
    return w


def expected_weights(cell: pd.DataFrame, nbhd: str) -> np.ndarray | None:
    if nbhd not in MARGINS:
        return None
    age_margin, gender_margin = MARGINS[nbhd]
    raked = (cell["age_group"].isin(list(age_margin)) & cell["gender"].isin(list(gender_margin))).to_numpy()
    ages, genders = cell["age_group"].to_numpy()[raked], cell["gender"].to_numpy()[raked]
    if not set(age_margin) <= set(ages) or not set(gender_margin) <= set(genders):
        return None  # a margin category without respondents
    w = np.ones(len(cell))
    w[raked] = direct_ipf(ages, genders, age_margin, gender_margin)
    w = np.clip(w, 0.2 * w.mean(), 5 * w.mean())
    return w / w.sum() * len(w)


def construct_score(frame: pd.DataFrame, items: list[str]) -> pd.Series:
    answered = frame[items].notna().sum(axis=1)
    return frame[items].mean(axis=1).where(answered * 2 >= len(items))


def expected_table(truth: pd.DataFrame) -> pd.DataFrame:
    truth = truth.assign(trust=construct_score(truth, TRUST), safety=construct_score(truth, SAFETY))
    quarters = pd.date_range(truth["quarter"].min(), truth["quarter"].max(), freq="QS")
    rows = []
    for nbhd in sorted(NEIGHBORHOODS):
        for quarter in quarters:
            cell = truth[(truth["neighborhood_id"] == nbhd) & (truth["quarter"] == quarter)].reset_index(
                drop=True
            )
            n = len(cell)
            row = {"neighborhood_id": nbhd, "quarter": quarter, "respondents": n, "suppressed": n < MIN_CELL}
            weights = expected_weights(cell, nbhd) if n else None
            for construct in ("trust", "safety"):
                has = cell[construct].notna().to_numpy()
                x = (cell[construct][has] - 1) / 4 * 100
                low, high = (
                    stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
                    if len(x) > 1
                    else (np.nan, np.nan)
                )
                row |= {
                    f"{construct}_index": x.mean() if len(x) else np.nan,
                    f"{construct}_index_ci_low": low,
                }
                row |= {f"{construct}_index_ci_high": high}
                row[f"{construct}_index_weighted"] = (
                    np.average(x, weights=weights[has]) if weights is not None and len(x) else np.nan
                )
                # linearization interval, as survey::svymean(~x, svydesign(ids = ~1, weights = ~w))
                row[f"{construct}_index_weighted_ci_low"] = row[f"{construct}_index_weighted_ci_high"] = (
                    np.nan
                )
                if weights is not None and len(x) > 1:
                    w, y, mean = weights[has], x.to_numpy(), row[f"{construct}_index_weighted"]
                    variance = len(y) / (len(y) - 1) * np.sum((w * (y - mean)) ** 2) / w.sum() ** 2
                    half = stats.t.ppf(0.975, len(y) - 1) * np.sqrt(variance)
                    row[f"{construct}_index_weighted_ci_low"] = mean - half
                    row[f"{construct}_index_weighted_ci_high"] = mean + half
            trusting = cell["trust"].dropna()
            if len(trusting):
                successes = int((trusting >= 4).sum())
                ci = stats.binomtest(successes, len(trusting)).proportion_ci(method="wilson")
                row |= {
                    "pct_trust": successes / len(trusting) * 100,
                    "pct_trust_ci_low": ci.low * 100,
                    "pct_trust_ci_high": ci.high * 100,
                }
                if weights is not None:
                    has = cell["trust"].notna().to_numpy()
                    trusts = (cell["trust"] >= 4).to_numpy()
                    row["pct_trust_weighted"] = 100 * weights[has & trusts].sum() / weights[has].sum()
            if n:
                row["effective_n"] = (
                    weights.sum() ** 2 / (weights**2).sum() if weights is not None else float(n)
                )
                row["design_effect"] = n / row["effective_n"]
            rows.append(row)
    expected = pd.DataFrame(rows).set_index(["neighborhood_id", "quarter"])
    metrics = [c for c in expected.columns if c not in ("respondents", "suppressed")]
    expected.loc[expected["suppressed"], metrics] = np.nan
    return expected


# ---------------------------------------------------------------- one pipeline run for the module


@pytest.fixture(scope="module")
def trust_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("trust_city")
    truth = build(home)
    # Everything trust_quarterly's published files depend on (the city has no crime, events or programs).
    result = run_cli(
        "run",
        "--home",
        str(home),
        "--sources",
        str(home / "sources"),
        "--select",
        "+key:published_files",
        env={"NBHD_MIN_CELL": str(MIN_CELL)},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    published = pd.read_parquet(home / "published" / "current" / "trust_quarterly.parquet")
    published["quarter"] = pd.to_datetime(published["quarter"])
    return home, truth, published.set_index(["neighborhood_id", "quarter"]).sort_index()


def test_every_published_statistic_matches_scipy_and_a_direct_ipf_loop(trust_run):
    _, truth, actual = trust_run
    expected = expected_table(truth)
    assert list(actual.index) == list(expected.index), "every neighborhood × quarter, and nothing else"
    assert set(actual.columns) == set(expected.columns)
    pd.testing.assert_frame_equal(
        actual[expected.columns].astype(float),
        expected.astype(float),
        check_index_type=False,
        check_exact=False,
        rtol=1e-9,
        atol=1e-9,
    )
    for construct in ("trust", "safety"):  # the weighted interval brackets the published weighted index
        weighted = actual.dropna(subset=[f"{construct}_index_weighted_ci_low"])
        assert len(weighted) > 0
        assert (
            weighted[f"{construct}_index_weighted_ci_low"] <= weighted[f"{construct}_index_weighted"]
        ).all()
        assert (
            weighted[f"{construct}_index_weighted"] <= weighted[f"{construct}_index_weighted_ci_high"]
        ).all()
    # The fixture exercises what it claims to.
    shown = expected[~expected["suppressed"]]
    raked = shown["trust_index_weighted"].notna()
    assert raked.sum() == 3 and (shown.loc[raked, "design_effect"] > 1 + 1e-6).all()
    assert (
        shown.loc[("N03", pd.Timestamp("2024-01-01")), ["trust_index_weighted", "design_effect"]].tolist()[1]
        == 1
    )
    assert pd.isna(shown.loc[("N04", pd.Timestamp("2024-01-01")), "trust_index_weighted"])  # nobody aged 55+
    assert truth["age_group"].isna().any() and (truth["gender"] == "Non-binary").any()
    assert construct_score(truth, TRUST).isna().any() and construct_score(truth, SAFETY).isna().any()


def test_weights_are_stored_per_respondent_with_why_a_cell_has_none(trust_run):
    home, truth, _ = trust_run
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        weights = con.execute(
            "SELECT neighborhood_id, quarter, weighting_status, count(*) AS n, sum(weight) AS total, "
            "count(*) FILTER (WHERE NOT raked) AS kept_at_mean FROM weights.survey_respondents GROUP BY ALL ORDER BY ALL"
        ).df()
    assert weights["n"].sum() == len(truth)
    status = dict(
        zip(
            weights["neighborhood_id"] + "@" + weights["quarter"].astype(str),
            weights["weighting_status"],
            strict=True,
        )
    )
    assert status["N03@2024-01-01"] == "no_margins" and status["N04@2024-01-01"] == "empty_margin_category"
    assert status["N01@2024-01-01"] == "raked"
    raked = weights[weights["weighting_status"] == "raked"]
    np.testing.assert_allclose(raked["total"], raked["n"], rtol=1e-12)  # mean weight 1 in every cell
    assert weights["kept_at_mean"].sum() > 0
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        n01 = con.execute(
            "SELECT weight FROM weights.survey_respondents WHERE neighborhood_id = 'N01' AND quarter = '2024-01-01'"
        ).df()["weight"]
    # Trimmed weights share the bound: several respondents at the floor (0.2 × mean, renormalised).
    assert (np.isclose(n01, n01.min(), rtol=1e-12)).sum() >= 2 and n01.max() / n01.min() > 10


def test_suppression_at_k_minus_one_and_k_respondents(trust_run):
    _, _, actual = trust_run
    metrics = [c for c in actual.columns if c not in ("respondents", "suppressed")]
    below = actual.loc[("N02", pd.Timestamp("2024-01-01"))]
    at = actual.loc[("N02", pd.Timestamp("2024-04-01"))]
    assert below["respondents"] == MIN_CELL - 1 and below["suppressed"]
    assert below[metrics].isna().all(), "a suppressed row shows no metric"
    assert at["respondents"] == MIN_CELL and not at["suppressed"]
    assert (
        at[["trust_index", "safety_index", "pct_trust", "trust_index_weighted", "effective_n"]].notna().all()
    )
    small = actual[actual["respondents"] < MIN_CELL]
    assert len(small) > 1 and small["suppressed"].all() and small[metrics].isna().all().all()


def test_incomplete_and_refused_responses_are_counted(trust_run):
    home, _, _ = trust_run
    reasons = pd.read_parquet(home / "published" / "current" / "data_quality_reasons.parquet")
    counted = reasons.groupby(["source", "reason"])["rows"].sum().to_dict()
    assert counted == {
        ("trust_qualtrics", "incomplete_response"): 1,
        ("trust_qualtrics", "unknown_neighborhood"): 1,
        ("trust_qualtrics", "invalid_answer"): 1,
        ("trust_surveymonkey", "duplicate_response_superseded"): 1,
        ("trust_forms", "duplicate_response_superseded"): 1,
    }


def test_no_respondent_email_name_ip_or_coordinates_outside_landing(trust_run):
    home, truth, _ = trust_run
    assert find_personal_data(home, truth.attrs["names"], truth.attrs["phones"]) == []
    for path, text in texts(home):
        assert "41.873318" not in text and "-87.662513" not in text, f"coordinates in {path}"
        assert "Byron" not in text and "Turing" not in text, f"a respondent's surname in {path}"
    # The scan can fail: a landing file copied out of landing/ is caught.
    copy = home / "leak" / "wave.csv"
    copy.parent.mkdir()
    copy.write_bytes((home / "landing" / "trust_qualtrics" / "wave_2024.csv").read_bytes())
    try:
        assert len(find_personal_data(home, truth.attrs["names"], truth.attrs["phones"])) > 20
    finally:
        copy.unlink()
        copy.parent.rmdir()
