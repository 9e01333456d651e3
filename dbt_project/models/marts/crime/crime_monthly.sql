-- Incremental on DuckDB: a run rebuilds the months of its window, the Dagster partitions (months) of
-- the run (macros/crime_window.sql: environment variables read when the model runs, rather than --vars,
-- which would make dbt parse the whole project whenever the window moves). It reads the incidents of those
-- months and of the 11 before them (the 12-month rolling rate) from int_incidents_deduplicated. Which
-- months new loads touch is int_incidents_touched_months: the daily path rebuilds those. The post-hooks
-- delete the window's months that left the coverage, and empty int_incidents_changed, now consumed, once
-- every month it touches lies in the window. Spark builds the whole table.
{{ config(
    materialized='incremental' if target.type == 'duckdb' else 'table',
    incremental_strategy='delete+insert',
    unique_key='month',
    on_schema_change='fail',
    post_hook=[
        """
        {%- if is_incremental() %}
        delete from {{ this }}
        where
            month not in (select month from {{ ref('int_crime_coverage') }})
            and {{ crime_window('month') }}
        {%- endif %}
        """,
        """
        {%- if target.type == 'duckdb' %}
        delete from {{ ref('int_incidents_changed') }}
        where not exists (
            select 1 from {{ ref('int_incidents_touched_months') }}
            where not ({{ crime_window('month') }})
        )
        {%- endif %}
        """,
    ],
) }}
-- depends_on: {{ ref('int_incidents_changed') }}, {{ ref('int_incidents_touched_months') }}
-- depends_on: {{ ref('int_crime_coverage') }}
with

{%- if is_incremental() %}

    crime_coverage as (

        select * from {{ ref('int_crime_coverage') }}

    ),

    -- the window's months in the coverage (a month that left it has no row to rebuild: the post-hook
    -- deletes it)
    touched_months as (

        select
            crime_coverage.month,
            crime_coverage.month_index
        from crime_coverage
        where {{ crime_window('crime_coverage.month') }}

    ),

    -- the touched months and the 11 before each, whose incidents their rolling rates count
    read_months as (

        select distinct crime_coverage.month
        from crime_coverage
        inner join touched_months
            on
                crime_coverage.month_index >= touched_months.month_index - 11
                and crime_coverage.month_index <= touched_months.month_index

    ),

{%- endif %}

-- the crime sources' coverage only: no row (never a zero) outside it
neighborhood_months as (

    select *
    from (
        {{ neighborhood_frame(ref('int_neighborhoods_deduplicated'), ref('int_crime_coverage')) }}
    ) as frame
    {%- if is_incremental() %}
        where month in (select read_months.month from read_months)
    {%- endif %}

),

incidents as (

    select * from {{ ref('int_incidents_deduplicated') }}
    {%- if is_incremental() %}
        where occurred_month in (select read_months.month from read_months)
    {%- endif %}

),

monthly_counts as (

    select
        neighborhood_id,
        occurred_month as month,
        count(*) as incidents,
        sum(case when ucr_category = 'violent' then 1 else 0 end) as violent_incidents,
        sum(case when ucr_category = 'property' then 1 else 0 end) as property_incidents
    from incidents
    group by neighborhood_id, occurred_month

),

zero_filled as (

    select
        neighborhood_months.neighborhood_id,
        neighborhood_months.month,
        neighborhood_months.month_index,
        neighborhood_months.population,
        coalesce(monthly_counts.incidents, 0) as incidents,
        coalesce(monthly_counts.violent_incidents, 0) as violent_incidents,
        coalesce(monthly_counts.property_incidents, 0) as property_incidents
    from neighborhood_months
    left join monthly_counts
        on
            neighborhood_months.neighborhood_id = monthly_counts.neighborhood_id
            and neighborhood_months.month = monthly_counts.month

),

rolling as (

    select
        *,
        -- coverage has every month from its first to its last, so 12 rows are 12 calendar months
        sum(violent_incidents) over (
            partition by neighborhood_id
            order by month
            rows between 11 preceding and current row
        ) as violent_incidents_12m
    from zero_filled

),

final as (

    select
        cast(neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,
        cast(month as date) as month,
        cast(incidents as integer) as incidents,
        cast(violent_incidents as integer) as violent_incidents,
        cast(property_incidents as integer) as property_incidents,
        cast(population as integer) as population,
        cast({{ per_1k('incidents', 'population') }} as double) as incidents_per_1k,
        cast({{ per_1k('violent_incidents', 'population') }} as double) as violent_per_1k,
        cast({{ per_1k('property_incidents', 'population') }} as double) as property_per_1k,
        -- NULL until the crime coverage holds 12 months up to and including this one
        cast(
            case
                when month_index >= 12
                    then {{ per_1k('violent_incidents_12m', 'population') }}
            end
            as double
        ) as violent_per_1k_12m
    from rolling
    {%- if is_incremental() %}
        where month in (select touched_months.month from touched_months)
    {%- endif %}

)

select * from final
