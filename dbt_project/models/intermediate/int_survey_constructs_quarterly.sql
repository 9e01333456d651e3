-- Per neighborhood, quarter and construct: the index with its Student-t interval (as
-- trust_quarterly) and the weighted index with its linearization interval, as R's
-- survey::svymean with svydesign(ids = ~1, weights = ~w): over the n respondents with a score y
-- and a weight w, ȳ = Σwy / Σw, v = n / (n − 1) · Σ(w(y − ȳ))² / (Σw)², interval
-- ȳ ± t(0.975, n − 1) · √v. Weighted figures only where every respondent of the cell has a weight
-- (weights exist for all of a cell's respondents or for none). No suppression here: the marts
-- apply it.
with

construct_respondents as (

    select * from {{ ref('int_survey_construct_respondents') }}

),

respondents as (

    select * from {{ ref('int_survey_respondents_weighted') }}

),

student_t as (

    select * from {{ ref('student_t_975') }}

),

cells as (

    select
        neighborhood_id,
        submitted_quarter as quarter,
        count(*) as respondents,
        count(weight) as weighted_respondents
    from respondents
    where neighborhood_id is not null
    group by neighborhood_id, submitted_quarter

),

scored as (

    select
        *,
        -- the mean of the cell (as construct_mean below), around which its standard deviation is summed
        {{ exact_avg('construct_index', 'neighborhood_id, quarter, construct') }} as cell_mean
    from construct_respondents
    where construct_index is not null

),

means as (

    select
        neighborhood_id,
        quarter,
        construct,
        count(*) as construct_n,
        {{ exact_avg('construct_index') }} as construct_mean,
        {{ exact_stddev_samp('construct_index', 'cell_mean') }} as construct_sd,
        {{ exact_sum('weight') }} as weight_sum,
        {{ exact_sum('weight * construct_index') }} / {{ exact_sum('weight') }} as weighted_mean,
        100 * {{ exact_sum('case when construct_score >= 4 then weight else 0 end') }}
        / {{ exact_sum('weight') }} as pct_high_weighted
    from scored
    group by neighborhood_id, quarter, construct

),

-- second pass over the respondents, around the weighted mean, for a numerically stable Σ(w(y − ȳ))²
weighted_deviations as (

    select
        scored.neighborhood_id,
        scored.quarter,
        scored.construct,
        {{ exact_sum(
            '(scored.weight * (scored.construct_index - means.weighted_mean))'
            ~ ' * (scored.weight * (scored.construct_index - means.weighted_mean))'
        ) }} as squared_deviation_sum
    from scored
    inner join means
        on
            scored.neighborhood_id = means.neighborhood_id
            and scored.quarter = means.quarter
            and scored.construct = means.construct
    group by scored.neighborhood_id, scored.quarter, scored.construct

),

final as (

    select
        means.neighborhood_id,
        means.quarter,
        means.construct,
        cells.respondents,
        means.construct_n,
        means.construct_mean as construct_index,
        {{ t_interval_bound('means.construct_mean', 'means.construct_sd', 'means.construct_n', 'student_t.t_975', '-') }}
            as construct_index_ci_low,
        {{ t_interval_bound('means.construct_mean', 'means.construct_sd', 'means.construct_n', 'student_t.t_975', '+') }}
            as construct_index_ci_high,
        case when cells.weighted_respondents = cells.respondents then means.weighted_mean end
            as construct_index_weighted,
        -- t(0.975, n − 1) · √v, the half-width of the weighted interval; NULL when n < 2
        case
            when cells.weighted_respondents = cells.respondents and means.construct_n >= 2
                then coalesce(student_t.t_975, {{ normal_quantile_975() }})
                    * sqrt(
                        cast(means.construct_n as double) / (means.construct_n - 1)
                        * weighted_deviations.squared_deviation_sum / (means.weight_sum * means.weight_sum)
                    )
        end as construct_index_weighted_half_width,
        case when cells.weighted_respondents = cells.respondents then means.pct_high_weighted end
            as pct_high_weighted
    from means
    inner join cells
        on
            means.neighborhood_id = cells.neighborhood_id
            and means.quarter = cells.quarter
    inner join weighted_deviations
        on
            means.neighborhood_id = weighted_deviations.neighborhood_id
            and means.quarter = weighted_deviations.quarter
            and means.construct = weighted_deviations.construct
    left join student_t
        on means.construct_n - 1 = student_t.df

)

select * from final
