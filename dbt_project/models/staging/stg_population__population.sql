with

source as (

    select * from {{ source('canonical', 'population') }}

),

renamed as (

    select

        ----------  ids
        cast(source as {{ dbt.type_string() }}) as source,
        cast(load_id as {{ dbt.type_string() }}) as load_id,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,

        ----------  categories
        cast(dimension as {{ dbt.type_string() }}) as dimension,
        cast(category as {{ dbt.type_string() }}) as category,

        ----------  measures
        cast(population as {{ dbt.type_bigint() }}) as population

    from source

)

select * from renamed
