-- Distinct participants per neighborhood and quarter (of the event's start): a person who
-- attended in two months of a quarter is one participant of the quarter.
with

attendances as (

    select * from {{ ref('int_attendances_deduplicated') }}

),

final as (

    select
        neighborhood_id,
        {{ quarter_start('event_month') }} as quarter,
        count(distinct person_id) as unique_participants
    from attendances
    group by neighborhood_id, {{ quarter_start('event_month') }}

)

select * from final
