"""Regenerate ``student_t_975.csv``: the 97.5 % quantile of Student's t for df = 1..5000.

The warehouse (DuckDB) has no t distribution, so the 95 % confidence intervals in
``trust_quarterly`` look the quantile up in this seed. For df > 5000 the models use the
normal quantile 1.959963984540054 instead (t - z < 5e-4 there).

Run once, with scipy available (it is not a pipeline dependency):

    python -m venv /tmp/scipy-venv && /tmp/scipy-venv/bin/pip install scipy
    /tmp/scipy-venv/bin/python dbt_project/seeds/make_student_t_975.py
"""

from pathlib import Path

from scipy.stats import t

MAX_DF = 5000


def main() -> None:
    out = Path(__file__).with_name("student_t_975.csv")
    lines = ["df,t_975"]
    lines += [f"{df},{float(t.ppf(0.975, df))!r}" for df in range(1, MAX_DF + 1)]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
