-- The difference in differences of every unit of a program (int_program_unit_periods): the
-- program's own neighborhood (program_evaluation's estimate) and each placebo. pre / post are the
-- unit's window means over the periods with a value, comparison_pre / comparison_post its
-- comparison's; an estimate needs at least evaluation_min_months months of periods on each side
-- for the unit and for its comparison (2 quarters for trust_index).
{%- set min_months = var('evaluation_min_months', 6) %}
with

unit_periods as (

    select * from {{ ref('int_program_unit_periods') }}

),

window_means as (

    select
        program_id,
        metric,
        unit_neighborhood_id,
        is_placebo,
        window_name,
        period_months,
        {{ exact_avg('unit_value') }} as unit_mean,
        count(unit_value) as unit_periods,
        {{ exact_avg('comparison_value') }} as comparison_mean,
        count(comparison_value) as comparison_periods
    from unit_periods
    group by program_id, metric, unit_neighborhood_id, is_placebo, window_name, period_months

),

units as (

    select distinct
        program_id,
        metric,
        unit_neighborhood_id,
        is_placebo,
        period_months
    from unit_periods

),

final as (

    select
        units.program_id,
        units.metric,
        units.unit_neighborhood_id,
        units.is_placebo,
        pre.unit_mean as pre,
        post.unit_mean as post,
        pre.comparison_mean as comparison_pre,
        post.comparison_mean as comparison_post,
        coalesce(pre.unit_periods, 0) as months_pre,
        coalesce(post.unit_periods, 0) as months_post,
        case
            when
                pre.unit_periods * units.period_months >= {{ min_months }}
                and post.unit_periods * units.period_months >= {{ min_months }}
                and pre.comparison_periods * units.period_months >= {{ min_months }}
                and post.comparison_periods * units.period_months >= {{ min_months }}
                then (post.unit_mean - pre.unit_mean) - (post.comparison_mean - pre.comparison_mean)
        end as did
    from units
    left join window_means as pre
        on
            units.program_id = pre.program_id
            and units.metric = pre.metric
            and units.unit_neighborhood_id = pre.unit_neighborhood_id
            and pre.window_name = 'pre'
    left join window_means as post
        on
            units.program_id = post.program_id
            and units.metric = post.metric
            and units.unit_neighborhood_id = post.unit_neighborhood_id
            and post.window_name = 'post'

)

select * from final
