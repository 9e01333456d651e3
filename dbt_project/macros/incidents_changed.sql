{#
    The filter of int_incidents_deduplicated's incremental run, its select and its pre-hook delete: the
    rows (source, incident_id) of int_incidents_changed, the work list, or every row when the work list
    holds its NULL-source row, "everything".

    Which of the two is decided here, by a query before the statement, rather than inside it:
    `exists (... where source is null) or exists (... correlated on source, incident_id)` keeps DuckDB
    from planning a semi-join, so each of the 8.4 M incidents of Chicago was checked one by one (~8 s
    per daily run), while the plain `in (select ...)` is a hash semi-join over the few changed ones.

    dbt renders the model body and its pre-hook at run time (`execute` true), after int_incidents_changed
    is built. While dbt parses, no query runs and the semi-join is emitted, so the SQL still parses.
    `relation_alias` names the filtered relation in the statement. `changed` is the work list's relation, for a
    caller that cannot ref it (a test, macros/where_subquery.sql).
#}
{% macro incidents_changed_filter(relation_alias, changed=none) %}
    {%- set changed = changed if changed is not none else ref('int_incidents_changed') -%}
    {%- set everything = false -%}
    {%- if execute -%}
        {%- set result = run_query('select exists (select 1 from ' ~ changed ~ ' where source is null)') -%}
        {%- set everything = result.columns[0].values()[0] -%}
    {%- endif -%}
    {%- if not everything -%}
        where ({{ relation_alias }}.source, {{ relation_alias }}.incident_id) in (
            select source, incident_id from {{ changed }}
        )
    {%- endif -%}
{% endmacro %}
