-- Every neighborhood × every quarter touched by the month spine, with the neighborhood's
-- total population: the frame the quarterly marts are zero-filled on.
with

neighborhoods as (

    select * from {{ ref('int_neighborhoods_deduplicated') }}

),

months as (

    select * from {{ ref('int_months') }}

),

quarters as (

    select distinct quarter
    from months

),

final as (

    select
        neighborhoods.neighborhood_id,
        quarters.quarter,
        neighborhoods.population
    from neighborhoods
    cross join quarters

)

select * from final
