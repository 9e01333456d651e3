with

source as (

    select * from {{ source('meta', 'load_reasons') }}

),

renamed as (

    select

        ----------  ids
        cast(source as {{ dbt.type_string() }}) as source,
        cast(load_id as {{ dbt.type_string() }}) as load_id,

        ----------  text
        cast(reason as {{ dbt.type_string() }}) as reason,

        ----------  measures
        cast(rows as {{ dbt.type_bigint() }}) as quarantined_rows

    from source

)

select * from renamed
