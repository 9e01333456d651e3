-- One row per (source, incident_id).
-- 1. Revisions: the latest version wins, i.e. the rows with the greatest updated_at
--    (a NULL updated_at loses to any non-NULL one), ties broken by the greatest loaded_at,
--    then load_id. One version may hold several offense rows.
-- 2. San Francisco-style offense rows: the incident counts once, with its most severe
--    category (violent > property > other); the other columns come from that offense row.
-- One window does both: the incident's rows ordered by version, then severity, then offense code; the
-- first row wins, and offense_rows counts its peers in version order (RANGE frames end at the last
-- peer), i.e. the rows of the latest version. Two windows (rank, then row_number) sorted the whole
-- history twice: at 8.4 M incidents the table took 20 s to build, against 13 s.
--
-- Only incidents of several rows go through the window: an incident of one row is that row (its
-- incident_id is never NULL: a load refuses the row). At 8.4 M incidents, 4,000 of them with several
-- rows, the window over every row took the table 11-14 s to build, alone on 2 cores; finding the few by
-- grouping, then sorting them alone, 8.5-9 s.
--
-- Incremental on DuckDB: a run re-derives only the incidents of int_incidents_changed, from all their
-- loaded rows. The pre-hook first deletes every one of them, so an incident none of whose rows is left
-- (its corrected file no longer holds it) is gone too; delete+insert alone would keep it. Both filter
-- through the macro incidents_changed_filter, which leaves out the filter when the work list says
-- "everything" (a semi-join otherwise: see the macro for why). Spark builds the whole table.
--
-- Its rows do not depend on the order rows meet, on any number of threads: within a version, category
-- and offense code order the rows fully, as (incident_id, updated_at, offense_code) is unique within a
-- load (a load refuses a repeated one as duplicate_incident, and the expectations block the build if one
-- got in).
{{ config(
    materialized='incremental' if target.type == 'duckdb' else 'table',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="""
        {%- if is_incremental() %}
        delete from {{ this }}
        {{ incidents_changed_filter(this.identifier) }}
        {%- endif %}
    """,
) }}
-- depends_on: {{ ref('int_incidents_changed') }}
{#- The rows this build derives incidents from, read below as a subquery, not a CTE: read three times, a
    CTE would be materialized, a copy of every row. -#}
{%- set incidents -%}
    select * from {{ ref('stg_crime__incidents') }} as loaded
    {%- if is_incremental() %}
        {{ incidents_changed_filter('loaded') }}
    {%- endif %}
{%- endset %}
with

several_rows as (

    select
        source,
        incident_id
    from ({{ incidents }}) as incidents
    group by source, incident_id
    having count(*) > 1

),

ranked as (

    select
        *,
        cast(1 as {{ dbt.type_bigint() }}) as offense_rank,
        cast(1 as {{ dbt.type_bigint() }}) as offense_rows
    from ({{ incidents }}) as incidents
    where not exists (
            select 1 from several_rows
            where
                several_rows.source = incidents.source
                and several_rows.incident_id = incidents.incident_id
        )

    union all

    select
        *,
        row_number() over (
            partition by source, incident_id
            order by
                updated_at desc nulls last, loaded_at desc, load_id desc,
                -- the most severe category first; a code missing from the crosswalk is 'other'
                case coalesce(ucr_category, 'other')
                    when 'violent' then 3
                    when 'property' then 2
                    else 1
                end desc,
                offense_code asc nulls last
        ) as offense_rank,
        count(*) over (
            partition by source, incident_id
            order by updated_at desc nulls last, loaded_at desc, load_id desc
            range between unbounded preceding and current row
        ) as offense_rows
    from ({{ incidents }}) as incidents
    where exists (
            select 1 from several_rows
            where
                several_rows.source = incidents.source
                and several_rows.incident_id = incidents.incident_id
        )

),

final as (

    select
        ----------  ids
        source,
        incident_id,
        load_id,
        neighborhood_id,

        ----------  offense (the most severe of the incident)
        offense_code,
        offense_description,
        -- a code missing from the crosswalk is 'other' (docs/metrics.md#crime)
        coalesce(ucr_category, 'other') as ucr_category,
        is_offense_mapped,
        offense_rows,

        ----------  location
        latitude,
        longitude,

        ----------  flags
        is_arrest,
        is_domestic,

        ----------  timestamps
        occurred_at,
        {{ month_start('occurred_at') }} as occurred_month,
        updated_at,
        loaded_at

    from ranked
    where offense_rank = 1

)

select * from final
