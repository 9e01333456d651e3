with

source as (

    select * from {{ source('canonical', 'programs') }}

),

renamed as (

    select

        ----------  ids
        cast(source as {{ dbt.type_string() }}) as source,
        cast(load_id as {{ dbt.type_string() }}) as load_id,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(program_id as {{ dbt.type_string() }}) as program_id,
        cast(neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,

        ----------  text
        cast(name as {{ dbt.type_string() }}) as program_name,

        ----------  dates
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date

    from source

)

select * from renamed
