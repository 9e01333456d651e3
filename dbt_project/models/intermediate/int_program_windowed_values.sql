-- Every published period value (crime_monthly, engagement_monthly, trust_quarterly) lying wholly
-- in a program's pre or post window, for every neighborhood, with the period's position relative
-- to the start month. A period counts when its value is not NULL, so only covered periods enter
-- the evaluation; a quarter straddling the start month is in neither window.
-- relative_period: 0 = the first period starting on or after the start month, -1 = the last
-- period ending on or before it (months −12..11; quarters −4..3).
with

programs as (

    select * from {{ ref('int_programs_windowed') }}

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

    {{ evaluation_metrics() }}

),

windowed as (

    select
        programs.program_id,
        metrics.metric,
        metrics.period_months,
        metric_values.neighborhood_id,
        metric_values.period_start,
        metric_values.metric_value,
        {{ dbt.datediff('programs.start_month', 'metric_values.period_start', 'month') }} as months_from_start
    from programs
    cross join metrics
    inner join metric_values
        on
            metrics.metric = metric_values.metric
            and programs.pre_start <= metric_values.period_start
            and {{ dbt.dateadd('month', 'metrics.period_months', 'metric_values.period_start') }}
            <= programs.post_end
            and (
                programs.start_month <= metric_values.period_start
                or {{ dbt.dateadd('month', 'metrics.period_months', 'metric_values.period_start') }}
                <= programs.start_month
            )
    where metric_values.metric_value is not null

),

final as (

    select
        program_id,
        metric,
        period_months,
        neighborhood_id,
        period_start,
        metric_value,
        cast(
            case
                when months_from_start < 0 then ceil(cast(months_from_start as double) / period_months)
                else floor(cast(months_from_start as double) / period_months)
            end as integer
        ) as relative_period,
        case when months_from_start < 0 then 'pre' else 'post' end as window_name
    from windowed

)

select * from final
