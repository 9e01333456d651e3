-- Coverage of each subject, month by month: every month from the first to the last month with
-- loaded data of that subject alone. crime: incident occurred_at; engagement: event starts_at
-- of the calendars (an attendance is counted in its event's month, so rosters add no month of
-- their own); trust: survey submitted_at. A subject without data has no month. Inside its
-- coverage a subject's mart holds a row for every neighborhood × period (zero = observed none);
-- outside it, none.
{%- set max_spine_months = 2400 %}  {#- 200 years; assert_coverage_holds_every_activity_month guards it #}
with

incidents as (

    select * from {{ ref('int_incidents_deduplicated') }}

),

events as (

    select * from {{ ref('int_events_deduplicated') }}

),

responses as (

    select * from {{ ref('int_survey_respondent_scores') }}

),

subject_bounds as (

    select
        'crime' as subject,
        {{ month_start('min(occurred_at)') }} as first_month,
        {{ month_start('max(occurred_at)') }} as last_month
    from incidents

    union all

    select
        'engagement' as subject,
        {{ month_start('min(starts_at)') }} as first_month,
        {{ month_start('max(starts_at)') }} as last_month
    from events

    union all

    select
        'trust' as subject,
        {{ month_start('min(submitted_at)') }} as first_month,
        {{ month_start('max(submitted_at)') }} as last_month
    from responses

),

month_offsets as (

    {{ dbt.generate_series(max_spine_months) }}

),

-- a subject without data has NULL bounds: the comparison is not true and it gets no month
months as (

    select
        subject_bounds.subject,
        cast(
            {{ dbt.dateadd('month', 'month_offsets.generated_number - 1', 'subject_bounds.first_month') }}
            as date
        ) as month,
        month_offsets.generated_number as month_index
    from subject_bounds
    cross join month_offsets
    where
        month_offsets.generated_number - 1
        <= {{ dbt.datediff('subject_bounds.first_month', 'subject_bounds.last_month', 'month') }}

),

final as (

    select
        subject,
        month,
        {{ quarter_start('month') }} as quarter,
        month_index
    from months

)

select * from final
