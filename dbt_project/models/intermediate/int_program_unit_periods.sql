-- The per-period series behind a program's estimate and its placebos. The "units" of a program
-- are its own neighborhood (is_placebo false) and each of its comparison neighborhoods c
-- (is_placebo true); a unit's comparison is every comparison neighborhood except the unit itself,
-- population-weighted per period over those with a value (Σ population × value / Σ population,
-- population > 0). For the program's own neighborhood that is the whole comparison, as in
-- program_evaluation; for a placebo c it is the comparison without c. One row per unit and
-- period of the windows where the unit or its comparison has a value.
with

programs as (

    select * from {{ ref('int_programs_windowed') }}

),

comparison_neighborhoods as (

    select * from {{ ref('int_programs_comparison_neighborhoods') }}

),

windowed as (

    select * from {{ ref('int_program_windowed_values') }}

),

units as (

    select
        program_id,
        neighborhood_id as unit_neighborhood_id,
        false as is_placebo
    from programs
    union all
    select
        program_id,
        neighborhood_id as unit_neighborhood_id,
        true as is_placebo
    from comparison_neighborhoods

),

period_keys as (

    select distinct
        program_id,
        metric,
        period_months,
        period_start,
        window_name,
        relative_period
    from windowed

),

unit_values as (

    select
        units.program_id,
        units.unit_neighborhood_id,
        windowed.metric,
        windowed.period_start,
        windowed.metric_value as unit_value
    from units
    inner join windowed
        on
            units.program_id = windowed.program_id
            and units.unit_neighborhood_id = windowed.neighborhood_id

),

comparison_values as (

    select
        units.program_id,
        units.unit_neighborhood_id,
        windowed.metric,
        windowed.period_start,
        {{ exact_sum('windowed.metric_value * comparison_neighborhoods.population') }}
        / sum(comparison_neighborhoods.population) as comparison_value
    from units
    inner join comparison_neighborhoods
        on
            units.program_id = comparison_neighborhoods.program_id
            and units.unit_neighborhood_id <> comparison_neighborhoods.neighborhood_id
    inner join windowed
        on
            comparison_neighborhoods.program_id = windowed.program_id
            and comparison_neighborhoods.neighborhood_id = windowed.neighborhood_id
    where comparison_neighborhoods.population > 0
    group by units.program_id, units.unit_neighborhood_id, windowed.metric, windowed.period_start

),

final as (

    select
        units.program_id,
        period_keys.metric,
        units.unit_neighborhood_id,
        units.is_placebo,
        period_keys.period_months,
        period_keys.period_start,
        period_keys.window_name,
        period_keys.relative_period,
        unit_values.unit_value,
        comparison_values.comparison_value
    from units
    inner join period_keys
        on units.program_id = period_keys.program_id
    left join unit_values
        on
            units.program_id = unit_values.program_id
            and units.unit_neighborhood_id = unit_values.unit_neighborhood_id
            and period_keys.metric = unit_values.metric
            and period_keys.period_start = unit_values.period_start
    left join comparison_values
        on
            units.program_id = comparison_values.program_id
            and units.unit_neighborhood_id = comparison_values.unit_neighborhood_id
            and period_keys.metric = comparison_values.metric
            and period_keys.period_start = comparison_values.period_start
    where unit_values.unit_value is not null or comparison_values.comparison_value is not null

)

select * from final
