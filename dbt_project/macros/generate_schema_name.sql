{#
    Use a model's custom schema as is (`published`, not `main_published`), so that
    readers and the exporter find the marts under the names of docs/published-tables.md.
    Models without a custom schema go to the target schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
