"""Raking weights for the resident surveys (docs/metrics.md#weighting-raking).

Each neighborhood × quarter is weighted on its own, to the neighborhood's age_group and gender margins
(canonical.population rows with dimension 'age_group' / 'gender').

Formulas (n = respondents of the cell, R = those raked, see "who is raked" below):

1. Raking, i.e. iterative proportional fitting (Deming & Stephan 1940, "On a least squares adjustment of a
   sampled frequency table when the expected marginal totals are known", Ann. Math. Stat. 11(4);
   Kolenikov 2014, "Calibrating survey data using iterative proportional fitting (raking)", Stata Journal
   14(1)). Targets T[d, c] = |R| · N[d, c] / Σ_c' N[d, c'], N = the margin's population. Start from w_i = 1;
   one sweep visits each dimension d in turn (age_group, then gender) and sets, for every category c,
   w_i ← w_i · T[d, c] / Σ_{j ∈ R, x_jd = c} w_j for each i in c. Sweeps repeat until every weighted category
   total is within `TOLERANCE` · |R| of its target; at most `MAX_SWEEPS`, and fewer when a sweep no longer
   shrinks the largest miss (margins this sample cannot meet).
2. Trimming (Battaglia, Izrael, Hoaglin & Frankel 2009, "Practical considerations in raking survey data",
   Survey Practice 2(5)): once, after raking, w_i ← min(max(w_i, 0.2 · w̄), 5 · w̄) with w̄ the mean weight of
   all n respondents, then renormalised w_i ← w_i · n / Σ w so the weights sum to n (mean 1). The
   renormalisation may move a weight slightly past a bound again; the contract trims once.
3. Kish's effective sample size (Kish 1965, Survey Sampling, §11.7): n_eff = (Σ w)² / Σ w², and the design
   effect of weighting n / n_eff.

Who is raked: a respondent whose age_group or gender is missing ("Prefer not to say", blank) or is not a
category of the neighborhood's margins cannot be placed in the margins. Such respondents keep weight 1 (the
mean weight) and are treated as a random draw from the neighborhood: the others are raked to the margins
scaled to their own number |R|, so Σ w = n before trimming. Only dimensions with margins are raked.

No weights (status not 'raked'; published weighted indices are NULL, effective_n = respondents):
'no_margins' (the neighborhood has no age_group or gender margins), 'empty_margin_category' (a category with
population > 0 has no raked respondent: its target cannot be met; also when no respondent can be raked), and
'not_converged'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.kinds.sql import normalize_label

DIMENSIONS = ("age_group", "gender")
TRIM_LOW, TRIM_HIGH = 0.2, 5.0
TOLERANCE = 1e-13
# Raking converges geometrically when the margins can be met; a sample whose categories cannot meet them
# (e.g. every young respondent is a woman but the margins say otherwise) never does: stop and say so.
MAX_SWEEPS = 1_000
STALL = 1e-6  # a sweep that shrinks the largest miss by less than this share means no convergence


class RakingError(ValueError):
    """The margins cannot be met: `status` says why (`empty_margin_category`, `not_converged`)."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


def rake(categories: pd.DataFrame, margins: dict[str, pd.Series]) -> np.ndarray:
    """Raking weights (summing to len(categories)) so that each dimension's weighted category shares equal the
    margins' population shares. `categories` has one column per dimension in `margins`, every value a category
    of that margin; `margins[d]` maps a category of d to its population."""
    n = len(categories)
    weights = np.ones(n)
    plan = []  # per dimension: each respondent's category number, and each category's target total
    for dimension, population in margins.items():
        targets = (population / population.sum() * n).to_numpy(dtype=float)
        codes = population.index.get_indexer(categories[dimension])  # -1: not a category of the margin
        if (codes < 0).any():
            raise ValueError(f"{dimension}: respondents outside the margin's categories cannot be raked")
        empty = population.index[(np.bincount(codes, minlength=len(targets)) == 0) & (targets > 0)].tolist()
        if n == 0 or empty:
            raise RakingError("empty_margin_category", f"no respondent in {dimension} {empty or 'any'}")
        plan.append((codes, targets))
    previous_gap = np.inf
    for sweep in range(MAX_SWEEPS):
        gap = 0.0  # the largest miss of a category total met in this sweep, before its adjustment
        for codes, targets in plan:
            totals = np.bincount(codes, weights=weights, minlength=len(targets))
            if ((totals == 0) & (targets > 0)).any():  # zeroed by a category with no population
                raise RakingError("empty_margin_category", "a margin category lost all its weight")
            gap = max(gap, np.abs(totals - targets).max())
            weights *= np.divide(targets, totals, out=np.zeros_like(targets), where=totals > 0)[codes]
        if gap <= TOLERANCE * n:
            return weights
        if sweep >= 50 and gap > previous_gap * (1 - STALL):
            break  # the miss no longer shrinks: these margins cannot be met by this sample
        previous_gap = gap
    raise RakingError("not_converged", f"raking did not converge (category totals still miss by {gap:.3g})")


def trim_and_renormalise(weights: np.ndarray) -> np.ndarray:
    mean = weights.mean()
    trimmed = np.clip(weights, TRIM_LOW * mean, TRIM_HIGH * mean)
    return trimmed * len(weights) / trimmed.sum()


def effective_n(weights: np.ndarray) -> float:
    return float(weights.sum() ** 2 / (weights**2).sum())


def neighborhood_targets(margins: pd.DataFrame) -> dict[str, dict[str, pd.Series]]:
    """Per neighborhood, per raking dimension: population by category label (case and spacing folded)."""
    margins = margins[margins["dimension"].isin(DIMENSIONS)]
    labelled = margins.assign(label=margins["category"].map(normalize_label))
    population = labelled.groupby(["neighborhood_id", "dimension", "label"])["population"].sum()
    return {
        neighborhood: {
            dimension: by_label.droplevel([0, 1]) for dimension, by_label in group.groupby(level=1)
        }
        for neighborhood, group in population.groupby(level=0)
    }


def cell_weights(
    respondents: pd.DataFrame, targets: dict[str, pd.Series]
) -> tuple[np.ndarray | None, np.ndarray, str]:
    """Weights of one neighborhood × quarter: (weights or None, which respondents were raked, status).

    `respondents` has age_group and gender; `targets` is the neighborhood's entry of neighborhood_targets."""
    raked = np.ones(len(respondents), dtype=bool)
    if not targets:
        return None, ~raked, "no_margins"
    labels = labelled(respondents, list(targets))
    for dimension, population in targets.items():
        raked &= labels[dimension].isin(population.index).to_numpy()
    try:
        raked_weights = rake(labels.loc[raked], targets)
    except RakingError as error:
        return None, raked, error.status
    weights = np.ones(len(respondents))
    weights[raked] = raked_weights
    return trim_and_renormalise(weights), raked, "raked"


def labelled(respondents: pd.DataFrame, dimensions: list[str]) -> pd.DataFrame:
    """The respondents' answers of `dimensions` as labels (case and spacing folded, as the margins' categories
    are), each distinct answer folded once."""
    return pd.DataFrame(
        {
            dimension: respondents[dimension].map(
                {value: normalize_label(value) for value in respondents[dimension].unique()}
            )
            for dimension in dimensions
        },
        index=respondents.index,
    )


def survey_weights(respondents: pd.DataFrame, margins: pd.DataFrame) -> pd.DataFrame:
    """Respondents (neighborhood_id, quarter, age_group, gender, ...) with `weight`, `raked` and
    `weighting_status`, each neighborhood × quarter raked to its neighborhood's margins."""
    targets = neighborhood_targets(margins)
    result = respondents.reset_index(drop=True)
    # Filled cell by cell and set as columns once: setting a cell's rows of a DataFrame column costs milliseconds,
    # and a city has a few hundred cells.
    weight, raked, status = (
        np.full(len(result), np.nan),
        np.zeros(len(result), dtype=bool),
        np.full(len(result), "", dtype=object),
    )
    for (neighborhood, _quarter), rows in result.groupby(
        ["neighborhood_id", "quarter"], sort=True
    ).indices.items():
        weights, raked[rows], status[rows] = cell_weights(result.iloc[rows], targets.get(neighborhood, {}))
        if weights is not None:
            weight[rows] = weights
    return result.assign(weight=weight, raked=raked, weighting_status=status)
