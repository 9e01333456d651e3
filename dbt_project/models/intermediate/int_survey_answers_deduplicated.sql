-- The answer rows of each response's latest submission: per (source, response_id) only the
-- rows with the greatest submitted_at, then the greatest load_id. rank() keeps every item
-- row of the winning submission.
with

answers as (

    select * from {{ ref('stg_survey__answers') }}

),

submissions_ranked as (

    select
        *,
        rank() over (
            partition by source, response_id
            order by submitted_at desc nulls last, loaded_at desc, load_id desc
        ) as submission_rank
    from answers

),

final as (

    select
        source,
        response_id,
        load_id,
        submitted_at,
        neighborhood_id,
        age_group,
        gender,
        construct,
        item,
        score
    from submissions_ranked
    where submission_rank = 1

)

select * from final
