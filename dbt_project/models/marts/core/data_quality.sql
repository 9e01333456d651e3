with

loads as (

    select * from {{ ref('stg_quality__loads') }}

),

final as (

    select
        cast(source as {{ dbt.type_string() }}) as source,
        cast(load_id as {{ dbt.type_string() }}) as load_id,
        cast(file as {{ dbt.type_string() }}) as file,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(rows_received as {{ dbt.type_bigint() }}) as rows_received,
        cast(rows_loaded as {{ dbt.type_bigint() }}) as rows_loaded,
        cast(rows_quarantined as {{ dbt.type_bigint() }}) as rows_quarantined,
        cast(rows_unmapped_offense as {{ dbt.type_bigint() }}) as rows_unmapped_offense,
        cast(rows_unmapped_offense as double)
        / nullif(rows_loaded, 0) as unmapped_offense_share
    from loads

)

select * from final
