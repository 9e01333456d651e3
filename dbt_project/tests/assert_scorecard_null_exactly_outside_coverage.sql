-- neighborhood_scorecard: a subject's columns are NULL exactly in the quarters its coverage does
-- not touch (never a 0 there), and never NULL inside it (inside coverage, none observed is 0).
-- Returns the offending rows.
with

scorecard as (

    select * from {{ ref('neighborhood_scorecard') }}

),

coverage_quarters as (

    select distinct
        subject,
        quarter
    from {{ ref('int_coverage_months') }}

),

flagged as (

    select
        scorecard.*,
        crime.quarter is not null as crime_covered,
        engagement.quarter is not null as engagement_covered,
        trust.quarter is not null as trust_covered
    from scorecard
    left join coverage_quarters as crime
        on crime.subject = 'crime' and scorecard.quarter = crime.quarter
    left join coverage_quarters as engagement
        on engagement.subject = 'engagement' and scorecard.quarter = engagement.quarter
    left join coverage_quarters as trust
        on trust.subject = 'trust' and scorecard.quarter = trust.quarter

)

select
    neighborhood_id,
    quarter,
    crime_covered,
    engagement_covered,
    trust_covered
from flagged
where
    -- a quarter no subject covers has no row
    not (crime_covered or engagement_covered or trust_covered)
    -- counts: present exactly inside coverage
    or crime_covered != (incidents is not null)
    or engagement_covered != (events_held is not null and unique_participants is not null)
    or trust_covered != (respondents is not null and suppressed is not null)
    -- figures that may be NULL inside coverage (no population, suppressed) are NULL outside it
    or (not crime_covered and violent_per_1k is not null)
    or (not engagement_covered and participants_per_1k is not null)
    or (not trust_covered and (trust_index is not null or safety_index is not null))
