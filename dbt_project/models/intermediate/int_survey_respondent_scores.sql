-- One row per complete response (source, response_id) with its construct scores on the
-- 1–5 scale (docs/metrics.md#survey-indices): a construct score is the mean of the respondent's answered items
-- of that construct, kept only when at least half of the construct's items were answered
-- (answered × 2 >= items); otherwise NULL and the respondent is left out of that construct.
-- Scores arrive reverse-coded from the loader, so they are averaged as they are.
with

answers as (

    select * from {{ ref('int_survey_answers_deduplicated') }}

),

construct_scores as (

    select
        source,
        response_id,
        construct,
        count(*) as items,
        count(score) as items_answered,
        case
            when count(score) > 0 and count(score) * 2 >= count(*)
                then {{ exact_avg('score') }}
        end as construct_score
    from answers
    group by source, response_id, construct

),

responses as (

    -- constant within a submission; max() only collapses the item rows
    select
        source,
        response_id,
        max(submitted_at) as submitted_at,
        max(neighborhood_id) as neighborhood_id,
        max(age_group) as age_group,
        max(gender) as gender
    from answers
    group by source, response_id

),

scores_pivoted as (

    select
        source,
        response_id,
        max(case when construct = 'trust' then construct_score end) as trust_score,
        max(case when construct = 'trust' then items end) as trust_items,
        max(case when construct = 'trust' then items_answered end) as trust_items_answered,
        max(case when construct = 'safety' then construct_score end) as safety_score,
        max(case when construct = 'safety' then items end) as safety_items,
        max(case when construct = 'safety' then items_answered end) as safety_items_answered
    from construct_scores
    group by source, response_id

),

final as (

    select
        ----------  ids
        responses.source,
        responses.response_id,
        responses.neighborhood_id,

        ----------  respondent demographics (for raking weights)
        responses.age_group,
        responses.gender,

        ----------  scores, 1–5 scale
        scores_pivoted.trust_score,
        coalesce(scores_pivoted.trust_items, 0) as trust_items,
        coalesce(scores_pivoted.trust_items_answered, 0) as trust_items_answered,
        scores_pivoted.safety_score,
        coalesce(scores_pivoted.safety_items, 0) as safety_items,
        coalesce(scores_pivoted.safety_items_answered, 0) as safety_items_answered,

        ----------  timestamps
        responses.submitted_at,
        {{ quarter_start('responses.submitted_at') }} as submitted_quarter

    from responses
    inner join scores_pivoted
        on
            responses.source = scores_pivoted.source
            and responses.response_id = scores_pivoted.response_id

)

select * from final
