-- One row per neighborhood: the boundary of its latest load, with the total population
-- (NULL when the city has no population source or the neighborhood has no total).
with

neighborhoods as (

    select * from {{ ref('stg_geography__neighborhoods') }}

),

populations as (

    select * from {{ ref('int_populations_deduplicated') }}

),

neighborhoods_ranked as (

    select
        *,
        row_number() over (
            partition by neighborhood_id
            order by loaded_at desc, load_id desc
        ) as load_rank
    from neighborhoods

),

population_totals as (

    select
        neighborhood_id,
        population
    from populations
    where dimension = 'total'

),

final as (

    select
        neighborhoods_ranked.neighborhood_id,
        neighborhoods_ranked.neighborhood_name,
        population_totals.population,
        neighborhoods_ranked.area_sq_km,
        neighborhoods_ranked.geometry_geojson,
        neighborhoods_ranked.source,
        neighborhoods_ranked.load_id
    from neighborhoods_ranked
    left join population_totals
        on neighborhoods_ranked.neighborhood_id = population_totals.neighborhood_id
    where neighborhoods_ranked.load_rank = 1

)

select * from final
