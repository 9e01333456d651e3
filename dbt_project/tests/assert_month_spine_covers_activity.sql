-- Every dated incident, event and survey response falls in a month of the spine, so no
-- activity is silently left out of the zero-filled marts (int_months generates a bounded
-- number of months; this fails loudly should the data ever span more).
with

months as (

    select * from {{ ref('int_months') }}

),

activity_months as (

    select distinct occurred_month as month
    from {{ ref('int_incidents_deduplicated') }}
    where occurred_month is not null

    union

    select distinct event_month as month
    from {{ ref('int_events_deduplicated') }}
    where event_month is not null

    union

    select distinct {{ month_start('submitted_at') }} as month
    from {{ ref('int_survey_respondent_scores') }}
    where submitted_at is not null

)

select activity_months.month
from activity_months
left join months
    on activity_months.month = months.month
where months.month is null
