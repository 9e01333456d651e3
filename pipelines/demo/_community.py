"""Residents, the event calendar and attendance rosters (Eventbrite reports and sign-in sheets)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._common import City, write_csv

FEMALE = [
    "Maria",
    "Jennifer",
    "Aisha",
    "Guadalupe",
    "Linda",
    "Keisha",
    "Emily",
    "Sofia",
    "Tanya",
    "Grace",
    "Mei",
    "Patricia",
    "Latoya",
    "Rosa",
    "Hannah",
    "Olivia",
    "Fatima",
    "Dorothy",
    "Ana",
    "Jasmine",
    "Nicole",
    "Priya",
    "Shanice",
    "Helen",
    "Camila",
    "Brenda",
    "Yolanda",
    "Megan",
    "Ruth",
    "Imani",
]
MALE = [
    "James",
    "Jose",
    "Michael",
    "DeShawn",
    "Robert",
    "Luis",
    "David",
    "Marcus",
    "Kevin",
    "Anthony",
    "Wei",
    "Juan",
    "Terrence",
    "William",
    "Omar",
    "Daniel",
    "Carlos",
    "Jamal",
    "Thomas",
    "Andre",
    "Brian",
    "Raj",
    "Miguel",
    "Darnell",
    "Steven",
    "Eduardo",
    "Gregory",
    "Malik",
    "Paul",
    "Victor",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Washington",
    "Jackson",
    "Davis",
    "Wilson",
    "Thompson",
    "Nguyen",
    "Kim",
    "Patel",
    "Kowalski",
    "Novak",
    "O'Brien",
    "Murphy",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Ramirez",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Torres",
    "Parker",
    "Collins",
    "Edwards",
    "Stewart",
    "Flores",
    "Morris",
    "Reyes",
    "Gutierrez",
    "Ortiz",
    "Bell",
    "Coleman",
    "Jenkins",
    "Perry",
    "Powell",
    "Sullivan",
]
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "comcast.net", "hotmail.com"]
DOMAIN_P = [0.45, 0.15, 0.12, 0.10, 0.08, 0.10]
AGE_GROUPS = ["under 18", "18-24", "25-34", "35-54", "55+"]
AGE_P = [0.12, 0.13, 0.20, 0.30, 0.25]

EVENTBRITE_HEADER = [
    "Order #",
    "Order Date",
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Quantity",
    "Ticket Type",
    "Attendee #",
    "Event ID",
    "Event Name",
    "Age Group",
    "Attendee Status",
]
SIGNIN_HEADER = ["Event ID", "Event", "Date", "Name", "Email", "Phone", "Age Group", "ZIP"]
STATUSES = ["Checked In", "Attending", "Not Attending"]
CALENDAR_HEADER = ["Event ID", "Title", "Start", "End", "Location", "Neighborhood"]
# Attendance grows with the neighbourhood: twice the residents, twice the people at its events, so a rate per
# 1,000 residents is comparable between neighbourhoods of any size.
REFERENCE_POPULATION = 50_000
# A program's full effect (its ramp at 1): optional events this many times more likely on top of the usual ...
PROGRAM_EVENT_BOOST = 3.0
# ... and this many times more people at each event on top of the usual.
PROGRAM_ATTENDANCE_BOOST = 0.6

# kind -> (roster, attendee range in a neighbourhood of REFERENCE_POPULATION, start hour, duration hours)
EVENT_KINDS = {
    "beat": ("signin", (5, 25), 18.5, 1.5),
    "workshop": ("eventbrite", (8, 30), 18.0, 1.5),
    "youth": ("eventbrite", (10, 30), 16.0, 2.0),
    "party": ("eventbrite", (20, 60), 12.0, 6.0),
    "cleanup": ("signin", (6, 20), 9.0, 3.0),
}


@dataclass
class Residents:
    first: list[str]
    last: list[str]
    gender: list[str]
    email: list[str]
    phone: list[str]  # ten digits
    zip: list[str]
    age: np.ndarray
    nbhd: np.ndarray
    civic: np.ndarray  # propensity to show up, so the same people recur

    def adults_in(self, i: int) -> np.ndarray:
        return np.flatnonzero((self.nbhd == i) & (self.age != "under 18"))


def nbhd_zip(i: int) -> str:
    return str(60607 + 2 * i)


def make_residents(city: City, n: int, rng: np.random.Generator) -> Residents:
    gender = ["Female" if g else "Male" for g in (rng.random(n) < 0.52)]
    first = [
        FEMALE[rng.integers(len(FEMALE))] if g == "Female" else MALE[rng.integers(len(MALE))] for g in gender
    ]
    last = [LAST[rng.integers(len(LAST))] for _ in range(n)]
    # Guarantee same-name pairs (different people, different emails) that matching must not merge.
    for _ in range(max(5, n // 100)):
        a, b = rng.choice(n, 2, replace=False)
        first[b], last[b], gender[b] = first[a], last[a], gender[a]
    weights = city.population / city.population.sum()
    nbhd = rng.choice(city.n, n, p=weights)
    style = rng.integers(0, 4, n).tolist()
    number = rng.integers(1, 99, n).tolist()
    domain = np.array(DOMAINS, dtype=object)[rng.choice(len(DOMAINS), n, p=DOMAIN_P)].tolist()
    area = rng.choice([312, 773, 872], n).tolist()
    exchange = rng.integers(201, 990, n).tolist()
    line = rng.integers(0, 10000, n).tolist()
    zip_nbhd = np.where(rng.random(n) < 0.95, nbhd, rng.integers(0, city.n, n)).tolist()
    taken: set[str] = set()
    email = []
    for k in range(n):
        f, lname = first[k].lower(), last[k].lower().replace("'", "")
        local = [f"{f}.{lname}", f"{f}{lname}", f"{f[0]}{lname}", f"{f}.{lname}{number[k]}"][style[k]]
        dom = domain[k]
        candidate, suffix = local, 2
        # Gmail ignores dots, so uniqueness is checked on the dotless form there.
        while ((candidate.replace(".", "") if dom == "gmail.com" else candidate) + "@" + dom) in taken:
            candidate, suffix = f"{local}{suffix}", suffix + 1
        taken.add((candidate.replace(".", "") if dom == "gmail.com" else candidate) + "@" + dom)
        email.append(f"{candidate}@{dom}")
    phone = [f"{a}{b}{c:04d}" for a, b, c in zip(area, exchange, line, strict=True)]
    zips = [nbhd_zip(z) for z in zip_nbhd]
    age = np.array(AGE_GROUPS, dtype=object)[rng.choice(len(AGE_GROUPS), n, p=AGE_P)]
    return Residents(first, last, gender, email, phone, zips, age, nbhd, rng.lognormal(0, 1, n))


def email_variant(rng: np.random.Generator, email: str) -> str:
    local, domain = email.split("@")
    r = rng.random()
    if r < 0.6:
        return email
    if r < 0.72:
        return ".".join(p.capitalize() for p in local.split(".")) + "@" + domain.capitalize()
    if r < 0.8:
        return "  " + email + " "
    if domain == "gmail.com":
        if r < 0.88:
            return (
                local.replace(".", "")
                + "+"
                + ["caps", "news", "events", "chi"][int(r * 100) % 4]
                + "@"
                + domain
            )
        return local.replace(".", "") + "@" + domain
    return email.upper() if r < 0.85 else email


def phone_variant(rng: np.random.Generator, digits: str) -> str:
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return [f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"+1 {a} {b} {c}", digits][int(rng.random() * 4)]


def name_variant(rng: np.random.Generator, name: str) -> str:
    r = rng.random()
    return name.upper() if r < 0.08 else name.lower() if r < 0.16 else name


@dataclass
class Event:
    start: dt.datetime
    nbhd: int
    kind: str
    title: str
    location: str
    month: int
    event_id: str = ""


def make_events(city: City, rng: np.random.Generator) -> list[Event]:
    ramp = city.program_ramp()
    events = []
    for m in range(city.n_months):
        first = city.month_start(m)
        ndays = city.days_in_month(m)
        for i, name in enumerate(city.names):
            boost = 1 + PROGRAM_EVENT_BOOST * ramp[i, m]
            # Beat meetings fall on a fixed weekday of the first full week, like a real schedule.
            weekday = 1 + i % 3
            day = first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (i % 2))
            todo = [("beat", day)]
            p = {
                "workshop": 0.2,
                "youth": 0.2,
                "party": 0.35 if first.month in (6, 7, 8) else 0.0,
                "cleanup": 0.25 if 4 <= first.month <= 10 else 0.03,
            }
            for kind, prob in p.items():
                if rng.random() < min(0.95, prob * boost):
                    todo.append((kind, first + dt.timedelta(days=int(rng.integers(ndays)))))
            for kind, d in todo:
                hour = EVENT_KINDS[kind][2]
                start = dt.datetime(d.year, d.month, d.day, int(hour), int(round(hour % 1 * 60)))
                if kind == "beat":
                    title, loc = f"{name} Beat Meeting", f"{name} Park Fieldhouse"
                elif kind == "workshop":
                    title = ["Know Your Rights Workshop", "Home Safety Workshop"][rng.integers(2)]
                    loc = f"{name} Public Library"
                elif kind == "youth":
                    title = ["Youth Basketball League", "Youth Mentoring Night"][rng.integers(2)]
                    loc = f"{name} Community Center"
                elif kind == "party":
                    title, loc = f"{name} Block Party", f"{rng.integers(1, 80) * 100} block of {name} Ave"
                else:
                    title, loc = f"{name} Neighborhood Clean-Up", f"{name} Park"
                events.append(Event(start, i, kind, title, loc, m))
    events.sort(key=lambda e: (e.start, e.nbhd, e.kind))
    for k, e in enumerate(events, 1):
        e.event_id = f"EV{k:06d}"
    return events


def write_calendar(city: City, events: list[Event], path: Path, rng: np.random.Generator) -> int:
    rows = []
    for e in events:
        end = e.start + dt.timedelta(hours=EVENT_KINDS[e.kind][3])
        rows.append(
            [
                e.event_id,
                e.title,
                e.start.strftime("%Y-%m-%d %H:%M"),
                end.strftime("%Y-%m-%d %H:%M"),
                e.location,
                city.names[e.nbhd],
            ]
        )
    for k in rng.choice(len(rows), max(1, round(0.01 * len(rows))), replace=False).tolist():
        if rng.random() < 0.5:
            rows[k][2] = ["TBD", "2023-02-30 25:00", "next Tuesday"][rng.integers(3)]
        else:
            rows[k][5] = ["Springfield", "Shelbyville", "Gotham"][rng.integers(3)]
    return write_csv(path, CALENDAR_HEADER, rows)


def _attendees(city: City, res: Residents, e: Event, k: int, rng: np.random.Generator) -> np.ndarray:
    w = res.civic * np.where(res.nbhd == e.nbhd, 1.0, 0.05)
    age = res.age
    if e.kind == "youth":
        w = w * np.select([age == "under 18", age == "18-24"], [6.0, 3.0], 0.15)
    elif e.kind != "party":
        w = w * np.where(age == "under 18", 0.1, 1.0)
    k = min(k, int((w > 0).sum()))
    return rng.choice(len(w), k, replace=False, p=w / w.sum())


def write_rosters(
    city: City, res: Residents, events: list[Event], landing: Path, scale: float, rng: np.random.Generator
) -> list[tuple[Path, int]]:
    """One Eventbrite report and one sign-in file per month that has events of that roster kind."""
    ramp = city.program_ramp()
    by_month: dict[int, list[Event]] = {}
    for e in events:
        by_month.setdefault(e.month, []).append(e)
    out = []
    order_no, attendee_no = 1_204_000_000, 2_871_000_000
    for m in sorted(by_month):
        y, mo = city.month_ym(m)
        eb_rows, si_rows = [], []
        for e in by_month[m]:
            lo, hi = EVENT_KINDS[e.kind][1]
            size = scale * city.population[e.nbhd] / REFERENCE_POPULATION
            k = int(round(rng.integers(lo, hi + 1) * size * (1 + PROGRAM_ATTENDANCE_BOOST * ramp[e.nbhd, m])))
            if EVENT_KINDS[e.kind][0] == "eventbrite":
                # Registrations exceed attendance: ~20% no-shows and ~3% cancellations.
                people = _attendees(city, res, e, int(k / 0.77), rng).tolist()
                n = len(people)
                orders = order_no + np.cumsum(rng.integers(1, 40, n))
                tickets = attendee_no + np.cumsum(rng.integers(1, 40, n))
                order_no, attendee_no = (int(orders[-1]), int(tickets[-1])) if n else (order_no, attendee_no)
                lead = rng.integers(3600, 21 * 86400, n).tolist()
                status = rng.choice(3, n, p=[0.77, 0.2, 0.03]).tolist()
                has_phone = (rng.random(n) < 0.7).tolist()
                for j, p in enumerate(people):
                    ordered = e.start - dt.timedelta(seconds=lead[j])
                    eb_rows.append(
                        [
                            str(orders[j]),
                            ordered.strftime("%Y-%m-%d %H:%M:%S"),
                            name_variant(rng, res.first[p]),
                            name_variant(rng, res.last[p]),
                            email_variant(rng, res.email[p]),
                            phone_variant(rng, res.phone[p]) if has_phone[j] else "",
                            "1",
                            "General Admission",
                            str(tickets[j]),
                            e.event_id,
                            e.title,
                            res.age[p],
                            STATUSES[status[j]],
                        ]
                    )
            else:
                date = e.start.strftime("%m/%d/%Y")
                people = _attendees(city, res, e, k, rng).tolist()
                # ~3% sign the sheet twice, possibly writing themselves differently the second time.
                people = [
                    p
                    for p, twice in zip(people, rng.random(len(people)) < 0.03, strict=True)
                    for _ in range(1 + twice)
                ]
                contact = rng.random(len(people)).tolist()
                also_phone = (rng.random(len(people)) < 0.5).tolist()
                for j, p in enumerate(people):
                    r = contact[j]
                    email = email_variant(rng, res.email[p]) if r < 0.7 else ""
                    phone = (
                        phone_variant(rng, res.phone[p])
                        if (r < 0.7 and also_phone[j]) or 0.7 <= r < 0.88
                        else ""
                    )
                    si_rows.append(
                        [
                            e.event_id,
                            e.title,
                            date,
                            name_variant(rng, f"{res.first[p]} {res.last[p]}"),
                            email,
                            phone,
                            res.age[p],
                            res.zip[p],
                        ]
                    )
        for rows, is_signin in ((eb_rows, False), (si_rows, True)):
            if not rows:
                continue
            # ~1% bad rows, but never 4% of a file: a quiet month's file must stay under the loader's 5% limit.
            for _ in range(min(int(rng.binomial(len(rows), 0.01)), int(0.04 * len(rows)))):
                k = int(rng.integers(len(rows)))
                bad = list(rows[k])
                if is_signin and rng.random() < 0.5:
                    bad[3] = bad[4] = bad[5] = ""
                else:
                    bad[0 if is_signin else 9] = f"EV9{rng.integers(0, 100000):05d}"
                rows.insert(k + 1, bad)
            if is_signin:
                path = landing / "demo_rosters_signin" / f"signin_{y}-{mo:02d}.csv"
                out.append((path, write_csv(path, SIGNIN_HEADER, rows)))
            else:
                path = landing / "demo_rosters_eventbrite" / f"attendees_{y}-{mo:02d}.csv"
                out.append((path, write_csv(path, EVENTBRITE_HEADER, rows)))
    return out
