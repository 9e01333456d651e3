{#-
    Aggregates of floating-point values whose result does not depend on the order rows meet, so that DuckDB
    runs every model on every core and a table stays byte-identical from run to run: sum() of DOUBLE adds in
    the order its threads finish. Each value is rounded to 18 decimal places and the values are added exactly,
    as DECIMAL(38, 18), then divided as doubles. Values (and sums) must stay below 10^20 in absolute value.
    `partition_by`: as a window over those columns instead of an aggregate.
-#}
{% macro exact_sum(expression, partition_by=none) -%}
    cast(sum(cast({{ expression }} as decimal(38, 18))){{ _over(partition_by) }} as double)
{%- endmacro %}

{% macro exact_avg(expression, partition_by=none) -%}
    ({{ exact_sum(expression, partition_by) }} / nullif(count({{ expression }}){{ _over(partition_by) }}, 0))
{%- endmacro %}

{#- The sample standard deviation (stddev_samp) of `expression`, in two passes: around `mean`, the exact_avg of
    the same values (a window over the aggregate's groups), which also keeps it exact where every value is equal. -#}
{% macro exact_stddev_samp(expression, mean) -%}
    sqrt(
        {{ exact_sum('(' ~ expression ~ ' - ' ~ mean ~ ') * (' ~ expression ~ ' - ' ~ mean ~ ')') }}
        / nullif(count({{ expression }}) - 1, 0)
    )
{%- endmacro %}

{% macro _over(partition_by) -%}
    {%- if partition_by %} over (partition by {{ partition_by }}){% endif -%}
{%- endmacro %}

{#- With NBHD_DBT_VERIFY_PARALLELISM set (a test does), DuckDB splits every query across its threads even on a
    handful of rows (`pragma verify_parallelism`), so that a table whose values depend on the order rows meet
    differs from one build to the next on a small city too. A pre-hook of every model (dbt_project.yml). -#}
{% macro verify_parallelism() -%}
    {%- if target.type == 'duckdb' and env_var('NBHD_DBT_VERIFY_PARALLELISM', '') -%}
        pragma verify_parallelism
    {%- endif -%}
{%- endmacro %}
