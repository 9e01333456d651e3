{#
    The coverage frame (docs/metrics.md): a subject covers every month from the first to the last month with
    loaded data of that subject alone; inside its coverage a subject's mart holds a row for every neighborhood ×
    period (zero = observed none), outside it none. Each subject's coverage is its own model
    (int_crime_coverage, int_engagement_coverage, int_trust_coverage), so that new data of one subject rebuilds
    no other subject's marts.
#}
{%- macro coverage_months(subject, activity, timestamp_column) -%}
{%- set max_spine_months = 2400 %}  {#- 200 years; the covers_every_month_of test guards it #}
with

bounds as (

    select
        {{ month_start('min(' ~ timestamp_column ~ ')') }} as first_month,
        {{ month_start('max(' ~ timestamp_column ~ ')') }} as last_month
    from {{ activity }}

),

month_offsets as (

    {{ dbt.generate_series(max_spine_months) }}

),

-- without data the bounds are NULL: the comparison is not true and there is no month
months as (

    select
        cast(
            {{ dbt.dateadd('month', 'month_offsets.generated_number - 1', 'bounds.first_month') }}
            as date
        ) as month,
        month_offsets.generated_number as month_index
    from bounds
    cross join month_offsets
    where
        month_offsets.generated_number - 1
        <= {{ dbt.datediff('bounds.first_month', 'bounds.last_month', 'month') }}

)

select
    cast('{{ subject }}' as {{ dbt.type_string() }}) as subject,
    month,
    {{ quarter_start('month') }} as quarter,
    month_index
from months
{%- endmacro %}

{#- Every neighborhood × month of a coverage (one subject's, or int_coverage_months), with the neighborhood's
    total population: the frame a mart is zero-filled on. #}
{%- macro neighborhood_frame(neighborhoods, coverage) -%}
    select
        coverage.subject,
        neighborhoods.neighborhood_id,
        coverage.month,
        coverage.quarter,
        coverage.month_index,
        neighborhoods.population
    from {{ neighborhoods }} as neighborhoods
    cross join {{ coverage }} as coverage
{%- endmacro %}
