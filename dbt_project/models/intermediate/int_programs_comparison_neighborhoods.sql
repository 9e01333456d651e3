-- The comparison areas of each program: every neighborhood where no program at all (this one
-- or another) is active at any time in the program's pre or post window. A program is active
-- from its start_date to its end_date (open-ended without one).
with

programs as (

    select * from {{ ref('int_programs_windowed') }}

),

neighborhoods as (

    select * from {{ ref('int_neighborhoods_deduplicated') }}

),

active_somewhere_in_window as (

    select distinct
        programs.program_id,
        other_programs.neighborhood_id
    from programs
    inner join programs as other_programs
        on
            programs.post_end > other_programs.start_date
            -- an open-ended program (no end_date) is active from its start on
            and programs.pre_start <= coalesce(other_programs.end_date, programs.pre_start)

),

final as (

    select
        programs.program_id,
        neighborhoods.neighborhood_id,
        neighborhoods.population
    from programs
    cross join neighborhoods
    left join active_somewhere_in_window
        on
            programs.program_id = active_somewhere_in_window.program_id
            and neighborhoods.neighborhood_id = active_somewhere_in_window.neighborhood_id
    where active_somewhere_in_window.neighborhood_id is null

)

select * from final
