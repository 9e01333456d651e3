"""What the report reads: the published tables (what any reader sees), and the periods its headline figures
cover. Nothing here writes or formats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from pipelines.report.dictionary import Entry, read_dictionary
from pipelines.report.layout import month_label


@dataclass(frozen=True)
class Published:
    """The published tables the report shows; periods are `datetime.date`s."""

    neighborhoods: pd.DataFrame  # sorted by name: the order of every list of neighborhoods
    crime: pd.DataFrame
    engagement: pd.DataFrame
    trust: pd.DataFrame
    programs: pd.DataFrame | None  # None in a deployment without a programs source
    event_study: pd.DataFrame | None
    dictionary: list[Entry]  # empty until the data dictionary is published (published/docs/)


def _read(publish_dir: Path, name: str, *dates: str) -> pd.DataFrame | None:
    path = publish_dir / f"{name}.parquet"
    if not path.exists():
        return None
    frame = pd.read_parquet(path)
    for column in dates:
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def read_published(publish_dir: Path) -> Published:
    neighborhoods = _read(publish_dir, "neighborhoods")
    crime = _read(publish_dir, "crime_monthly", "month")
    engagement = _read(publish_dir, "engagement_monthly", "month")
    trust = _read(publish_dir, "trust_quarterly", "quarter")
    if neighborhoods is None or crime is None or engagement is None or trust is None:
        raise FileNotFoundError(f"{publish_dir}: the published tables are missing; publish first")
    dictionary_csv = publish_dir / "docs" / "data_dictionary.csv"
    return Published(
        neighborhoods=neighborhoods.sort_values("name"),
        crime=crime,
        engagement=engagement,
        trust=trust,
        programs=_read(publish_dir, "program_evaluation"),
        event_study=_read(publish_dir, "program_event_study"),
        dictionary=read_dictionary(dictionary_csv) if dictionary_csv.exists() else [],
    )


@dataclass(frozen=True)
class Periods:
    """The periods the headline figures cover. Each subject covers its own months (crime may start later than
    the calendars, or be missing), so "the last 12 months" is counted per subject."""

    latest_month: date | None  # of crime
    crime_last_year: list[date]
    engagement_last_year: list[date]
    latest_quarter: date | None  # the latest quarter with a survey response anywhere
    label: str  # "Data from <first month> to <last month>" over crime and engagement

    @classmethod
    def of(cls, published: Published) -> Periods:
        months = sorted(published.crime["month"].unique())
        quarters = sorted(published.trust["quarter"].unique())
        # The latest quarter of a survey wave: quarters after the last wave have no respondents anywhere.
        answered = published.trust.groupby("quarter")["respondents"].sum()
        covered = sorted({*months, *published.engagement["month"].unique()})
        return cls(
            latest_month=months[-1] if months else None,
            crime_last_year=months[-12:],
            engagement_last_year=sorted(published.engagement["month"].unique())[-12:],
            latest_quarter=max(answered[answered > 0].index, default=quarters[-1] if quarters else None),
            label=(
                f"Data from {month_label(covered[0])} to {month_label(covered[-1])}"
                if covered
                else "No data yet"
            ),
        )
