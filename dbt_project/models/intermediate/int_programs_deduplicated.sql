-- One row per program_id: the version of its latest load.
with

programs as (

    select * from {{ ref('stg_programs__programs') }}

),

loads_ranked as (

    select
        *,
        row_number() over (
            partition by program_id
            order by loaded_at desc, load_id desc
        ) as load_rank
    from programs

),

final as (

    select
        program_id,
        source,
        load_id,
        program_name,
        neighborhood_id,
        start_date,
        end_date
    from loads_ranked
    where load_rank = 1

)

select * from final
