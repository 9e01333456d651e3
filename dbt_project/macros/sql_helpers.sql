{# Render a list of strings as a SQL literal list: ['a', "b's"] -> ('a', 'b''s'). #}
{% macro sql_string_list(values) -%}
    ({%- for value in values -%}
        '{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}
    {%- endfor -%})
{%- endmacro %}
