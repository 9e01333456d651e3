-- One row per located complete response and construct of its survey, for every construct a
-- survey names (trust, safety and any other): the construct score with the rule of
-- int_survey_respondent_scores (mean of the answered items, kept when at least half were
-- answered), its 0–100 index, and the respondent's raking weight and demographics.
with

answers as (

    select * from {{ ref('int_survey_answers_deduplicated') }}

),

respondents as (

    select * from {{ ref('int_survey_respondents_weighted') }}

),

construct_scores as (

    select
        source,
        response_id,
        construct,
        case
            when count(score) > 0 and count(score) * 2 >= count(*)
                then {{ exact_avg('score') }}
        end as construct_score
    from answers
    group by source, response_id, construct

),

final as (

    select
        respondents.source,
        respondents.response_id,
        respondents.neighborhood_id,
        respondents.submitted_quarter as quarter,
        respondents.age_group,
        respondents.gender,
        respondents.weight,
        construct_scores.construct,
        construct_scores.construct_score,
        -- 1–5 → 0–100
        (construct_scores.construct_score - 1) / 4 * 100 as construct_index
    from respondents
    inner join construct_scores
        on
            respondents.source = construct_scores.source
            and respondents.response_id = construct_scores.response_id
    where respondents.neighborhood_id is not null

)

select * from final
