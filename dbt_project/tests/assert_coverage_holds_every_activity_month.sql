-- Every dated incident, event and survey response falls in a month of its own subject's
-- coverage, so no activity is silently left out of the zero-filled marts (macros/coverage.sql
-- generates a bounded number of months; this fails loudly should the data ever span more).
with

coverage_months as (

    select * from {{ ref('int_coverage_months') }}

),

activity_months as (

    select distinct
        'crime' as subject,
        occurred_month as month
    from {{ ref('int_incidents_deduplicated') }}
    where occurred_month is not null

    union

    select distinct
        'engagement' as subject,
        event_month as month
    from {{ ref('int_events_deduplicated') }}
    where event_month is not null

    union

    select distinct
        'trust' as subject,
        {{ month_start('submitted_at') }} as month
    from {{ ref('int_survey_respondent_scores') }}
    where submitted_at is not null

)

select
    activity_months.subject,
    activity_months.month
from activity_months
left join coverage_months
    on
        activity_months.subject = coverage_months.subject
        and activity_months.month = coverage_months.month
where coverage_months.month is null
