{{ config(severity="warn") }}
-- The quarantine reasons of a load account for exactly its quarantined rows (notes, refused = false,
-- are about loaded rows and are not counted).
with

loads as (

    select * from {{ ref('data_quality') }}

),

reasons as (

    select
        source,
        load_id,
        sum(rows) as reason_rows
    from {{ ref('data_quality_reasons') }}
    where refused
    group by source, load_id

)

select
    loads.source,
    loads.load_id,
    loads.rows_quarantined,
    coalesce(reasons.reason_rows, 0) as reason_rows
from loads
left join reasons
    on
        loads.source = reasons.source
        and loads.load_id = reasons.load_id
where loads.rows_quarantined != coalesce(reasons.reason_rows, 0)
