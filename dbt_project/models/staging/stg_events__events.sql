with

source as (

    select * from {{ source('canonical', 'events') }}

),

renamed as (

    select

        ----------  ids
        cast(source as {{ dbt.type_string() }}) as source,
        cast(load_id as {{ dbt.type_string() }}) as load_id,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,
        cast(program_id as {{ dbt.type_string() }}) as program_id,
        cast(area_code as {{ dbt.type_string() }}) as area_code,
        cast(district as {{ dbt.type_string() }}) as district,

        ----------  text
        cast(title as {{ dbt.type_string() }}) as event_title,
        cast(event_type as {{ dbt.type_string() }}) as event_type,

        ----------  timestamps
        cast(starts_at as {{ dbt.type_timestamp() }}) as starts_at

    from source

)

select * from renamed
