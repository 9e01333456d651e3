{#
    Confidence-interval helpers for the survey indices (docs/metrics.md#intervals).
#}

{# z = Φ⁻¹(0.975): used for Wilson intervals, and for t when df > 5000 (beyond the seed). #}
{% macro normal_quantile_975() -%}
    1.959963984540054
{%- endmacro %}

{#
    One bound of the 95 % Student-t interval of a mean: mean ± t(0.975, n − 1) · sd / √n.
    `t_expression` is the t quantile looked up in seed student_t_975 for df = n − 1
    (NULL beyond the seed → normal quantile). NULL when n < 2.
#}
{% macro t_interval_bound(mean_expression, sd_expression, n_expression, t_expression, sign) -%}
    case
        when {{ n_expression }} >= 2
            then {{ mean_expression }} {{ sign }} coalesce({{ t_expression }}, {{ normal_quantile_975() }})
                * {{ sd_expression }} / sqrt({{ n_expression }})
    end
{%- endmacro %}

{#
    One bound of the 95 % Wilson score interval of a proportion, in percent (0–100).
    p = successes / n; centre = (p + z²/2n) / (1 + z²/n);
    half-width = z · √(p(1 − p)/n + z²/4n²) / (1 + z²/n). NULL when n = 0.
#}
{% macro wilson_bound(successes_expression, n_expression, sign) -%}
    {%- set z = normal_quantile_975() -%}
    {%- set n = '(cast(' ~ n_expression ~ ' as double))' -%}
    {%- set p = '(cast(' ~ successes_expression ~ ' as double) / ' ~ n ~ ')' -%}
    case
        when {{ n_expression }} > 0
            then 100 * (
                ({{ p }} + {{ z }} * {{ z }} / (2 * {{ n }}))
                {{ sign }} {{ z }} * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ z }} * {{ z }} / (4 * {{ n }} * {{ n }}))
            ) / (1 + {{ z }} * {{ z }} / {{ n }})
    end
{%- endmacro %}

{#
    The q-quantile (0 ≤ q ≤ 1) of an aggregated column with linear interpolation between the
    order statistics (numpy's default, "type 7"), as an aggregate function: SQL's ordered-set
    percentile_cont, which DuckDB and Spark (3.3 on) both implement. NULL values are ignored;
    NULL when there is none.
#}
{% macro percentile_linear(expression, q) -%}
    percentile_cont({{ q }}) within group (order by {{ expression }})
{%- endmacro %}
