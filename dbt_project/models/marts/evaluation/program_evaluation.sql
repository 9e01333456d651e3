-- Before/after and difference-in-differences per program and metric, with placebo inference.
-- Values come from the published period tables (int_program_windowed_values): a period counts
-- when its subject covers it and its value is not NULL (rates need a population; suppressed
-- survey cells have no trust_index), and a quarter straddling the start month is in neither
-- window. The estimates themselves are int_program_unit_estimates'. Definitions:
-- docs/metrics.md#difference-in-differences; how to read them: docs/evaluation.md.
with

programs as (

    select * from {{ ref('int_programs_windowed') }}

),

metrics as (

    {{ evaluation_metrics() }}

),

unit_estimates as (

    select * from {{ ref('int_program_unit_estimates') }}

),

-- the program's own neighborhood against the whole comparison (int_program_unit_estimates), for
-- every program and metric, with or without data
final as (

    select
        programs.program_id,
        metrics.metric,
        treated.pre,
        treated.post,
        treated.comparison_pre,
        treated.comparison_post,
        treated.did,
        coalesce(treated.months_pre, 0) as months_pre,
        coalesce(treated.months_post, 0) as months_post
    from programs
    cross join metrics
    left join unit_estimates as treated
        on
            programs.program_id = treated.program_id
            and metrics.metric = treated.metric
            and not treated.is_placebo

),

-- Placebo (randomization) inference: each comparison neighborhood's own estimate with the rest
-- of the comparison as its comparison (int_program_unit_estimates); see docs/metrics.md#placebo-inference.
placebo_estimates as (

    select * from unit_estimates
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
        cast(final.program_id as {{ dbt.type_string() }}) as program_id,
        cast(programs.program_name as {{ dbt.type_string() }}) as program_name,
        cast(programs.neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,
        cast(programs.start_month as date) as start_month,
        cast(programs.end_date as date) as end_date,
        cast(final.metric as {{ dbt.type_string() }}) as metric,
        cast(final.pre as double) as pre,
        cast(final.post as double) as post,
        cast(final.comparison_pre as double) as comparison_pre,
        cast(final.comparison_post as double) as comparison_post,
        cast(final.did as double) as did,
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
        cast(final.months_pre as integer) as months_pre,
        cast(final.months_post as integer) as months_post
    from final
    inner join programs
        on final.program_id = programs.program_id
    inner join placebo_summary
        on
            final.program_id = placebo_summary.program_id
            and final.metric = placebo_summary.metric

)

select * from with_inference
