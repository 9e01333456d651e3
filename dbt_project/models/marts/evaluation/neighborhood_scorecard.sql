-- One row per neighborhood × quarter of the covered range joining the three questions of the
-- evaluation: crime, participation and trust (CONTRACT §4), with changes on the previous
-- quarter and on the same quarter a year earlier.
with

neighborhood_quarters as (

    select * from {{ ref('int_neighborhood_quarters') }}

),

neighborhoods as (

    select * from {{ ref('neighborhoods') }}

),

crime as (

    select * from {{ ref('crime_monthly') }}

),

engagement as (

    select * from {{ ref('engagement_monthly') }}

),

participants as (

    select * from {{ ref('int_attendances_quarterly') }}

),

trust as (

    select * from {{ ref('trust_quarterly') }}

),

crime_quarterly as (

    select
        neighborhood_id,
        {{ quarter_start('month') }} as quarter,
        sum(incidents) as incidents,
        sum(violent_incidents) as violent_incidents
    from crime
    group by neighborhood_id, {{ quarter_start('month') }}

),

events_quarterly as (

    select
        neighborhood_id,
        {{ quarter_start('month') }} as quarter,
        sum(events_held) as events_held
    from engagement
    group by neighborhood_id, {{ quarter_start('month') }}

),

quarterly as (

    select
        neighborhood_quarters.neighborhood_id,
        neighborhood_quarters.quarter,
        neighborhoods.name,
        neighborhoods.population,
        coalesce(crime_quarterly.incidents, 0) as incidents,
        {{ per_1k('coalesce(crime_quarterly.violent_incidents, 0)', 'neighborhoods.population') }}
            as violent_per_1k,
        coalesce(events_quarterly.events_held, 0) as events_held,
        coalesce(participants.unique_participants, 0) as unique_participants,
        {{ per_1k('coalesce(participants.unique_participants, 0)', 'neighborhoods.population') }}
            as participants_per_1k,
        trust.trust_index,
        trust.safety_index,
        coalesce(trust.respondents, 0) as respondents,
        coalesce(trust.suppressed, true) as suppressed
    from neighborhood_quarters
    inner join neighborhoods
        on neighborhood_quarters.neighborhood_id = neighborhoods.neighborhood_id
    left join crime_quarterly
        on
            neighborhood_quarters.neighborhood_id = crime_quarterly.neighborhood_id
            and neighborhood_quarters.quarter = crime_quarterly.quarter
    left join events_quarterly
        on
            neighborhood_quarters.neighborhood_id = events_quarterly.neighborhood_id
            and neighborhood_quarters.quarter = events_quarterly.quarter
    left join participants
        on
            neighborhood_quarters.neighborhood_id = participants.neighborhood_id
            and neighborhood_quarters.quarter = participants.quarter
    left join trust
        on
            neighborhood_quarters.neighborhood_id = trust.neighborhood_id
            and neighborhood_quarters.quarter = trust.quarter

),

-- the previous quarter and the same quarter a year earlier, found by date (not by row order)
with_changes as (

    select
        quarterly.*,
        quarterly.violent_per_1k - previous_quarter.violent_per_1k as violent_per_1k_change_qoq,
        quarterly.violent_per_1k - year_earlier.violent_per_1k as violent_per_1k_change_yoy,
        quarterly.participants_per_1k - previous_quarter.participants_per_1k as participants_per_1k_change_qoq,
        quarterly.participants_per_1k - year_earlier.participants_per_1k as participants_per_1k_change_yoy,
        quarterly.trust_index - previous_quarter.trust_index as trust_index_change_qoq,
        quarterly.trust_index - year_earlier.trust_index as trust_index_change_yoy
    from quarterly
    left join quarterly as previous_quarter
        on
            quarterly.neighborhood_id = previous_quarter.neighborhood_id
            and previous_quarter.quarter = cast({{ dbt.dateadd('month', -3, 'quarterly.quarter') }} as date)
    left join quarterly as year_earlier
        on
            quarterly.neighborhood_id = year_earlier.neighborhood_id
            and year_earlier.quarter = cast({{ dbt.dateadd('month', -12, 'quarterly.quarter') }} as date)

),

final as (

    select
        cast(neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,
        cast(quarter as date) as quarter,
        cast(name as {{ dbt.type_string() }}) as name,
        cast(population as integer) as population,
        cast(incidents as integer) as incidents,
        cast(violent_per_1k as double) as violent_per_1k,
        cast(events_held as integer) as events_held,
        cast(unique_participants as integer) as unique_participants,
        cast(participants_per_1k as double) as participants_per_1k,
        cast(trust_index as double) as trust_index,
        cast(safety_index as double) as safety_index,
        cast(respondents as integer) as respondents,
        cast(suppressed as boolean) as suppressed,
        cast(violent_per_1k_change_qoq as double) as violent_per_1k_change_qoq,
        cast(violent_per_1k_change_yoy as double) as violent_per_1k_change_yoy,
        cast(participants_per_1k_change_qoq as double) as participants_per_1k_change_qoq,
        cast(participants_per_1k_change_yoy as double) as participants_per_1k_change_yoy,
        cast(trust_index_change_qoq as double) as trust_index_change_qoq,
        cast(trust_index_change_yoy as double) as trust_index_change_yoy
    from with_changes

)

select * from final
