-- The difference in differences of every unit of a program (int_program_unit_periods): the
-- program's own neighborhood and each placebo, with the rule of program_evaluation: window means
-- over the periods with a value, and an estimate only with at least evaluation_min_months months
-- of periods on each side for the unit and for its comparison (2 quarters for trust_index).
{%- set min_months = var('evaluation_min_months', 6) %}
with

unit_periods as (

    select * from {{ ref('int_program_unit_periods') }}

),

{%- set decimal_mean -%}
    cast(sum(cast({value} as decimal(38, 18))) as double) / count({value})
{%- endset %}

window_means as (

    select
        program_id,
        metric,
        unit_neighborhood_id,
        is_placebo,
        period_months,
        {% for window in ['pre', 'post'] -%}
            {%- set unit_value = "case when window_name = '" ~ window ~ "' then unit_value end" -%}
            {%- set comparison_value = "case when window_name = '" ~ window ~ "' then comparison_value end" %}
        {{ decimal_mean | replace('{value}', unit_value) }} as unit_{{ window }},
        count({{ unit_value }}) as unit_periods_{{ window }},
        {{ decimal_mean | replace('{value}', comparison_value) }} as comparison_{{ window }},
        count({{ comparison_value }}) as comparison_periods_{{ window }}{{ ',' if not loop.last }}
        {%- endfor %}
    from unit_periods
    group by program_id, metric, unit_neighborhood_id, is_placebo, period_months

),

final as (

    select
        program_id,
        metric,
        unit_neighborhood_id,
        is_placebo,
        case
            when
                unit_periods_pre * period_months >= {{ min_months }}
                and unit_periods_post * period_months >= {{ min_months }}
                and comparison_periods_pre * period_months >= {{ min_months }}
                and comparison_periods_post * period_months >= {{ min_months }}
                then (unit_post - unit_pre) - (comparison_post - comparison_pre)
        end as did
    from window_means

)

select * from final
