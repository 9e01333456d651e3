-- Every neighborhood × every month of each subject's coverage, with the neighborhood's total
-- population: the frame the monthly marts are zero-filled on (each mart takes its subject's).
with

neighborhoods as (

    select * from {{ ref('int_neighborhoods_deduplicated') }}

),

coverage_months as (

    select * from {{ ref('int_coverage_months') }}

),

final as (

    select
        coverage_months.subject,
        neighborhoods.neighborhood_id,
        coverage_months.month,
        coverage_months.quarter,
        coverage_months.month_index,
        neighborhoods.population
    from neighborhoods
    cross join coverage_months

)

select * from final
