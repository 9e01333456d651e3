-- The months of crime_monthly that the incidents of int_incidents_changed touch, i.e. the Dagster
-- partitions a run must rebuild after its loads (pipelines/assets/dbt.py reads them after the build
-- and the run that follows rebuilds the range from the first to the last).
-- A month is touched when an incident of int_incidents_changed left it or entered it, or one of the
-- 11 months before it is (the 12-month rolling rate), or it is new to the coverage, or it left the
-- coverage (crime_monthly deletes its rows); every month is when the coverage's first month
-- (month_index), the neighborhoods or their populations changed, when int_incidents_changed says
-- "everything", or when crime_monthly is not built yet. crime_monthly is read as built, by name
-- rather than ref (it reads this model in its post-hook). Spark builds crime_monthly whole: every
-- month.
{%- set built = adapter.get_relation(
    database=this.database, schema='published', identifier='crime_monthly'
) if target.type == 'duckdb' else none %}
with

crime_coverage as (

    select * from {{ ref('int_crime_coverage') }}

),

{%- if built is not none and built.is_table %}

    changed_incidents as (

        select * from {{ ref('int_incidents_changed') }}

    ),

    built as (

        select * from {{ built }}

    ),

    crime_frame as (

        {{ neighborhood_frame(ref('int_neighborhoods_deduplicated'), ref('int_crime_coverage')) }}

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

    changed_month_indexes as (

        select crime_coverage.month_index
        from crime_coverage
        where crime_coverage.month in (select changed_months.month from changed_months)

    ),

    -- each changed month of the coverage and the 11 after it, and the months that left the coverage
    touched as (

        select crime_coverage.month
        from crime_coverage
        inner join changed_month_indexes
            on
                crime_coverage.month_index >= changed_month_indexes.month_index
                and crime_coverage.month_index <= changed_month_indexes.month_index + 11

        union

        select built.month
        from built
        where built.month not in (select crime_coverage.month from crime_coverage)

    ),

{%- else %}

    -- depends_on: {{ ref('int_incidents_changed') }}, {{ ref('int_incidents_deduplicated') }}
    -- depends_on: {{ ref('int_neighborhoods_deduplicated') }}
    touched as (

        select crime_coverage.month
        from crime_coverage

    ),

{%- endif %}

final as (

    select distinct cast(touched.month as date) as month
    from touched

)

select * from final
