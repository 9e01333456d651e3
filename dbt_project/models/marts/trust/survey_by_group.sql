-- Survey indices by respondent group: per neighborhood, quarter, construct, demographic dimension
-- (the survey's age_group and gender, the dimensions of the population margins) and category,
-- the unweighted index with its Student-t interval as in trust_quarterly. A respondent without an
-- answer is in the category 'unknown', so a dimension's categories partition the cell's
-- respondents. Suppression (docs/metrics.md#suppression): a category below min_cell
-- is suppressed (primary); where the neighborhood × quarter total is published and exactly one
-- category of a dimension is suppressed, the smallest other category is suppressed too
-- (complementary), so no suppressed mean can be recovered by differencing from the total.
{%- set min_cell = var('min_cell') | int %}
with

trust as (

    select * from {{ ref('trust_quarterly') }}

),

respondents as (

    select * from {{ ref('int_survey_respondents_weighted') }}
    where neighborhood_id is not null

),

construct_respondents as (

    select * from {{ ref('int_survey_construct_respondents') }}

),

student_t as (

    select * from {{ ref('student_t_975') }}

),

constructs as (

    select distinct construct
    from construct_respondents

),

respondent_groups as (

    {% for dimension in ['age_group', 'gender'] -%}
        select
            source,
            response_id,
            neighborhood_id,
            submitted_quarter as quarter,
            '{{ dimension }}' as dimension,
            coalesce({{ dimension }}, 'unknown') as category
        from respondents
        {{ 'union all' if not loop.last }}
    {% endfor %}

),

group_sizes as (

    select
        neighborhood_id,
        quarter,
        dimension,
        category,
        count(*) as respondents
    from respondent_groups
    group by neighborhood_id, quarter, dimension, category

),

group_respondents as (

    select
        respondent_groups.neighborhood_id,
        respondent_groups.quarter,
        construct_respondents.construct,
        respondent_groups.dimension,
        respondent_groups.category,
        construct_respondents.construct_index
    from respondent_groups
    inner join construct_respondents
        on
            respondent_groups.source = construct_respondents.source
            and respondent_groups.response_id = construct_respondents.response_id

),

-- the mean of each group (as construct_mean below), around which its standard deviation is summed
group_respondents_with_means as (

    select
        *,
        {{ exact_avg('construct_index', 'neighborhood_id, quarter, construct, dimension, category') }} as group_mean
    from group_respondents

),

group_scores as (

    select
        neighborhood_id,
        quarter,
        construct,
        dimension,
        category,
        count(construct_index) as construct_n,
        {{ exact_avg('construct_index') }} as construct_mean,
        {{ exact_stddev_samp('construct_index', 'group_mean') }} as construct_sd
    from group_respondents_with_means
    group by neighborhood_id, quarter, construct, dimension, category

),

cells as (

    select
        group_sizes.neighborhood_id,
        group_sizes.quarter,
        constructs.construct,
        group_sizes.dimension,
        group_sizes.category,
        group_sizes.respondents,
        group_sizes.respondents < {{ min_cell }} as primary_suppressed,
        not trust.suppressed as total_published
    from group_sizes
    cross join constructs
    inner join trust
        on
            group_sizes.neighborhood_id = trust.neighborhood_id
            and group_sizes.quarter = trust.quarter

),

ranked as (

    select
        *,
        sum(case when primary_suppressed then 1 else 0 end) over (
            partition by neighborhood_id, quarter, construct, dimension
        ) as primary_suppressed_categories,
        row_number() over (
            partition by neighborhood_id, quarter, construct, dimension, primary_suppressed
            order by respondents, category
        ) as size_rank
    from cells

),

suppressed as (

    select
        *,
        primary_suppressed
        or (
            total_published
            and primary_suppressed_categories = 1
            and size_rank = 1
        ) as is_suppressed
    from ranked

),

final as (

    select
        cast(suppressed.neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,
        cast(suppressed.quarter as date) as quarter,
        cast(suppressed.construct as {{ dbt.type_string() }}) as construct,
        cast(suppressed.dimension as {{ dbt.type_string() }}) as dimension,
        cast(suppressed.category as {{ dbt.type_string() }}) as category,
        cast(suppressed.respondents as integer) as respondents,
        cast(case when not suppressed.is_suppressed then group_scores.construct_mean end as double) as construct_index,
        cast(
            case
                when not suppressed.is_suppressed
                    then {{ t_interval_bound('group_scores.construct_mean', 'group_scores.construct_sd', 'group_scores.construct_n', 'student_t.t_975', '-') }}
            end as double
        ) as construct_index_ci_low,
        cast(
            case
                when not suppressed.is_suppressed
                    then {{ t_interval_bound('group_scores.construct_mean', 'group_scores.construct_sd', 'group_scores.construct_n', 'student_t.t_975', '+') }}
            end as double
        ) as construct_index_ci_high,
        cast(suppressed.is_suppressed as boolean) as suppressed
    from suppressed
    left join group_scores
        on
            suppressed.neighborhood_id = group_scores.neighborhood_id
            and suppressed.quarter = group_scores.quarter
            and suppressed.construct = group_scores.construct
            and suppressed.dimension = group_scores.dimension
            and suppressed.category = group_scores.category
    left join student_t
        on group_scores.construct_n - 1 = student_t.df

)

select * from final
