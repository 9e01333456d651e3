-- One row per incident row as loaded: revisions and offense rows are resolved in
-- int_incidents_deduplicated.
with

source as (

    select * from {{ source('canonical', 'crime_incidents') }}

),

renamed as (

    select

        ----------  ids
        cast(source as {{ dbt.type_string() }}) as source,
        cast(load_id as {{ dbt.type_string() }}) as load_id,
        cast(incident_id as {{ dbt.type_string() }}) as incident_id,
        cast(neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,

        ----------  text
        cast(offense_code as {{ dbt.type_string() }}) as offense_code,
        cast(offense_description as {{ dbt.type_string() }}) as offense_description,
        cast(ucr_category as {{ dbt.type_string() }}) as ucr_category,

        ----------  measures
        cast(latitude as double) as latitude,
        cast(longitude as double) as longitude,

        ----------  flags
        cast(offense_mapped as boolean) as is_offense_mapped,
        cast(arrest as boolean) as is_arrest,
        cast(domestic as boolean) as is_domestic,

        ----------  timestamps
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at

    from source

)

select * from renamed
