with

source as (

    select * from {{ source('meta', 'loads') }}

),

renamed as (

    select

        ----------  ids
        cast(source as {{ dbt.type_string() }}) as source,
        cast(load_id as {{ dbt.type_string() }}) as load_id,

        ----------  text
        cast(file as {{ dbt.type_string() }}) as file,

        ----------  measures
        cast(rows_received as {{ dbt.type_bigint() }}) as rows_received,
        cast(rows_loaded as {{ dbt.type_bigint() }}) as rows_loaded,
        cast(rows_quarantined as {{ dbt.type_bigint() }}) as rows_quarantined,
        cast(rows_unmapped_offense as {{ dbt.type_bigint() }}) as rows_unmapped_offense,

        ----------  timestamps
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at

    from source

)

select * from renamed
