-- One row per program with its evaluation windows (docs/metrics.md#difference-in-differences): the
-- 12 months before the start month ("pre") and the 12 months from the start month ("post").
-- Window ends are exclusive.
with

programs as (

    select * from {{ ref('int_programs_deduplicated') }}

),

started as (

    select
        program_id,
        program_name,
        neighborhood_id,
        start_date,
        end_date,
        {{ month_start('start_date') }} as start_month
    from programs

),

final as (

    select
        *,
        cast({{ dbt.dateadd('month', -12, 'start_month') }} as date) as pre_start,
        cast({{ dbt.dateadd('month', 12, 'start_month') }} as date) as post_end
    from started

)

select * from final
