{#
    `column` in the crime marts' window: the months of the Dagster partitions a run rebuilds, given as the
    environment variables NBHD_DBT_WINDOW_START (inclusive) and NBHD_DBT_WINDOW_END (exclusive), first days of
    months; a bound left unset is open.

    The variables are read when a node runs (`execute`), never while dbt parses the project: dbt re-parses a file
    whenever an environment variable it read while parsing changes, and the window changes with every daily run
    (crime_monthly was parsed again twice per run, 1.0-1.1 s). So whatever reads the window renders it at run
    time: the model's body, and its hooks, which call this macro inside their text rather than being built from
    the window while the model is parsed.
#}
{% macro crime_window(column) -%}
    {%- set start = env_var('NBHD_DBT_WINDOW_START', '0001-01-01') if execute else '0001-01-01' -%}
    {%- set end = env_var('NBHD_DBT_WINDOW_END', '9999-12-01') if execute else '9999-12-01' -%}
    {{ column }} >= cast('{{ start }}' as date) and {{ column }} < cast('{{ end }}' as date)
{%- endmacro %}
