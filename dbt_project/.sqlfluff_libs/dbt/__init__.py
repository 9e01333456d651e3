"""Lint-time stand-ins for dbt's cross-database macros (`dbt.<name>`), rendering DuckDB SQL.

sqlfluff's jinja templater (see ../../.sqlfluff) has no dbt adapter; these only let the
models render to parseable SQL. dbt itself never imports this.
"""


def type_string():
    return "varchar"


def type_timestamp():
    return "timestamp"


def type_bigint():
    return "bigint"


def date_trunc(datepart, date):
    return f"date_trunc('{datepart}', {date})"


def dateadd(datepart, interval, from_date_or_timestamp):
    return f"({from_date_or_timestamp} + cast({interval} as bigint) * interval 1 {datepart})"


def datediff(first_date, second_date, datepart):
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def generate_series(upper_bound):
    return f"select generate_series as generated_number from generate_series(1, {upper_bound})"
