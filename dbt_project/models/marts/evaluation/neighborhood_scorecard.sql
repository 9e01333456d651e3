-- One row per neighborhood × quarter covered by at least one subject, joining the three
-- questions of the evaluation: crime, participation and trust, with changes on the previous
-- quarter and on the same quarter a year earlier. A subject's columns are NULL in a quarter
-- outside its coverage (its mart has no row there), never 0.
with

neighborhood_quarters as (

    {{ neighborhood_frame(ref('int_neighborhoods_deduplicated'), ref('int_coverage_months')) }}

),

-- the union of the subjects' quarters
scorecard_quarters as (

    select distinct
        neighborhood_id,
        quarter
    from neighborhood_quarters

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

    -- crime_monthly, engagement_monthly and trust_quarterly hold every neighborhood × period of
    -- their subject's coverage: a quarter without their row is outside it, and stays NULL
    select
        scorecard_quarters.neighborhood_id,
        scorecard_quarters.quarter,
        neighborhoods.name,
        neighborhoods.population,
        crime_quarterly.incidents,
        {{ per_1k('crime_quarterly.violent_incidents', 'neighborhoods.population') }} as violent_per_1k,
        events_quarterly.events_held,
        case
            when events_quarterly.neighborhood_id is not null
                then coalesce(participants.unique_participants, 0)
        end as unique_participants,
        trust.trust_index,
        trust.safety_index,
        trust.respondents,
        trust.suppressed
    from scorecard_quarters
    inner join neighborhoods
        on scorecard_quarters.neighborhood_id = neighborhoods.neighborhood_id
    left join crime_quarterly
        on
            scorecard_quarters.neighborhood_id = crime_quarterly.neighborhood_id
            and scorecard_quarters.quarter = crime_quarterly.quarter
    left join events_quarterly
        on
            scorecard_quarters.neighborhood_id = events_quarterly.neighborhood_id
            and scorecard_quarters.quarter = events_quarterly.quarter
    left join participants
        on
            scorecard_quarters.neighborhood_id = participants.neighborhood_id
            and scorecard_quarters.quarter = participants.quarter
    left join trust
        on
            scorecard_quarters.neighborhood_id = trust.neighborhood_id
            and scorecard_quarters.quarter = trust.quarter

),

with_rates as (

    select
        *,
        {{ per_1k('unique_participants', 'population') }} as participants_per_1k
    from quarterly

),

-- the previous quarter and the same quarter a year earlier, found by date (not by row order)
with_changes as (

    select
        with_rates.*,
        with_rates.violent_per_1k - previous_quarter.violent_per_1k as violent_per_1k_change_qoq,
        with_rates.violent_per_1k - year_earlier.violent_per_1k as violent_per_1k_change_yoy,
        with_rates.participants_per_1k - previous_quarter.participants_per_1k as participants_per_1k_change_qoq,
        with_rates.participants_per_1k - year_earlier.participants_per_1k as participants_per_1k_change_yoy,
        with_rates.trust_index - previous_quarter.trust_index as trust_index_change_qoq,
        with_rates.trust_index - year_earlier.trust_index as trust_index_change_yoy
    from with_rates
    left join with_rates as previous_quarter
        on
            with_rates.neighborhood_id = previous_quarter.neighborhood_id
            and previous_quarter.quarter = cast({{ dbt.dateadd('month', -3, 'with_rates.quarter') }} as date)
    left join with_rates as year_earlier
        on
            with_rates.neighborhood_id = year_earlier.neighborhood_id
            and year_earlier.quarter = cast({{ dbt.dateadd('month', -12, 'with_rates.quarter') }} as date)

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
