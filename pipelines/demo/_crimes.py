"""Incident files in the Chicago data portal "Export CSV" layout, one per calendar year."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import numpy as np

from ._common import UPDATE_CAP, City
from ._geo import sample_points

HEADER = (
    "ID,Case Number,Date,Block,IUCR,Primary Type,Description,Location Description,Arrest,Domestic,"
    "Beat,District,Ward,Community Area,FBI Code,X Coordinate,Y Coordinate,Year,Updated On,Latitude,"
    "Longitude,Location"
)

VIOLENT, PROPERTY, OTHER = 0, 1, 2
CATEGORY_SHARE = np.array([0.20, 0.45, 0.35])

# (IUCR, Primary Type, Description, FBI Code, category, weight within category, P(arrest), P(domestic))
OFFENSES = [
    ("0110", "HOMICIDE", "FIRST DEGREE MURDER", "01A", VIOLENT, 0.02, 0.45, 0.10),
    ("0266", "CRIMINAL SEXUAL ASSAULT", "PREDATORY", "02", VIOLENT, 0.06, 0.10, 0.25),
    ("031A", "ROBBERY", "ARMED - HANDGUN", "03", VIOLENT, 0.30, 0.08, 0.01),
    ("051A", "ASSAULT", "AGGRAVATED - HANDGUN", "04A", VIOLENT, 0.27, 0.15, 0.08),
    ("041A", "BATTERY", "AGGRAVATED - HANDGUN", "04B", VIOLENT, 0.35, 0.12, 0.10),
    ("0610", "BURGLARY", "FORCIBLE ENTRY", "05", PROPERTY, 0.16, 0.04, 0.02),
    ("0820", "THEFT", "$500 AND UNDER", "06", PROPERTY, 0.50, 0.05, 0.03),
    ("0910", "MOTOR VEHICLE THEFT", "AUTOMOBILE", "07", PROPERTY, 0.31, 0.02, 0.01),
    ("1020", "ARSON", "BY FIRE", "09", PROPERTY, 0.03, 0.05, 0.02),
    ("0486", "BATTERY", "DOMESTIC BATTERY SIMPLE", "08B", OTHER, 0.30, 0.18, 1.00),
    ("0560", "ASSAULT", "SIMPLE", "08A", OTHER, 0.15, 0.06, 0.20),
    ("1310", "CRIMINAL DAMAGE", "TO PROPERTY", "14", OTHER, 0.22, 0.03, 0.12),
    ("1811", "NARCOTICS", "POSS: CANNABIS 30GMS OR LESS", "18", OTHER, 0.06, 0.95, 0.00),
    ("1153", "DECEPTIVE PRACTICE", "FINANCIAL IDENTITY THEFT OVER $ 300", "11", OTHER, 0.12, 0.01, 0.01),
    ("143A", "WEAPONS VIOLATION", "UNLAWFUL POSSESSION - HANDGUN", "15", OTHER, 0.10, 0.85, 0.00),
    ("2826", "OTHER OFFENSE", "HARASSMENT BY ELECTRONIC MEANS", "26", OTHER, 0.05, 0.02, 0.30),
]

LOCATIONS = [
    "STREET",
    "RESIDENCE",
    "APARTMENT",
    "SIDEWALK",
    "PARKING LOT / GARAGE (NON RESIDENTIAL)",
    "ALLEY",
    "SMALL RETAIL STORE",
    "RESTAURANT",
    "VEHICLE NON-COMMERCIAL",
    "CTA PLATFORM",
    "PARK PROPERTY",
    "SCHOOL - PUBLIC, BUILDING",
]
LOCATION_P = np.array([28, 18, 16, 10, 6, 5, 5, 3, 4, 2, 2, 1], dtype=float)
STREETS = [
    "N OAK ST",
    "W MAPLE AVE",
    "S HARBOR DR",
    "W FOUNDRY RD",
    "N CEDAR AVE",
    "S WILLOW ST",
    "E LANTERN BLVD",
    "W 51ST ST",
    "S BIRCH AVE",
    "N KESTREL PKWY",
    "W 63RD ST",
    "S QUARRY RD",
    "W PRAIRIE AVE",
    "N SUMMIT ST",
    "E JUNIPER AVE",
    "W COPPER ST",
    "S MILL ST",
    "W ELM PL",
]

# Night-heavy hourly profile, hour 0..23.
HOUR_P = np.array([6, 5, 4, 3, 2, 2, 2, 3, 4, 4, 4, 4, 6, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6], dtype=float)
CHUNK_ROWS = 100_000
# One file per calendar year: crimes_2024.csv
CRIME_FILE_PATTERN = "crimes_[0-9][0-9][0-9][0-9].csv"
BAD_DATES = ["13/45/2023 99:00:00 PM", "not a date", "00/00/0000 00:00:00 AM"]


def _csv_field(s: str) -> str:
    return f'"{s}"' if ("," in s or '"' in s) else s


@functools.cache
def _time_strings() -> np.ndarray:
    out = []
    for sec in range(86400):
        h, rem = divmod(sec, 3600)
        mi, s = divmod(rem, 60)
        out.append(f"{(h % 12) or 12:02d}:{mi:02d}:{s:02d} {'AM' if h < 12 else 'PM'}")
    return np.array(out, dtype=object)


def _cell_weights(city: City) -> np.ndarray:
    """Expected share of incidents per (month, neighbourhood, category) cell."""
    months = np.arange(city.n_months)
    season = 1 + 0.15 * np.cos(2 * np.pi * (months % 12 - 6) / 12)
    # Long (Chicago-scale) periods trend gently downward, like the real series.
    trend = (
        1 + 0.5 * (1 - months / max(city.n_months - 1, 1)) if city.n_months > 120 else np.ones(city.n_months)
    )
    base = (season * trend)[:, None] * city.crime_rate[None, :]
    w = base[:, :, None] * CATEGORY_SHARE[None, None, :]
    w[:, :, VIOLENT] *= (1 - 0.30 * city.program_ramp()).T
    return w / w.sum()


def write_crimes(city: City, out_dir: Path, n_incidents: int, rng: np.random.Generator) -> list[Path]:
    """Write n_incidents data rows (bad and duplicate rows included) across the yearly files."""
    weights = _cell_weights(city)
    counts = rng.multinomial(n_incidents, weights.ravel()).reshape(weights.shape)
    cells_per_month = city.n * 3

    first_day = city.month_start(0)
    n_days = (UPDATE_CAP.date() - first_day).days + 1
    day_str = np.array(
        [(first_day + dt.timedelta(days=d)).strftime("%m/%d/%Y ") for d in range(n_days)], dtype=object
    )
    time_str = _time_strings()
    month_first = np.array([(city.month_start(m) - first_day).days for m in range(city.n_months)])
    month_len = np.array([city.days_in_month(m) for m in range(city.n_months)])
    cap_sec = (n_days - 1) * 86400 + 86399

    cat_offenses = [[i for i, o in enumerate(OFFENSES) if o[4] == c] for c in range(3)]
    cat_p = [
        np.array([OFFENSES[i][5] for i in idx]) / sum(OFFENSES[i][5] for i in idx) for idx in cat_offenses
    ]
    off_prefix = np.array([f"{o[0]},{o[1]},{_csv_field(o[2])}" for o in OFFENSES], dtype=object)
    off_fbi = np.array([o[3] for o in OFFENSES], dtype=object)
    off_arrest = np.array([o[6] for o in OFFENSES])
    off_domestic = np.array([o[7] for o in OFFENSES])
    loc_desc = np.array([_csv_field(s) for s in LOCATIONS], dtype=object)
    streets = np.array(STREETS, dtype=object)
    tf = np.array(["false", "true"], dtype=object)
    nbhd_district = np.arange(city.n) // 3 + 1

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    last_id = 10_000_000
    n_years = city.n_months // 12
    for yi in range(n_years):
        year = city.start_year + yi
        year_counts = counts[yi * 12 : (yi + 1) * 12].ravel()
        cell_of_row = np.repeat(np.arange(year_counts.size), year_counts)
        path = out_dir / f"crimes_{year}.csv"
        case_seq = 100_000
        with open(path, "w", encoding="utf-8-sig", newline="") as f:
            f.write(HEADER + "\n")
            for lo in range(0, cell_of_row.size, CHUNK_ROWS):
                cells = cell_of_row[lo : lo + CHUNK_ROWS]
                m = cells.size
                month = yi * 12 + cells // cells_per_month
                nbhd = (cells % cells_per_month) // 3
                cat = cells % 3

                offense = np.empty(m, dtype=np.int64)
                for c in range(3):
                    sel = np.flatnonzero(cat == c)
                    offense[sel] = np.array(cat_offenses[c])[rng.choice(len(cat_p[c]), sel.size, p=cat_p[c])]
                day = month_first[month] + (rng.random(m) * month_len[month]).astype(np.int64)
                hour = rng.choice(24, m, p=HOUR_P / HOUR_P.sum())
                minute = np.where(rng.random(m) < 0.4, 0, rng.integers(0, 60, m))
                ts = day * 86400 + hour * 3600 + minute * 60
                order = np.argsort(ts, kind="stable")
                month, nbhd, offense, ts = month[order], nbhd[order], offense[order], ts[order]

                lat = np.empty(m)
                lon = np.empty(m)
                for i in range(city.n):
                    sel = np.flatnonzero(nbhd == i)
                    if sel.size:
                        lon[sel], lat[sel] = sample_points(rng, city.shapes[i][0], sel.size)

                updated = np.minimum(ts + rng.integers(3600, 400 * 86400, m), cap_sec)
                ids = last_id + np.cumsum(rng.integers(1, 4, m))
                last_id = int(ids[-1])
                case = np.arange(case_seq, case_seq + m)
                case_seq += m
                district = nbhd_district[nbhd]
                beat = district * 100 + (nbhd % 3 + 1) * 10 + rng.integers(1, 5, m)
                ward = nbhd * 2 + 1 + rng.integers(0, 2, m)
                block = rng.integers(0, 130, m)
                street = streets[rng.integers(0, len(STREETS), m)]
                arrest = tf[(rng.random(m) < off_arrest[offense]).astype(int)]
                domestic = tf[(rng.random(m) < off_domestic[offense]).astype(int)]
                locd = loc_desc[rng.choice(len(LOCATIONS), m, p=LOCATION_P / LOCATION_P.sum())]
                date_s = day_str[ts // 86400] + time_str[ts % 86400]
                upd_s = day_str[updated // 86400] + time_str[updated % 86400]
                fbi = off_fbi[offense]

                # About 1% deliberately bad rows in four kinds, plus 0.5% rows without a location.
                u = rng.random(m)
                bad_date = np.flatnonzero(u < 0.0025)
                bad_geo = np.flatnonzero((u >= 0.0025) & (u < 0.005))
                dup = np.flatnonzero((u >= 0.005) & (u < 0.0075) & (np.arange(m) > 0))
                bad_fbi = np.flatnonzero((u >= 0.0075) & (u < 0.01))
                no_geo = (u >= 0.01) & (u < 0.015)
                date_s[bad_date] = np.array(BAD_DATES, dtype=object)[rng.integers(0, 3, bad_date.size)]
                lat[bad_geo] = rng.uniform(40.05, 40.25, bad_geo.size)
                lon[bad_geo] = rng.uniform(-89.6, -89.4, bad_geo.size)
                fbi[bad_fbi] = "99Z"

                x = np.round(1_175_000 + (lon + 87.63) * 274_000).astype(np.int64).tolist()
                y = np.round(1_873_800 + (lat - 41.81) * 364_000).astype(np.int64).tolist()
                geo = [
                    f'{a:.9f},{b:.9f},"({a:.9f}, {b:.9f})"'
                    for a, b in zip(lat.tolist(), lon.tolist(), strict=True)
                ]
                xy = [f"{a},{b}" for a, b in zip(x, y, strict=True)]
                for i in np.flatnonzero(no_geo).tolist():
                    geo[i] = ",,"
                    xy[i] = ","
                letter = chr(ord("A") + (year - 2000) % 26)
                lines = [
                    f"{i},J{letter}{cs},{d},{bn:03d}XX {st},{op},{ld},{ar},{do},{bt:04d},{di:03d},{wd},{ca},"
                    f"{fb},{xy_},{year},{up},{ge}\n"
                    for i, cs, d, bn, st, op, ld, ar, do, bt, di, wd, ca, fb, xy_, up, ge in zip(
                        ids.tolist(),
                        case.tolist(),
                        date_s,
                        block.tolist(),
                        street,
                        off_prefix[offense],
                        locd,
                        arrest,
                        domestic,
                        beat.tolist(),
                        district.tolist(),
                        ward.tolist(),
                        (nbhd + 1).tolist(),
                        fbi,
                        xy,
                        upd_s,
                        geo,
                        strict=True,
                    )
                ]
                for i in dup.tolist():
                    lines[i] = lines[i - int(rng.integers(1, min(i, 20) + 1))]
                f.writelines(lines)
        written.append(path)
    return written
