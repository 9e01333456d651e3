with

-- the calendars' coverage only: no row (never a zero) outside it
neighborhood_months as (

    {{ neighborhood_frame(ref('int_neighborhoods_deduplicated'), ref('int_engagement_coverage')) }}

),

events as (

    select * from {{ ref('int_events_deduplicated') }}

),

attendances as (

    select * from {{ ref('int_attendances_deduplicated') }}

),

monthly_events as (

    select
        neighborhood_id,
        event_month as month,
        count(*) as events_held
    from events
    group by neighborhood_id, event_month

),

monthly_attendances as (

    select
        neighborhood_id,
        event_month as month,
        count(*) as attendances,
        count(distinct person_id) as unique_participants,
        count(distinct case when first_attended_month = event_month then person_id end)
            as new_participants,
        count(distinct case when age_group in {{ sql_string_list(var('youth_age_groups')) }} then person_id end)
            as youth_participants
    from attendances
    group by neighborhood_id, event_month

),

zero_filled as (

    select
        neighborhood_months.neighborhood_id,
        neighborhood_months.month,
        neighborhood_months.population,
        coalesce(monthly_events.events_held, 0) as events_held,
        coalesce(monthly_attendances.attendances, 0) as attendances,
        coalesce(monthly_attendances.unique_participants, 0) as unique_participants,
        coalesce(monthly_attendances.new_participants, 0) as new_participants,
        coalesce(monthly_attendances.youth_participants, 0) as youth_participants
    from neighborhood_months
    left join monthly_events
        on
            neighborhood_months.neighborhood_id = monthly_events.neighborhood_id
            and neighborhood_months.month = monthly_events.month
    left join monthly_attendances
        on
            neighborhood_months.neighborhood_id = monthly_attendances.neighborhood_id
            and neighborhood_months.month = monthly_attendances.month

),

final as (

    select
        cast(neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,
        cast(month as date) as month,
        cast(events_held as integer) as events_held,
        cast(attendances as integer) as attendances,
        cast(unique_participants as integer) as unique_participants,
        cast(new_participants as integer) as new_participants,
        cast(unique_participants - new_participants as integer) as returning_participants,
        cast(youth_participants as integer) as youth_participants,
        cast({{ per_1k('unique_participants', 'population') }} as double) as participants_per_1k
    from zero_filled

)

select * from final
