-- The work list of the incremental crime models: the incidents whose latest version may have
-- changed since int_incidents_deduplicated was last built, each with the month it was counted in
-- then (previous_month; NULL for an incident new to it). int_incidents_deduplicated re-derives these
-- incidents from all their loaded rows; int_incidents_touched_months lists the months they leave and
-- enter and, through the 12-month rolling rate, the 11 months after each: the partitions of crime_monthly
-- a run rebuilds.
--
-- An incident changed when one of its rows was loaded after the last build (loaded_at past the latest
-- loaded_at the built table holds: everything loaded up to it had been loaded by that build), or when
-- the load of the version it was built from is gone or was loaded again since (a corrected file
-- replaced it, or a replayed quarantine or a new boundary file validated it again): its rows may have
-- moved, changed or gone, so the incident may now have another version, or none at all.
--
-- Rows accumulate until crime_monthly has consumed them (its post-hook empties this table once a build
-- has rebuilt every month they touch), so a run that stops before it, or a backfill of other months,
-- loses no month. A row with a NULL source means "everything":
-- written whenever this list starts afresh (the first build, --full-refresh, or a built table that is
-- missing), since no earlier state can be compared with then.
{{ config(
    materialized='incremental' if target.type == 'duckdb' else 'table',
    incremental_strategy='append',
) }}

{%- set built = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_incidents_deduplicated'
) if is_incremental() else none %}

{%- if built is not none and built.is_table %}

    with

    incidents as (

        select * from {{ ref('stg_crime__incidents') }}

    ),

    loads as (

        select * from {{ ref('stg_quality__loads') }}

    ),

    -- The built table is read where it is needed rather than as a CTE: read three times, a CTE would be
    -- materialized, a copy of millions of incidents (a quarter of a second at 8.4 M).
    built_through as (

        select coalesce(max(built.loaded_at), cast('1900-01-01' as timestamp)) as loaded_at
        from {{ built }} as built

    ),

    -- the loads the last build had read, unchanged since
    loads_built as (

        select
            loads.source,
            loads.load_id
        from loads
        where loads.loaded_at <= (select built_through.loaded_at from built_through)

    ),

    -- the loads of built versions that are gone or were loaded again since: a few, found among the
    -- loads before the incidents are looked at
    stale_loads as (

        select distinct
            built.source,
            built.load_id
        from {{ built }} as built

        except

        select
            loads_built.source,
            loads_built.load_id
        from loads_built

    ),

    changed as (

        select
            incidents.source,
            incidents.incident_id
        from incidents
        where incidents.loaded_at > (select built_through.loaded_at from built_through)

        union

        select
            built.source,
            built.incident_id
        from {{ built }} as built
        where (built.source, built.load_id) in (
                select
                    stale_loads.source,
                    stale_loads.load_id
                from stale_loads
            )

    ),

    final as (

        select
            changed.source,
            changed.incident_id,
            built.occurred_month as previous_month
        from changed
        left join {{ built }} as built
            on
                changed.source = built.source
                and changed.incident_id = built.incident_id

    )

    select * from final

{%- else %}

    -- depends_on: {{ ref('stg_crime__incidents') }}, {{ ref('stg_quality__loads') }}
    select
        cast(null as {{ dbt.type_string() }}) as source,
        cast(null as {{ dbt.type_string() }}) as incident_id,
        cast(null as date) as previous_month

{%- endif %}
