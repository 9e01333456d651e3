-- Before/after and difference-in-differences per program and metric. Values come from the
-- published period tables, which have rows only inside their subject's coverage, so a period
-- counts when its subject covers it and its value is not NULL (rates need a population;
-- suppressed survey cells have no trust_index). A quarter counts in a
-- window only when it lies wholly inside it, so a quarter straddling the start month is in
-- neither. See docs/evaluation.md for how to read the result.
{%- set min_months = var('evaluation_min_months', 6) %}
with

programs as (

    select * from {{ ref('int_programs_windowed') }}

),

comparison_neighborhoods as (

    select * from {{ ref('int_programs_comparison_neighborhoods') }}

),

crime as (

    select * from {{ ref('crime_monthly') }}

),

engagement as (

    select * from {{ ref('engagement_monthly') }}

),

trust as (

    select * from {{ ref('trust_quarterly') }}

),

metric_values as (

    select
        neighborhood_id,
        'violent_per_1k' as metric,
        month as period_start,
        violent_per_1k as metric_value
    from crime
    union all
    select
        neighborhood_id,
        'incidents_per_1k' as metric,
        month as period_start,
        incidents_per_1k as metric_value
    from crime
    union all
    select
        neighborhood_id,
        'participants_per_1k' as metric,
        month as period_start,
        participants_per_1k as metric_value
    from engagement
    union all
    select
        neighborhood_id,
        'trust_index' as metric,
        quarter as period_start,
        trust_index as metric_value
    from trust

),

metrics as (

    select
        'violent_per_1k' as metric,
        1 as period_months
    union all
    select
        'incidents_per_1k' as metric,
        1 as period_months
    union all
    select
        'participants_per_1k' as metric,
        1 as period_months
    union all
    select
        'trust_index' as metric,
        3 as period_months

),

program_metrics as (

    select
        programs.program_id,
        programs.neighborhood_id,
        programs.start_month,
        programs.pre_start,
        programs.post_end,
        metrics.metric,
        metrics.period_months
    from programs
    cross join metrics

),

-- every non-NULL period value of any neighborhood lying wholly in a program's pre or post window
windowed as (

    select
        program_metrics.program_id,
        program_metrics.metric,
        metric_values.neighborhood_id,
        metric_values.period_start,
        metric_values.metric_value,
        case when metric_values.period_start < program_metrics.start_month then 'pre' else 'post' end
            as window_name
    from program_metrics
    inner join metric_values
        on
            program_metrics.metric = metric_values.metric
            and program_metrics.pre_start <= metric_values.period_start
            and {{ dbt.dateadd('month', 'program_metrics.period_months', 'metric_values.period_start') }}
            <= program_metrics.post_end
            and (
                program_metrics.start_month <= metric_values.period_start
                or {{ dbt.dateadd('month', 'program_metrics.period_months', 'metric_values.period_start') }}
                <= program_metrics.start_month
            )
    where metric_values.metric_value is not null

),

treated as (

    select
        windowed.program_id,
        windowed.metric,
        windowed.window_name,
        -- sums of doubles depend on the order rows arrive in, which differs between builds; sums
        -- of decimals do not, so the published floats are the same on every rebuild
        cast(sum(cast(windowed.metric_value as decimal(38, 18))) as double) / count(*) as mean_value,
        count(*) as periods
    from windowed
    inner join program_metrics
        on
            windowed.program_id = program_metrics.program_id
            and windowed.metric = program_metrics.metric
            and windowed.neighborhood_id = program_metrics.neighborhood_id
    group by windowed.program_id, windowed.metric, windowed.window_name

),

-- population-weighted mean of the comparison neighborhoods, per period ...
comparison_periods as (

    select
        windowed.program_id,
        windowed.metric,
        windowed.window_name,
        windowed.period_start,
        cast(sum(cast(windowed.metric_value * comparison_neighborhoods.population as decimal(38, 18))) as double)
        / sum(comparison_neighborhoods.population) as weighted_value
    from windowed
    inner join comparison_neighborhoods
        on
            windowed.program_id = comparison_neighborhoods.program_id
            and windowed.neighborhood_id = comparison_neighborhoods.neighborhood_id
    where comparison_neighborhoods.population > 0
    group by windowed.program_id, windowed.metric, windowed.window_name, windowed.period_start

),

-- ... then averaged over the window's periods, like the treated neighborhood's values
comparison as (

    select
        program_id,
        metric,
        window_name,
        cast(sum(cast(weighted_value as decimal(38, 18))) as double) / count(*) as mean_value,
        count(*) as periods
    from comparison_periods
    group by program_id, metric, window_name

),

joined as (

    select
        program_metrics.program_id,
        program_metrics.metric,
        program_metrics.period_months,
        treated_pre.mean_value as pre,
        treated_post.mean_value as post,
        comparison_pre.mean_value as comparison_pre,
        comparison_post.mean_value as comparison_post,
        coalesce(treated_pre.periods, 0) as months_pre,
        coalesce(treated_post.periods, 0) as months_post,
        coalesce(comparison_pre.periods, 0) as comparison_periods_pre,
        coalesce(comparison_post.periods, 0) as comparison_periods_post
    from program_metrics
    left join treated as treated_pre
        on
            program_metrics.program_id = treated_pre.program_id
            and program_metrics.metric = treated_pre.metric
            and treated_pre.window_name = 'pre'
    left join treated as treated_post
        on
            program_metrics.program_id = treated_post.program_id
            and program_metrics.metric = treated_post.metric
            and treated_post.window_name = 'post'
    left join comparison as comparison_pre
        on
            program_metrics.program_id = comparison_pre.program_id
            and program_metrics.metric = comparison_pre.metric
            and comparison_pre.window_name = 'pre'
    left join comparison as comparison_post
        on
            program_metrics.program_id = comparison_post.program_id
            and program_metrics.metric = comparison_post.metric
            and comparison_post.window_name = 'post'

),

final as (

    select
        cast(program_id as {{ dbt.type_string() }}) as program_id,
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(pre as double) as pre,
        cast(post as double) as post,
        cast(comparison_pre as double) as comparison_pre,
        cast(comparison_post as double) as comparison_post,
        -- an estimate needs at least {{ min_months }} months of periods on each side, for the
        -- program's neighborhood and for the comparison (2 quarters for the quarterly trust index)
        cast(
            case
                when
                    months_pre * period_months >= {{ min_months }}
                    and months_post * period_months >= {{ min_months }}
                    and comparison_periods_pre * period_months >= {{ min_months }}
                    and comparison_periods_post * period_months >= {{ min_months }}
                    then (post - pre) - (comparison_post - comparison_pre)
            end as double
        ) as did,
        cast(months_pre as integer) as months_pre,
        cast(months_post as integer) as months_post
    from joined

),

-- Placebo (randomization) inference: each comparison neighborhood's own estimate with the rest
-- of the comparison as its comparison (int_program_unit_estimates); see docs/evaluation.md.
placebo_estimates as (

    select * from {{ ref('int_program_unit_estimates') }}
    where is_placebo and did is not null

),

placebo_summary as (

    select
        final.program_id,
        final.metric,
        count(placebo_estimates.did) as placebos,
        sum(case when abs(placebo_estimates.did) >= abs(final.did) then 1 else 0 end) as placebos_as_large,
        {{ percentile_linear('placebo_estimates.did', 0.025) }} as placebo_q025,
        {{ percentile_linear('placebo_estimates.did', 0.975) }} as placebo_q975
    from final
    left join placebo_estimates
        on
            final.program_id = placebo_estimates.program_id
            and final.metric = placebo_estimates.metric
    group by final.program_id, final.metric

),

with_inference as (

    select
        final.program_id,
        cast(programs.program_name as {{ dbt.type_string() }}) as program_name,
        cast(programs.neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,
        cast(programs.start_month as date) as start_month,
        cast(programs.end_date as date) as end_date,
        final.metric,
        final.pre,
        final.post,
        final.comparison_pre,
        final.comparison_post,
        final.did,
        -- fewer than 19 placebos cannot place an estimate outside their 2.5–97.5 % range
        cast(case when placebo_summary.placebos >= 19 then final.did - placebo_summary.placebo_q975 end as double)
            as did_ci_low,
        cast(case when placebo_summary.placebos >= 19 then final.did - placebo_summary.placebo_q025 end as double)
            as did_ci_high,
        cast(
            case
                when final.did is not null
                    -- a double division on every engine (Spark reads 1.0 as a decimal)
                    then cast(1 + coalesce(placebo_summary.placebos_as_large, 0) as double)
                        / (1 + placebo_summary.placebos)
            end as double
        ) as did_p_value,
        cast(placebo_summary.placebos as integer) as placebos,
        final.months_pre,
        final.months_post
    from final
    inner join programs
        on final.program_id = programs.program_id
    inner join placebo_summary
        on
            final.program_id = placebo_summary.program_id
            and final.metric = placebo_summary.metric

)

select * from with_inference
