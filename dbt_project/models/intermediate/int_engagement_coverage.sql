-- The engagement coverage, month by month: the calendars' event starts_at (an attendance is counted
-- in its event's month, so rosters add no month of their own; macros/coverage.sql).
{{ coverage_months('engagement', ref('int_events_deduplicated'), 'starts_at') }}
