-- Every neighborhood × every month of the spine, with the neighborhood's total population:
-- the frame the monthly marts are zero-filled on.
with

neighborhoods as (

    select * from {{ ref('int_neighborhoods_deduplicated') }}

),

months as (

    select * from {{ ref('int_months') }}

),

final as (

    select
        neighborhoods.neighborhood_id,
        months.month,
        months.quarter,
        months.month_index,
        neighborhoods.population
    from neighborhoods
    cross join months

)

select * from final
