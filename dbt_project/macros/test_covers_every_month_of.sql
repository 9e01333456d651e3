{#
    Generic test: every dated row of `activity` falls in a month of the coverage (`model`), so no activity is
    silently left out of the zero-filled marts. The coverage's month spine is bounded (macros/coverage.sql):
    this fails loudly should the data ever span more. One per subject's coverage, so that a run building one
    subject reads no other subject's rows.

    Usage:
      data_tests:
        - covers_every_month_of:
            arguments:
              activity: ref('int_incidents_deduplicated')
              timestamp_column: occurred_at
#}
{% test covers_every_month_of(model, activity, timestamp_column) %}

    with activity_months as (

        select distinct {{ month_start(timestamp_column) }} as month
        from {{ activity }}
        where {{ timestamp_column }} is not null

    )

    select activity_months.month
    from activity_months
    left join {{ model }} as coverage
        on activity_months.month = coverage.month
    where coverage.month is null

{% endtest %}
