-- The crime coverage, month by month: incident occurred_at (macros/coverage.sql).
{{ coverage_months('crime', ref('int_incidents_deduplicated'), 'occurred_at') }}
