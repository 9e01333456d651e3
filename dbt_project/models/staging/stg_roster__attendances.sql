-- One row per roster line as loaded; a person listed twice for an event appears twice here.
with

source as (

    select * from {{ source('canonical', 'attendances') }}

),

renamed as (

    select

        ----------  ids
        cast(source as {{ dbt.type_string() }}) as source,
        cast(load_id as {{ dbt.type_string() }}) as load_id,
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(person_id as {{ dbt.type_string() }}) as person_id,

        ----------  attendee demographics
        cast(age_group as {{ dbt.type_string() }}) as age_group

    from source

)

select * from renamed
