-- Every neighborhood × every quarter touched by each subject's coverage, with the
-- neighborhood's total population: the frame the quarterly marts are zero-filled on.
with

neighborhoods as (

    select * from {{ ref('int_neighborhoods_deduplicated') }}

),

coverage_months as (

    select * from {{ ref('int_coverage_months') }}

),

coverage_quarters as (

    select distinct
        subject,
        quarter
    from coverage_months

),

final as (

    select
        coverage_quarters.subject,
        neighborhoods.neighborhood_id,
        coverage_quarters.quarter,
        neighborhoods.population
    from neighborhoods
    cross join coverage_quarters

)

select * from final
