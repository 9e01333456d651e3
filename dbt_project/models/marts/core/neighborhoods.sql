with

neighborhoods as (

    select * from {{ ref('int_neighborhoods_deduplicated') }}

),

final as (

    select
        cast(neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,
        cast(neighborhood_name as {{ dbt.type_string() }}) as name,
        cast(population as integer) as population,
        cast(area_sq_km as double) as area_sq_km,
        cast(geometry_geojson as {{ dbt.type_string() }}) as geometry_geojson
    from neighborhoods

)

select * from final
