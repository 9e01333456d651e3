-- Month spine of the covered range: every month from the earliest to the latest month seen
-- in crime occurred_at, event starts_at and survey submitted_at together. Empty when there
-- is no dated activity at all.
{%- set max_spine_months = 2400 %}  {#- 200 years; assert_month_spine_complete guards it #}
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

activity_bounds as (

    select
        min(occurred_at) as first_at,
        max(occurred_at) as last_at
    from incidents

    union all

    select
        min(starts_at) as first_at,
        max(starts_at) as last_at
    from events

    union all

    select
        min(submitted_at) as first_at,
        max(submitted_at) as last_at
    from responses

),

spine_bounds as (

    select
        {{ month_start('min(first_at)') }} as first_month,
        {{ month_start('max(last_at)') }} as last_month
    from activity_bounds

),

month_offsets as (

    {{ dbt.generate_series(max_spine_months) }}

),

months as (

    select
        cast(
            {{ dbt.dateadd('month', 'month_offsets.generated_number - 1', 'spine_bounds.first_month') }}
            as date
        ) as month,
        month_offsets.generated_number as month_index
    from spine_bounds
    cross join month_offsets
    where
        month_offsets.generated_number - 1
        <= {{ dbt.datediff('spine_bounds.first_month', 'spine_bounds.last_month', 'month') }}

),

final as (

    select
        month,
        {{ quarter_start('month') }} as quarter,
        month_index
    from months

)

select * from final
