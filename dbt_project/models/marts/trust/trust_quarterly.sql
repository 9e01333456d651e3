{%- set min_cell = var('min_cell') | int %}
{%- set suppressible_metrics = [
    'trust_index', 'trust_index_ci_low', 'trust_index_ci_high',
    'safety_index', 'safety_index_ci_low', 'safety_index_ci_high',
    'pct_trust', 'pct_trust_ci_low', 'pct_trust_ci_high',
    'trust_index_weighted', 'safety_index_weighted',
] %}
with

-- the surveys' coverage only: no row (never a zero) outside it
neighborhood_quarters as (

    select distinct
        neighborhood_id,
        quarter,
        population
    from ({{ neighborhood_frame(ref('int_neighborhoods_deduplicated'), ref('int_trust_coverage')) }}) as frame

),

respondent_scores as (

    select * from {{ ref('int_survey_respondents_weighted') }}

),

student_t as (

    select * from {{ ref('student_t_975') }}

),

respondents_rescaled as (

    select
        neighborhood_id,
        submitted_quarter as quarter,
        trust_score,
        -- raking weight: NULL for every respondent of a cell that could not be weighted
        weight,
        -- 1–5 → 0–100
        (trust_score - 1) / 4 * 100 as trust_index_score,
        (safety_score - 1) / 4 * 100 as safety_index_score
    from respondent_scores
    where neighborhood_id is not null

),

-- the means of each cell (as trust_mean and safety_mean below), around which its standard deviations are summed
respondents_with_means as (

    select
        *,
        {{ exact_avg('trust_index_score', 'neighborhood_id, quarter') }} as trust_cell_mean,
        {{ exact_avg('safety_index_score', 'neighborhood_id, quarter') }} as safety_cell_mean
    from respondents_rescaled

),

quarterly as (

    select
        neighborhood_id,
        quarter,
        count(*) as respondents,
        count(trust_index_score) as trust_n,
        {{ exact_avg('trust_index_score') }} as trust_mean,
        {{ exact_stddev_samp('trust_index_score', 'trust_cell_mean') }} as trust_sd,
        count(safety_index_score) as safety_n,
        {{ exact_avg('safety_index_score') }} as safety_mean,
        {{ exact_stddev_samp('safety_index_score', 'safety_cell_mean') }} as safety_sd,
        sum(case when trust_score >= 4 then 1 else 0 end) as trust_high_n,
        -- weighted means Σ w·x / Σ w over the respondents with a score of the construct
        count(weight) as weighted_n,
        {{ exact_sum('weight') }} as weight_sum,
        {{ exact_sum('weight * weight') }} as weight_squared_sum,
        {{ exact_sum('weight * trust_index_score') }}
        / {{ exact_sum('case when trust_index_score is not null then weight end') }} as trust_mean_weighted,
        {{ exact_sum('weight * safety_index_score') }}
        / {{ exact_sum('case when safety_index_score is not null then weight end') }} as safety_mean_weighted
    from respondents_with_means
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
        {{ wilson_bound('trust_high_n', 'trust_n', '+') }} as pct_trust_ci_high,
        -- weights exist for all of the cell's respondents or for none of them
        case when weighted_n = respondents then trust_mean_weighted end as trust_index_weighted,
        case when weighted_n = respondents then safety_mean_weighted end as safety_index_weighted,
        -- Kish: (Σw)² / Σw²; unweighted (every w = 1) it is the respondent count
        case
            when weighted_n = respondents then weight_sum * weight_sum / weight_squared_sum
            else cast(respondents as double)
        end as effective_n
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
        metrics.pct_trust_ci_high,
        metrics.trust_index_weighted,
        metrics.safety_index_weighted,
        metrics.effective_n
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
        cast(case when not suppressed and respondents > 0 then effective_n end as double) as effective_n,
        cast(case when not suppressed and respondents > 0 then respondents / effective_n end as double)
            as design_effect,
        cast(suppressed as boolean) as suppressed
    from zero_filled

),

-- The weighted indices' linearization intervals and the weighted pct_trust, built per construct
-- in int_survey_constructs_quarterly; the interval is centred on the published weighted index.
constructs as (

    select * from {{ ref('int_survey_constructs_quarterly') }}

),

with_weighted_intervals as (

    select
        final.*,
        cast(final.trust_index_weighted - trust.construct_index_weighted_half_width as double)
            as trust_index_weighted_ci_low,
        cast(final.trust_index_weighted + trust.construct_index_weighted_half_width as double)
            as trust_index_weighted_ci_high,
        cast(final.safety_index_weighted - safety.construct_index_weighted_half_width as double)
            as safety_index_weighted_ci_low,
        cast(final.safety_index_weighted + safety.construct_index_weighted_half_width as double)
            as safety_index_weighted_ci_high,
        cast(case when not final.suppressed then trust.pct_high_weighted end as double) as pct_trust_weighted
    from final
    left join constructs as trust
        on
            final.neighborhood_id = trust.neighborhood_id
            and final.quarter = trust.quarter
            and trust.construct = 'trust'
    left join constructs as safety
        on
            final.neighborhood_id = safety.neighborhood_id
            and final.quarter = safety.quarter
            and safety.construct = 'safety'

)

select * from with_weighted_intervals
