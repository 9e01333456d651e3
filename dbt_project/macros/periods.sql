{#
    Reporting periods of CONTRACT §4: a month is its first day, a quarter is the first
    day of its quarter, both DATE. Built on dbt's cross-database date_trunc so the
    project runs on DuckDB and Spark alike.
#}
{% macro month_start(timestamp_expression) -%}
    cast({{ dbt.date_trunc('month', timestamp_expression) }} as date)
{%- endmacro %}

{% macro quarter_start(timestamp_expression) -%}
    cast({{ dbt.date_trunc('quarter', timestamp_expression) }} as date)
{%- endmacro %}
