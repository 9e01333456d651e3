{#
    count / population × 1000, NULL when the population is unknown (NULL) or 0
    (docs/metrics.md#periods-and-population: rates are never infinite and never an error).
#}
{% macro per_1k(count_expression, population_expression) -%}
    case
        when {{ population_expression }} > 0
            then cast({{ count_expression }} as double) / {{ population_expression }} * 1000
    end
{%- endmacro %}
