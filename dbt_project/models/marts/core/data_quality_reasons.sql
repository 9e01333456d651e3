with

load_reasons as (

    select * from {{ ref('stg_quality__load_reasons') }}

),

final as (

    select
        cast(source as {{ dbt.type_string() }}) as source,
        cast(load_id as {{ dbt.type_string() }}) as load_id,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(quarantined_rows as {{ dbt.type_bigint() }}) as rows
    from load_reasons

)

select * from final
