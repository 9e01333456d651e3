{#
    dbt's documented hook for a test's `where` that needs logic at run time: its get_where_subquery, overridden.

    `where: __incidents_changed__` tests only the incidents int_incidents_changed lists, or all of them when it
    says "everything" (macros/incidents_changed.sql). A build of int_incidents_deduplicated deletes and rewrites
    exactly those, so testing them tests every row the build wrote, while a daily run no longer reads all 8.4 M
    of Chicago's incidents once per test (about 1.3 s for the uniqueness test alone). Any other `where` is dbt's.
#}
{% macro get_where_subquery(relation) -%}
    {%- if config.get('where') == '__incidents_changed__' -%}
        {#- The work list beside the tested model: a test cannot ref a model it does not test. -#}
        {%- set changed = relation.incorporate(path={'identifier': 'int_incidents_changed'}) -%}
        {%- set filtered -%}
            (select * from {{ relation }} as incidents {{ incidents_changed_filter('incidents', changed) }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- endif -%}
    {%- do return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -%}
{%- endmacro %}
