{%- set min_cell = var('min_cell') | int %}
{%- set suppressible_metrics = [
    'trust_index', 'trust_index_ci_low', 'trust_index_ci_high',
    'safety_index', 'safety_index_ci_low', 'safety_index_ci_high',
    'pct_trust', 'pct_trust_ci_low', 'pct_trust_ci_high',
] %}
with

neighborhood_quarters as (

    select * from {{ ref('int_neighborhood_quarters') }}

),

respondent_scores as (

    select * from {{ ref('int_survey_respondent_scores') }}

),

student_t as (

    select * from {{ ref('student_t_975') }}

),

respondents_rescaled as (

    select
        neighborhood_id,
        submitted_quarter as quarter,
        trust_score,
        -- 1–5 → 0–100
        (trust_score - 1) / 4 * 100 as trust_index_score,
        (safety_score - 1) / 4 * 100 as safety_index_score
    from respondent_scores
    where neighborhood_id is not null

),

quarterly as (

    select
        neighborhood_id,
        quarter,
        count(*) as respondents,
        count(trust_index_score) as trust_n,
        avg(trust_index_score) as trust_mean,
        stddev_samp(trust_index_score) as trust_sd,
        count(safety_index_score) as safety_n,
        avg(safety_index_score) as safety_mean,
        stddev_samp(safety_index_score) as safety_sd,
        sum(case when trust_score >= 4 then 1 else 0 end) as trust_high_n
    from respondents_rescaled
    group by neighborhood_id, quarter

),

quarterly_with_t as (

    select
        quarterly.*,
        trust_t.t_975 as trust_t_975,
        safety_t.t_975 as safety_t_975
    from quarterly
    left join student_t as trust_t
        on quarterly.trust_n - 1 = trust_t.df
    left join student_t as safety_t
        on quarterly.safety_n - 1 = safety_t.df

),

metrics as (

    select
        neighborhood_id,
        quarter,
        respondents,
        trust_mean as trust_index,
        {{ t_interval_bound('trust_mean', 'trust_sd', 'trust_n', 'trust_t_975', '-') }} as trust_index_ci_low,
        {{ t_interval_bound('trust_mean', 'trust_sd', 'trust_n', 'trust_t_975', '+') }} as trust_index_ci_high,
        safety_mean as safety_index,
        {{ t_interval_bound('safety_mean', 'safety_sd', 'safety_n', 'safety_t_975', '-') }} as safety_index_ci_low,
        {{ t_interval_bound('safety_mean', 'safety_sd', 'safety_n', 'safety_t_975', '+') }} as safety_index_ci_high,
        case
            when trust_n > 0 then 100 * cast(trust_high_n as double) / trust_n
        end as pct_trust,
        {{ wilson_bound('trust_high_n', 'trust_n', '-') }} as pct_trust_ci_low,
        {{ wilson_bound('trust_high_n', 'trust_n', '+') }} as pct_trust_ci_high
    from quarterly_with_t

),

zero_filled as (

    select
        neighborhood_quarters.neighborhood_id,
        neighborhood_quarters.quarter,
        coalesce(metrics.respondents, 0) as respondents,
        coalesce(metrics.respondents, 0) < {{ min_cell }} as suppressed,
        metrics.trust_index,
        metrics.trust_index_ci_low,
        metrics.trust_index_ci_high,
        metrics.safety_index,
        metrics.safety_index_ci_low,
        metrics.safety_index_ci_high,
        metrics.pct_trust,
        metrics.pct_trust_ci_low,
        metrics.pct_trust_ci_high
    from neighborhood_quarters
    left join metrics
        on
            neighborhood_quarters.neighborhood_id = metrics.neighborhood_id
            and neighborhood_quarters.quarter = metrics.quarter

),

final as (

    select
        cast(neighborhood_id as {{ dbt.type_string() }}) as neighborhood_id,
        cast(quarter as date) as quarter,
        cast(respondents as integer) as respondents,
        {% for metric in suppressible_metrics -%}
            cast(case when not suppressed then {{ metric }} end as double) as {{ metric }},
        {% endfor -%}
        -- raking weights come later from a Python asset; until then the weighted
        -- indices are NULL and the design is taken as unweighted
        cast(null as double) as trust_index_weighted,
        cast(null as double) as safety_index_weighted,
        cast(case when not suppressed and respondents > 0 then respondents end as double) as effective_n,
        cast(case when not suppressed and respondents > 0 then 1.0 end as double) as design_effect,
        cast(suppressed as boolean) as suppressed
    from zero_filled

)

select * from final
