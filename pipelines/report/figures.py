"""The report's headline figures, computed from the published tables: the whole city's series, each
neighborhood's latest figures, and the cards that show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from pipelines.report.data import Periods, Published
from pipelines.report.layout import (
    MISSING,
    SUPPRESSED,
    card,
    count,
    index,
    month_label,
    number,
    quarter_label,
    rate,
)


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


@dataclass(frozen=True)
class City:
    """The whole city's series, drawn on the overview and beside each neighborhood's."""

    violent_rate: pd.Series  # by month
    trust_index: pd.Series  # by quarter
    attendances: pd.Series  # by month

    @classmethod
    def of(cls, published: Published) -> City:
        return cls(
            violent_rate=city_violent_rate(published.crime),
            trust_index=city_trust(published.trust),
            attendances=published.engagement.groupby("month")["attendances"].sum(),
        )


@dataclass(frozen=True)
class Neighborhood:
    """One neighborhood's published rows, and its headline figures of the latest periods."""

    row: tuple  # the `neighborhoods` row (neighborhood_id, name, population, area_sq_km, geometry_geojson)
    crime: pd.DataFrame  # by month
    engagement: pd.DataFrame  # by month
    trust: pd.DataFrame  # by quarter
    violent_12m: float | None
    latest_trust: pd.DataFrame  # the trust row of the latest quarter (none when the quarter is not covered)
    trust_suppressed: bool
    trust_now: pd.Series | None  # the latest trust row when it is published
    attendances_12m: int

    @classmethod
    def of(cls, row: tuple, published: Published, periods: Periods) -> Neighborhood:
        own_crime = published.crime[published.crime["neighborhood_id"] == row.neighborhood_id].sort_values(
            "month"
        )
        engagement = published.engagement
        own_engagement = engagement[engagement["neighborhood_id"] == row.neighborhood_id].sort_values("month")
        own_trust = published.trust[published.trust["neighborhood_id"] == row.neighborhood_id].sort_values(
            "quarter"
        )
        latest_crime = own_crime[own_crime["month"] == periods.latest_month]
        latest_trust = own_trust[own_trust["quarter"] == periods.latest_quarter]
        trust_suppressed = bool(latest_trust["suppressed"].iloc[0]) if len(latest_trust) else False
        return cls(
            row=row,
            crime=own_crime,
            engagement=own_engagement,
            trust=own_trust,
            violent_12m=number(latest_crime["violent_per_1k_12m"].iloc[0]) if len(latest_crime) else None,
            latest_trust=latest_trust,
            trust_suppressed=trust_suppressed,
            trust_now=None if trust_suppressed or not len(latest_trust) else latest_trust.iloc[0],
            attendances_12m=int(
                own_engagement[own_engagement["month"].isin(periods.engagement_last_year)][
                    "attendances"
                ].sum()
            ),
        )


def neighborhood_cards(nbhd: Neighborhood, periods: Periods) -> str:
    if nbhd.trust_suppressed:
        trust_card = card(
            f"Trust index, {quarter_label(periods.latest_quarter)}",
            SUPPRESSED,
            f"{count(nbhd.latest_trust['respondents'].iloc[0])} respondents: too few to publish",
            "trust_index",
        )
    elif nbhd.trust_now is not None:
        trust_now = nbhd.trust_now
        trust_card = card(
            f"Trust index, {quarter_label(periods.latest_quarter)}",
            index(trust_now["trust_index"]),
            f"95% interval {index(trust_now['trust_index_ci_low'])}–{index(trust_now['trust_index_ci_high'])}, "
            f"{count(trust_now['respondents'])} respondents",
            "trust_index",
        )
    else:
        trust_card = card("Trust index", MISSING, "no survey", "trust_index")
    return (
        '<div class="cards">'
        + card("Population", count(nbhd.row.population), f"{index(nbhd.row.area_sq_km)} km²", "population")
        + card(
            "Violent crime, last 12 months",
            rate(nbhd.violent_12m),
            f"per 1,000 residents, to {month_label(periods.latest_month)}" if periods.latest_month else "",
            "violent_per_1k_12m",
        )
        + trust_card
        + card(
            "Attendances, last 12 months",
            count(nbhd.attendances_12m),
            "person-event pairs at community events",
            "attendances_12m",
        )
        + "</div>"
    )


def city_cards(published: Published, periods: Periods, city: City) -> str:
    neighborhoods = published.neighborhoods
    known_population = int(neighborhoods["population"].fillna(0).sum())
    latest_quarter = periods.latest_quarter
    return (
        '<div class="cards">'
        + card("Neighborhoods", count(len(neighborhoods)), f"{count(known_population)} residents")
        + card(
            "Violent crime, last 12 months",
            rate(city_violent_12m(published.crime, periods.crime_last_year)),
            "incidents per 1,000 residents, whole city",
        )
        + card(
            f"Trust index, {quarter_label(latest_quarter)}" if latest_quarter else "Trust index",
            index(city.trust_index.get(latest_quarter)),
            "respondent-weighted, suppressed neighborhoods left out",
        )
        + card(
            "Attendances, last 12 months",
            count(city.attendances[city.attendances.index.isin(periods.engagement_last_year)].sum()),
            "person-event pairs at community events",
        )
        + "</div>"
    )
