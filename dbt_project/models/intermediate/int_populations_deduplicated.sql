-- One row per (neighborhood_id, dimension, category): for each neighborhood and dimension
-- ('total', 'age_group', 'gender') the rows of the latest load carrying it, so a total and
-- its demographic margins may come from different files but a margin is never mixed
-- across loads. Empty when the city has no population source.
with

populations as (

    select * from {{ ref('stg_population__population') }}

),

loads_ranked as (

    select
        *,
        rank() over (
            partition by neighborhood_id, dimension
            order by loaded_at desc, load_id desc
        ) as load_rank
    from populations

),

final as (

    select
        neighborhood_id,
        dimension,
        category,
        population,
        source,
        load_id
    from loads_ranked
    where load_rank = 1

)

select * from final
