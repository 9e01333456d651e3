with

-- the crime sources' coverage only: no row (never a zero) outside it
neighborhood_months as (

    select * from {{ ref('int_neighborhood_months') }}
    where subject = 'crime'

),

incidents as (

    select * from {{ ref('int_incidents_deduplicated') }}

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

)

select * from final
