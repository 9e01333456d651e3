with

source as (

    select * from {{ source('meta', 'load_notes') }}

),

renamed as (

    select

        ----------  ids
        cast(source as {{ dbt.type_string() }}) as source,
        cast(load_id as {{ dbt.type_string() }}) as load_id,

        ----------  text
        cast(note as {{ dbt.type_string() }}) as note,

        ----------  measures
        cast(rows as {{ dbt.type_bigint() }}) as noted_rows

    from source

)

select * from renamed
