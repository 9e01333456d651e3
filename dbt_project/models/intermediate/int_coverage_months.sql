-- Every subject's coverage, month by month (one model per subject, macros/coverage.sql): for what
-- reads them all (the scorecard, the coverage tests).
with

crime as (

    select * from {{ ref('int_crime_coverage') }}

),

engagement as (

    select * from {{ ref('int_engagement_coverage') }}

),

trust as (

    select * from {{ ref('int_trust_coverage') }}

),

final as (

    select
        subject,
        month,
        quarter,
        month_index
    from crime
    union all
    select
        subject,
        month,
        quarter,
        month_index
    from engagement
    union all
    select
        subject,
        month,
        quarter,
        month_index
    from trust

)

select * from final
