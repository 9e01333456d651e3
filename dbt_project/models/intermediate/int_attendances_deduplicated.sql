-- One row per attendance, i.e. distinct (event_id, person_id) pair, of a known event
-- (attendances of an event_id missing from the loaded calendar are excluded: the roster load
-- keeps lines of an event whose calendar row is quarantined, to count them once it is fixed;
-- the relationships test on stg_roster__attendances warns about them). Carries the event's
-- neighborhood and month — a person is counted in the neighborhood of the event attended —
-- and the month of the person's first-ever attendance anywhere.
with

attendances as (

    select * from {{ ref('stg_roster__attendances') }}

),

events as (

    select * from {{ ref('int_events_deduplicated') }}

),

pairs as (

    select
        event_id,
        person_id,
        -- a person listed twice may have the age group on one line only
        max(age_group) as age_group,
        count(*) as roster_rows
    from attendances
    group by event_id, person_id

),

pairs_of_known_events as (

    select
        pairs.event_id,
        pairs.person_id,
        pairs.age_group,
        pairs.roster_rows,
        events.neighborhood_id,
        events.starts_at,
        events.event_month
    from pairs
    inner join events
        on pairs.event_id = events.event_id

),

final as (

    select
        *,
        min(event_month) over (partition by person_id) as first_attended_month
    from pairs_of_known_events

)

select * from final
