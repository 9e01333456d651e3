{#
    Reporting periods (docs/metrics.md#periods-and-population): a month is its first day, a quarter is the first
    day of its quarter, both DATE. Built on dbt's cross-database date_trunc so the
    project runs on DuckDB and Spark alike.
#}
{% macro month_start(timestamp_expression) -%}
    cast({{ dbt.date_trunc('month', timestamp_expression) }} as date)
{%- endmacro %}

{% macro quarter_start(timestamp_expression) -%}
    cast({{ dbt.date_trunc('quarter', timestamp_expression) }} as date)
{%- endmacro %}

{#
    The metrics a program is evaluated on, each with the length of its period in months (the trust index is
    quarterly): one list for program_evaluation and everything behind it.
#}
{% macro evaluation_metrics() -%}
    select
        'violent_per_1k' as metric,
        1 as period_months
    union all
    select
        'incidents_per_1k' as metric,
        1 as period_months
    union all
    select
        'participants_per_1k' as metric,
        1 as period_months
    union all
    select
        'trust_index' as metric,
        3 as period_months
{%- endmacro %}
