{#
    Generic test: no two rows share the same values of `combination_of_columns`
    (the grain of a model). A stand-in for dbt_utils.unique_combination_of_columns,
    since the project installs no packages.

    Usage:
      data_tests:
        - unique_combination_of_columns:
            arguments:
              combination_of_columns: [neighborhood_id, month]
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

    {%- set columns_csv = combination_of_columns | join(', ') %}

    with grouped as (

        select
            {{ columns_csv }},
            count(*) as n_rows
        from {{ model }}
        group by {{ columns_csv }}

    )

    select *
    from grouped
    where n_rows > 1

{% endtest %}
