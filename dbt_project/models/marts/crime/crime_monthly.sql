-- Incremental on DuckDB: a run rebuilds only the months it touches (unique_key month: all neighborhoods
-- of each), read from the incidents of those months and the 11 before them (the 12-month rolling rate).
-- A month is touched when an incident of int_incidents_changed left it or entered it, or one of the 11
-- months before it is, or it is new to the coverage; every month is when the coverage's first month
-- (month_index), the neighborhoods or their populations changed, or int_incidents_changed says
-- "everything". The post-hooks delete the months that left the coverage and empty int_incidents_changed,
-- now consumed. Spark builds the whole table.
{{ config(
    materialized='incremental' if target.type == 'duckdb' else 'table',
    incremental_strategy='delete+insert',
    unique_key='month',
    on_schema_change='fail',
    post_hook=[
        """
        {%- if is_incremental() %}
        delete from {{ this }}
        where month not in (select month from {{ ref('int_coverage_months') }} where subject = 'crime')
        {%- endif %}
        """,
        """
        {%- if target.type == 'duckdb' %}
        delete from {{ ref('int_incidents_changed') }}
        {%- endif %}
        """,
    ],
) }}
-- depends_on: {{ ref('int_incidents_changed') }}, {{ ref('int_coverage_months') }}
with

{%- if is_incremental() %}

    changed_incidents as (

        select * from {{ ref('int_incidents_changed') }}

    ),

    built as (

        select * from {{ this }}

    ),

    crime_coverage as (

        select * from {{ ref('int_coverage_months') }}
        where subject = 'crime'

    ),

    crime_frame as (

        select * from {{ ref('int_neighborhood_months') }}
        where subject = 'crime'

    ),

    -- a neighborhood added or gone, or a population changed: every row of the table changes
    populations_changed as (

        (
            select
                built.neighborhood_id,
                built.population
            from built
            except
            select
                crime_frame.neighborhood_id,
                cast(crime_frame.population as integer) as population
            from crime_frame
        )
        union all
        (
            select
                crime_frame.neighborhood_id,
                cast(crime_frame.population as integer) as population
            from crime_frame
            except
            select
                built.neighborhood_id,
                built.population
            from built
        )

    ),

    first_months as (

        select
            (select min(built.month) from built) as built_first_month,
            (select min(crime_coverage.month) from crime_coverage) as coverage_first_month

    ),

    -- the coverage's first month moved (every month_index with it), or the work list says "everything"
    rebuild_everything as (

        select
            exists (
                select 1
                from changed_incidents as everything
                where everything.source is null
            )
            or coalesce(
                first_months.built_first_month != first_months.coverage_first_month,
                (first_months.built_first_month is null) != (first_months.coverage_first_month is null)
            )
            or exists (select 1 from populations_changed) as is_true
        from first_months

    ),

    -- the months an incident left (its version as last built) or entered (its latest version), and the
    -- months new to the coverage
    changed_months as (

        select changed_incidents.previous_month as month
        from changed_incidents

        union

        select deduplicated.occurred_month as month
        from {{ ref('int_incidents_deduplicated') }} as deduplicated
        where
            exists (
                select 1
                from changed_incidents
                where
                    changed_incidents.source = deduplicated.source
                    and changed_incidents.incident_id = deduplicated.incident_id
            )

        union

        select crime_coverage.month
        from crime_coverage
        cross join rebuild_everything
        where
            rebuild_everything.is_true
            or crime_coverage.month not in (select built.month from built)

    ),

    -- in the coverage: a month that left it has no row to rebuild (the post-hook deletes it)
    changed_month_indexes as (

        select crime_coverage.month_index
        from crime_coverage
        where crime_coverage.month in (select changed_months.month from changed_months)

    ),

    -- each changed month and the 11 after it
    touched_months as (

        select distinct crime_coverage.month
        from crime_coverage
        inner join changed_month_indexes
            on
                crime_coverage.month_index >= changed_month_indexes.month_index
                and crime_coverage.month_index <= changed_month_indexes.month_index + 11

    ),

    -- the touched months and the 11 before each, whose incidents their rolling rates count
    read_months as (

        select distinct crime_coverage.month
        from crime_coverage
        inner join changed_month_indexes
            on
                crime_coverage.month_index >= changed_month_indexes.month_index - 11
                and crime_coverage.month_index <= changed_month_indexes.month_index + 11

    ),

{%- endif %}

-- the crime sources' coverage only: no row (never a zero) outside it
neighborhood_months as (

    select * from {{ ref('int_neighborhood_months') }}
    where
        subject = 'crime'
        {%- if is_incremental() %}
            and month in (select read_months.month from read_months)
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
