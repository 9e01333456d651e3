"""Quarterly resident survey waves as Qualtrics and SurveyMonkey exports."""

from __future__ import annotations

import datetime as dt
import json
import string
from pathlib import Path

import numpy as np

from ._common import City, write_csv
from ._community import Residents
from ._geo import sample_points

QUESTIONS = {
    "Q_NBHD": "Which neighborhood do you live in?",
    "Q_AGE": "What is your age?",
    "Q_GENDER": "What is your gender?",
    "T1": "I trust the police in my neighborhood",
    "T2": "Police treat people in my neighborhood with respect",
    "T3": "Police in my neighborhood listen to residents' concerns",
    "T4": "I would feel comfortable reporting a crime to the police",
    "S1": "I feel safe walking in my neighborhood during the day",
    "S2": "I feel safe walking in my neighborhood at night",
    "S3": "I worry about crime in my neighborhood",
    "Q_COMMENT": "Anything else you would like to tell us?",
}
LIKERT = ["T1", "T2", "T3", "T4", "S1", "S2", "S3"]
LABELS = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Neither agree nor disagree",
    4: "Agree",
    5: "Strongly agree",
    6: "Don't know",
}

# (column name, question-text row, ImportId)
QUALTRICS_META = [
    ("StartDate", "Start Date", "startDate"),
    ("EndDate", "End Date", "endDate"),
    ("Status", "Response Type", "status"),
    ("IPAddress", "IP Address", "ipAddress"),
    ("Progress", "Progress", "progress"),
    ("Duration (in seconds)", "Duration (in seconds)", "duration"),
    ("Finished", "Finished", "finished"),
    ("RecordedDate", "Recorded Date", "recordedDate"),
    ("ResponseId", "Response ID", "_recordId"),
    ("RecipientLastName", "Recipient Last Name", "recipientLastName"),
    ("RecipientFirstName", "Recipient First Name", "recipientFirstName"),
    ("RecipientEmail", "Recipient Email", "recipientEmail"),
    ("ExternalReference", "External Data Reference", "externalDataReference"),
    ("LocationLatitude", "Location Latitude", "locationLatitude"),
    ("LocationLongitude", "Location Longitude", "locationLongitude"),
    ("DistributionChannel", "Distribution Channel", "distributionChannel"),
    ("UserLanguage", "User Language", "userLanguage"),
]
SM_META = [
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

COMMENTS = [
    "More patrols at night please.",
    "The new streetlights on our block help a lot.",
    "Officers at the beat meeting were helpful.",
    "Speeding cars on our street are a problem.",
    "I never see police unless something bad happens.",
    "Please fix the broken lights in the park.",
    "Car break-ins have gone up this year.",
    "Thank you for asking residents.",
    "Response times are too slow.",
    "The youth programs have made a difference.",
]
ID_CHARS = string.ascii_letters + string.digits


def _waves(city: City) -> list[tuple[int, int, int]]:
    """(year, quarter, first month index) of each wave: every quarter of the last 48 months."""
    waves = []
    for m in range(max(0, city.n_months - 48), city.n_months, 3):
        year, month = city.month_ym(m)
        waves.append((year, (month - 1) // 3 + 1, m))
    return waves


def _respondents(
    city: City, res: Residents, m0: int, per_nbhd_mean: np.ndarray, rng: np.random.Generator
) -> list[dict]:
    """One wave's clean responses, sorted by start time."""
    ramp = city.program_ramp()[:, m0 + 1]
    q_start = dt.datetime.combine(city.month_start(m0), dt.time())
    q_secs = (city.month_start(m0 + 3) - city.month_start(m0)).days * 86400
    out = []
    for i in range(city.n):
        pool = res.adults_in(i)
        k = min(int(rng.poisson(per_nbhd_mean[i])), pool.size)
        if k == 0:
            continue
        people = rng.choice(pool, k, replace=False).tolist()
        trust = city.trust_base[i] + 0.5 * ramp[i] + rng.normal(0, 0.7, k)
        safe = city.safety_base[i] + 0.15 * ramp[i] + rng.normal(0, 0.7, k)
        latent = np.column_stack(
            [
                trust[:, None] + rng.normal(0, 0.6, (k, 4)),
                safe + 0.7 + rng.normal(0, 0.5, k),
                safe - 0.5 + rng.normal(0, 0.5, k),
                # S3 is reverse-coded: feeling safe means disagreeing that you worry about crime.
                6 - (safe + rng.normal(0, 0.6, k)),
            ]
        )
        codes = np.clip(np.round(latent), 1, 5).astype(int)
        u = rng.random((k, len(LIKERT)))
        codes[u < 0.06] = 6
        codes[u < 0.03] = 0  # 0 marks a skipped item here; it is written as a blank
        for row in np.flatnonzero(rng.random(k) < 0.04).tolist():
            codes[row, rng.choice(4, 3, replace=False)] = 0
        lon, lat = sample_points(rng, city.shapes[i][0], k)
        name = city.names[i]
        variant = rng.random(k)
        has_comment, has_pii = rng.random(k) < 0.25, rng.random(k) < 0.08
        comment_idx = rng.integers(0, len(COMMENTS), k)
        finished = rng.random(k) >= 0.05
        # Unfinished responses are recorded a week later, which must still fall inside the quarter.
        start_s = rng.integers(0, q_secs - 3600 - np.where(finished, 0, 7 * 86400))
        duration = rng.integers(90, 1500, k)
        progress = np.where(finished, 100, rng.integers(20, 90, k))
        age_ok, gender_ok = rng.random(k) > 0.03, rng.random(k) > 0.02
        ips = np.column_stack([rng.integers(24, 224, k), rng.integers(0, 256, (k, 3))]).tolist()
        email_channel, spanish = rng.random(k) < 0.65, rng.random(k) < 0.08
        for j, p in enumerate(people):
            v = variant[j]
            nbhd_answer = (
                name.lower()
                if v < 0.1
                else name.upper()
                if v < 0.15
                else (f"  {name} " if v < 0.22 else name)
            )
            comment = ""
            if has_comment[j]:
                comment = COMMENTS[comment_idx[j]]
                if has_pii[j]:
                    # PII volunteered in free text, which the pipeline has to strip.
                    ph = res.phone[p]
                    comment += (
                        f" This is {res.first[p]} {res.last[p]}, call me at {ph[:3]}-{ph[3:6]}-{ph[6:]}."
                    )
            answers = {
                "Q_NBHD": nbhd_answer,
                "Q_AGE": res.age[p] if age_ok[j] else "Prefer not to say",
                "Q_GENDER": res.gender[p] if gender_ok[j] else "Prefer not to say",
                **{q: (int(c) or None) for q, c in zip(LIKERT, codes[j].tolist(), strict=True)},
                "Q_COMMENT": comment,
            }
            if not finished[j]:
                keep = max(1, int(len(QUESTIONS) * progress[j] / 100))
                for q in list(QUESTIONS)[keep:]:
                    answers[q] = None if q in LIKERT else ""
            out.append(
                {
                    "person": p,
                    "start": q_start + dt.timedelta(seconds=int(start_s[j])),
                    "duration": int(duration[j]),
                    "finished": bool(finished[j]),
                    "progress": int(progress[j]),
                    "ip": ".".join(map(str, ips[j])),
                    "email_channel": bool(email_channel[j]),
                    "lang": "ES" if spanish[j] else "EN",
                    "lat": float(lat[j]),
                    "lon": float(lon[j]),
                    "answers": answers,
                }
            )
    out.sort(key=lambda r: (r["start"], r["person"]))
    return out


def _bad_kinds(n: int, rng: np.random.Generator) -> list[tuple[int, str]]:
    """~1% of rows, cycling through the four kinds of defect from a random offset."""
    kinds = ["likert", "nbhd", "duplicate", "date"]
    n_bad = round(0.01 * n)
    off = int(rng.integers(4))
    rows = rng.choice(n, n_bad, replace=False).tolist() if n_bad else []
    return [(r, kinds[(off + j) % 4]) for j, r in enumerate(rows)]


def _qualtrics_rows(resp: list[dict], res: Residents, ids: set[str], rng: np.random.Generator) -> list[list]:
    rows = []
    for r in resp:
        while True:
            rid = "R_" + "".join(ID_CHARS[c] for c in rng.integers(0, len(ID_CHARS), 15))
            if rid not in ids:
                ids.add(rid)
                break
        end = r["start"] + dt.timedelta(seconds=r["duration"])
        # Unfinished responses are recorded when Qualtrics closes them, a week later.
        recorded = end if r["finished"] else end + dt.timedelta(days=7)
        p = r["person"]
        rec = [res.last[p], res.first[p], res.email[p]] if r["email_channel"] else ["", "", ""]
        a = r["answers"]
        rows.append(
            [
                r["start"].strftime("%Y-%m-%d %H:%M:%S"),
                end.strftime("%Y-%m-%d %H:%M:%S"),
                "0",
                r["ip"],
                str(r["progress"]),
                str(r["duration"]),
                "1" if r["finished"] else "0",
                recorded.strftime("%Y-%m-%d %H:%M:%S"),
                rid,
                *rec,
                "",
                f"{r['lat']:.12f}",
                f"{r['lon']:.12f}",
                "email" if r["email_channel"] else "anonymous",
                r["lang"],
                *[("" if a[q] is None else str(a[q])) for q in QUESTIONS],
            ]
        )
    bad_dups = []
    for k, kind in _bad_kinds(len(rows), rng):
        row = rows[k]
        if kind == "likert":
            row[17 + 3 + int(rng.integers(7))] = ["9", "0"][rng.integers(2)]
        elif kind == "nbhd":
            row[17] = ["Atlantis", "Springfield", "Downtown Metropolis"][rng.integers(3)]
        elif kind == "date":
            row[0] = row[1] = row[7] = ["2024-13-45 25:61:00", "not a date"][rng.integers(2)]
        else:
            dup = list(row)
            later = dt.timedelta(days=int(rng.integers(1, 4)), seconds=int(rng.integers(0, 86400)))
            for c in (1, 7):
                # Rows picked for different defects are distinct, so this date is always valid.
                dup[c] = (dt.datetime.strptime(row[c], "%Y-%m-%d %H:%M:%S") + later).strftime(
                    "%Y-%m-%d %H:%M:%S"
                )
            for c in rng.choice(7, 2, replace=False).tolist():
                dup[20 + c] = str(rng.integers(1, 6))
            bad_dups.append(dup)
    return rows + bad_dups


def _sm_time(t: dt.datetime) -> str:
    return f"{t.month}/{t.day}/{t.year % 100:02d} {t.hour}:{t.minute:02d}"


def _surveymonkey_rows(
    resp: list[dict], res: Residents, next_id: int, rng: np.random.Generator
) -> list[list]:
    rows = []
    for r in resp:
        next_id += int(rng.integers(1, 5000))
        p = r["person"]
        end = r["start"] + dt.timedelta(seconds=r["duration"])
        who = [res.email[p], res.first[p], res.last[p]] if r["email_channel"] else ["", "", ""]
        a = r["answers"]
        answers = [("" if a[q] is None else LABELS[a[q]]) if q in LIKERT else a[q] for q in QUESTIONS]
        rows.append(
            [
                str(next_id),
                "431592817" if r["email_channel"] else "431592818",
                _sm_time(r["start"]),
                _sm_time(end),
                r["ip"],
                *who,
                "",
                *answers,
            ]
        )
    bad_dups = []
    for k, kind in _bad_kinds(len(rows), rng):
        row = rows[k]
        if kind == "likert":
            row[9 + 3 + int(rng.integers(7))] = "Totally agree"
        elif kind == "nbhd":
            row[9] = ["Atlantis", "Springfield", "Downtown Metropolis"][rng.integers(3)]
        elif kind == "date":
            row[2] = row[3] = ["13/45/24 99:99", "not a date"][rng.integers(2)]
        else:
            dup = list(row)
            end = dt.datetime.strptime(row[3], "%m/%d/%y %H:%M")
            dup[3] = _sm_time(end + dt.timedelta(days=int(rng.integers(1, 4))))
            for c in rng.choice(7, 2, replace=False).tolist():
                dup[12 + c] = LABELS[int(rng.integers(1, 6))]
            bad_dups.append(dup)
    return rows + bad_dups


def write_surveys(
    city: City, res: Residents, landing: Path, scale: float, rng: np.random.Generator
) -> list[tuple[Path, int]]:
    waves = _waves(city)
    sm_wave = (2024, 3) if any(w[:2] == (2024, 3) for w in waves) else waves[-7][:2]
    per_nbhd = 25 * scale * rng.uniform(0.7, 1.4, city.n)
    # A couple of neighbourhoods answer far less (about 13 respondents a wave at the "small" size): some of their
    # waves fall below 10, the default smallest published cell.
    per_nbhd[rng.choice(city.n, 2, replace=False)] = 3.2 * scale
    ids: set[str] = set()
    next_sm_id = 114_000_000_000
    out = []
    q_header = [c for c, _, _ in QUALTRICS_META] + list(QUESTIONS)
    q_texts = [t for _, t, _ in QUALTRICS_META] + list(QUESTIONS.values())
    q_import = [json.dumps({"ImportId": i}, separators=(",", ":")) for _, _, i in QUALTRICS_META] + [
        json.dumps({"ImportId": f"QID{k}"}, separators=(",", ":")) for k in range(1, len(QUESTIONS) + 1)
    ]
    for year, q, m0 in waves:
        resp = _respondents(city, res, m0, per_nbhd, rng)
        if (year, q) == sm_wave:
            rows = _surveymonkey_rows(resp, res, next_sm_id, rng)
            path = landing / "demo_survey_surveymonkey" / f"wave_{year}Q{q}.csv"
            second = [""] * len(SM_META) + ["Response"] * (len(QUESTIONS) - 1) + ["Open-Ended Response"]
            n = write_csv(
                path, SM_META + list(QUESTIONS.values()), rows, crlf=True, extra_header_rows=[second]
            )
        else:
            rows = _qualtrics_rows(resp, res, ids, rng)
            path = landing / "demo_survey_qualtrics" / f"wave_{year}Q{q}.csv"
            n = write_csv(path, q_header, rows, bom=True, extra_header_rows=[q_texts, q_import])
        out.append((path, n))
    return out
