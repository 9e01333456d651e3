with

source as (

    select * from {{ source('canonical', 'neighborhoods') }}

),

renamed as (

    select

        ----------  ids
        cast(source as {{ dbt.type_string() }}) as source,
        cast(load_id as {{ dbt.type_string() }}) as load_id,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,

        ----------  text
        cast(name as {{ dbt.type_string() }}) as neighborhood_name,
        cast(geometry_geojson as {{ dbt.type_string() }}) as geometry_geojson,

        ----------  measures
        cast(area_sq_km as double) as area_sq_km

    from source

)

select * from renamed
