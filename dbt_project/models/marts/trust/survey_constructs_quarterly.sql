-- Every construct a survey names, per neighborhood and quarter: the rows of trust_quarterly
-- (same neighborhoods, quarters, respondents and suppression) once per construct, with the
-- construct's index and intervals defined as trust_quarterly's (int_survey_constructs_quarterly).
with

trust as (

    select * from {{ ref('trust_quarterly') }}

),

construct_stats as (

    select * from {{ ref('int_survey_constructs_quarterly') }}

),

constructs as (

    select distinct construct
    from {{ ref('int_survey_construct_respondents') }}

),

final as (

    select
        cast(trust.neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,
        cast(trust.quarter as date) as quarter,
        cast(constructs.construct as {{ dbt.type_string() }}) as construct,
        cast(trust.respondents as integer) as respondents,
        {% for column in ['construct_index', 'construct_index_ci_low', 'construct_index_ci_high', 'construct_index_weighted'] -%}
            cast(case when not trust.suppressed then construct_stats.{{ column }} end as double) as {{ column }},
        {% endfor -%}
        cast(
            case
                when not trust.suppressed
                    then construct_stats.construct_index_weighted - construct_stats.construct_index_weighted_half_width
            end as double
        ) as construct_index_weighted_ci_low,
        cast(
            case
                when not trust.suppressed
                    then construct_stats.construct_index_weighted + construct_stats.construct_index_weighted_half_width
            end as double
        ) as construct_index_weighted_ci_high,
        cast(trust.effective_n as double) as effective_n,
        cast(trust.suppressed as boolean) as suppressed
    from trust
    cross join constructs
    left join construct_stats
        on
            trust.neighborhood_id = construct_stats.neighborhood_id
            and trust.quarter = construct_stats.quarter
            and constructs.construct = construct_stats.construct

)

select * from final
