{#-
    The profile pins DuckDB to one thread (profiles.yml): parallel aggregation sums floating-point values in a
    varying order. A model whose result does not depend on the order rows meet (integers and text only, every
    window ordered totally) may use every core, DuckDB's default: its pre-hook `threads_every_core()`, its
    post-hook `threads_of_profile()`, which restores the profile's setting for the models after it. Spark: nothing.
-#}
{% macro threads_every_core() -%}
    {%- if target.type == 'duckdb' -%}
        set variable profile_threads = current_setting('threads'); reset threads
    {%- endif -%}
{%- endmacro %}

{% macro threads_of_profile() -%}
    {%- if target.type == 'duckdb' -%}
        set threads = getvariable('profile_threads')
    {%- endif -%}
{%- endmacro %}
