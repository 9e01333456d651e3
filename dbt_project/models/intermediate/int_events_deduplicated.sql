-- One row per event_id: the version of its latest load.
with

events as (

    select * from {{ ref('stg_events__events') }}

),

loads_ranked as (

    select
        *,
        row_number() over (
            partition by event_id
            order by loaded_at desc, load_id desc
        ) as load_rank
    from events

),

final as (

    select
        event_id,
        source,
        load_id,
        neighborhood_id,
        program_id,
        area_code,
        district,
        event_title,
        event_type,
        starts_at,
        {{ month_start('starts_at') }} as event_month
    from loads_ranked
    where load_rank = 1

)

select * from final
