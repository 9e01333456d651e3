-- One row per complete response with its construct scores (int_survey_respondent_scores) and
-- its raking weight (weights asset). The join is on the neighborhood and quarter too, so a
-- respondent the weights asset saw differently from dbt shows as a missing weighting_status
-- (tested) instead of silently taking another cell's weight.
with

scores as (

    select * from {{ ref('int_survey_respondent_scores') }}

),

weights as (

    select * from {{ ref('stg_survey__weights') }}

),

final as (

    select
        ----------  ids
        scores.source,
        scores.response_id,
        scores.neighborhood_id,

        ----------  respondent demographics
        scores.age_group,
        scores.gender,

        ----------  scores, 1–5 scale
        scores.trust_score,
        scores.trust_items,
        scores.trust_items_answered,
        scores.safety_score,
        scores.safety_items,
        scores.safety_items_answered,

        ----------  raking weight
        weights.weight,
        weights.is_raked,
        weights.weighting_status,

        ----------  timestamps
        scores.submitted_at,
        scores.submitted_quarter

    from scores
    left join weights
        on
            scores.source = weights.source
            and scores.response_id = weights.response_id
            and scores.neighborhood_id = weights.neighborhood_id
            and scores.submitted_quarter = weights.submitted_quarter

)

select * from final
