-- The event study of each program and metric: per period of the windows, relative to the start
-- month (months −12..11; quarters −4..3 for trust_index), the neighborhood's value, its
-- comparison's (int_program_unit_periods) and their gap minus the mean gap of the pre window, with
-- the band the placebos' gaps (measured the same way) fill. Parallel trends before the start
-- show as pre-period gaps near 0 and inside the band. See docs/metrics.md#event-study and docs/evaluation.md.
with

unit_periods as (

    select * from {{ ref('int_program_unit_periods') }}

),

gaps as (

    select
        *,
        unit_value - comparison_value as gap
    from unit_periods

),

pre_gaps as (

    select
        program_id,
        metric,
        unit_neighborhood_id,
        {{ exact_avg('gap') }} as mean_pre_gap
    from gaps
    where window_name = 'pre' and gap is not null
    group by program_id, metric, unit_neighborhood_id

),

gaps_vs_pre as (

    select
        gaps.*,
        gaps.gap - pre_gaps.mean_pre_gap as gap_vs_pre
    from gaps
    left join pre_gaps
        on
            gaps.program_id = pre_gaps.program_id
            and gaps.metric = pre_gaps.metric
            and gaps.unit_neighborhood_id = pre_gaps.unit_neighborhood_id

),

placebo_bands as (

    select
        program_id,
        metric,
        relative_period,
        count(gap_vs_pre) as placebos,
        {{ percentile_linear('gap_vs_pre', 0.025) }} as band_low,
        {{ percentile_linear('gap_vs_pre', 0.975) }} as band_high
    from gaps_vs_pre
    where is_placebo and gap_vs_pre is not null
    group by program_id, metric, relative_period

),

period_keys as (

    select distinct
        program_id,
        metric,
        period_start,
        relative_period
    from unit_periods

),

final as (

    select
        cast(period_keys.program_id as {{ dbt.type_string() }}) as program_id,
        cast(period_keys.metric as {{ dbt.type_string() }}) as metric,
        cast(period_keys.relative_period as integer) as relative_period,
        cast(period_keys.period_start as date) as period_start,
        cast(treated.unit_value as double) as neighborhood_value,
        cast(treated.comparison_value as double) as comparison_value,
        cast(treated.gap as double) as gap,
        cast(treated.gap_vs_pre as double) as gap_vs_pre,
        -- as for did_ci_low/high: fewer than 19 placebos give no band
        cast(case when placebo_bands.placebos >= 19 then placebo_bands.band_low end as double) as placebo_band_low,
        cast(case when placebo_bands.placebos >= 19 then placebo_bands.band_high end as double) as placebo_band_high,
        cast(coalesce(placebo_bands.placebos, 0) as integer) as placebos
    from period_keys
    left join gaps_vs_pre as treated
        on
            period_keys.program_id = treated.program_id
            and period_keys.metric = treated.metric
            and period_keys.period_start = treated.period_start
            and not treated.is_placebo
    left join placebo_bands
        on
            period_keys.program_id = placebo_bands.program_id
            and period_keys.metric = placebo_bands.metric
            and period_keys.relative_period = placebo_bands.relative_period

)

select * from final
