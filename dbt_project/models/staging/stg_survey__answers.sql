-- One row per (response, item) as loaded; scores are already reverse-coded by the loader.
with

source as (

    select * from {{ source('canonical', 'survey_answers') }}

),

renamed as (

    select

        ----------  ids
        cast(source as {{ dbt.type_string() }}) as source,
        cast(load_id as {{ dbt.type_string() }}) as load_id,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(response_id as {{ dbt.type_string() }}) as response_id,
        cast(neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,

        ----------  respondent demographics
        cast(age_group as {{ dbt.type_string() }}) as age_group,
        cast(gender as {{ dbt.type_string() }}) as gender,

        ----------  item
        cast(construct as {{ dbt.type_string() }}) as construct,
        cast(item as {{ dbt.type_string() }}) as item,

        ----------  measures
        cast(score as double) as score,

        ----------  timestamps
        cast(submitted_at as {{ dbt.type_timestamp() }}) as submitted_at

    from source

)

select * from renamed
