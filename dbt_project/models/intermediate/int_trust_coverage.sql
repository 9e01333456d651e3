-- The trust coverage, month by month: survey submitted_at (macros/coverage.sql).
{{ coverage_months('trust', ref('int_survey_respondent_scores'), 'submitted_at') }}
