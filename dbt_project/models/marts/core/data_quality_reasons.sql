-- Why rows of a load were refused (quarantined), and what was changed in rows it loaded (notes such as
-- repaired_geometry), told apart by `refused`.
with

load_reasons as (

    select * from {{ ref('stg_quality__load_reasons') }}

),

load_notes as (

    select * from {{ ref('stg_quality__load_notes') }}

),

reasons_and_notes as (

    select
        source,
        load_id,
        reason,
        true as refused,
        quarantined_rows as reason_rows
    from load_reasons

    union all

    select
        source,
        load_id,
        note as reason,
        false as refused,
        noted_rows as reason_rows
    from load_notes

),

final as (

    select
        cast(source as {{ dbt.type_string() }}) as source,
        cast(load_id as {{ dbt.type_string() }}) as load_id,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(refused as boolean) as refused,
        cast(reason_rows as {{ dbt.type_bigint() }}) as rows
    from reasons_and_notes

)

select * from final
