-- One row per survey respondent with its raking weight (pipelines/assets/weights.py).
with

source as (

    select * from {{ source('weights', 'survey_respondents') }}

),

renamed as (

    select

        ----------  ids
        cast(source as {{ dbt.type_string() }}) as source,
        cast(response_id as {{ dbt.type_string() }}) as response_id,
        cast(neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,

        ----------  period
        cast(quarter as date) as submitted_quarter,

        ----------  measures
        cast(weight as double) as weight,

        ----------  flags
        cast(raked as boolean) as is_raked,
        cast(weighting_status as {{ dbt.type_string() }}) as weighting_status

    from source

)

select * from renamed
