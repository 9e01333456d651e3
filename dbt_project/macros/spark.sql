{#
    The Spark target (profiles.yml `spark`, dbt-spark). Both macros run as project hooks
    (dbt_project.yml on-run-start / on-run-end) and do nothing on any other adapter, so the
    DuckDB build is unchanged.

    Sources: on DuckDB the dbt sources are the warehouse's relations (canonical.*, meta.*,
    weights.*). Spark cannot read a DuckDB file, so pipelines/spark.py exports each of them to
    Parquet as <NBHD_SPARK_SOURCES>/<schema>/<table>/ and this hook registers every source of
    the project as an external (unmanaged) Parquet table of the same name over that folder.
    `source()` is then the same in every model. Dropping such a table never deletes the files.
#}
{% macro spark_sources_root() -%}
    {{- env_var('NBHD_SPARK_SOURCES', env_var('NBHD_SPARK_HOME', env_var('NBHD_HOME', '../data') ~ '/spark') ~ '/sources') -}}
{%- endmacro %}

{% macro spark_string_literal(value) -%}
    '{{ value | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{% macro register_spark_sources() %}
    {%- if execute and target.type == 'spark' -%}
        {%- set root = spark_sources_root() | trim -%}
        {%- for node in graph.sources.values() | sort(attribute='unique_id') if node.package_name == project_name -%}
            {%- set relation = api.Relation.create(schema=node.schema, identifier=node.identifier) -%}
            {%- set location = root ~ '/' ~ node.schema ~ '/' ~ node.identifier -%}
            {%- do run_query('create schema if not exists ' ~ node.schema) -%}
            {%- do run_query('drop table if exists ' ~ relation) -%}
            {%- do run_query('create table ' ~ relation ~ ' using parquet location ' ~ spark_string_literal(location)) -%}
            {%- do log('spark source ' ~ relation ~ ' <- ' ~ location, info=false) -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}

{#
    Publishing from Spark: every published mart that this invocation built is written as one
    Parquet file under <NBHD_SPARK_PUBLISH_DIR>/<table>/ (a folder, as Spark writes it; pandas and
    DuckDB read it as one table), the Spark counterpart of published/<table>.parquet.
    Set NBHD_SPARK_PUBLISH_DIR empty to skip.
#}
{% macro export_spark_marts(results) %}
    {%- if execute and target.type == 'spark' -%}
        {%- set root = env_var('NBHD_SPARK_PUBLISH_DIR', env_var('NBHD_SPARK_HOME', env_var('NBHD_HOME', '../data') ~ '/spark') ~ '/published') -%}
        {%- for result in results if root
            and result.node.resource_type == 'model'
            and result.node.config.schema == 'published'
            and result.status == 'success' -%}
            {%- set relation = api.Relation.create(schema=result.node.schema, identifier=result.node.alias) -%}
            {%- do run_query(
                'insert overwrite directory ' ~ spark_string_literal(root ~ '/' ~ result.node.alias)
                ~ ' using parquet select /*+ COALESCE(1) */ * from ' ~ relation
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
