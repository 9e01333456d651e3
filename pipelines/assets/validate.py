"""Parsed Parquet -> warehouse `raw.<source>` + `quarantine.<source>`, with blocking load-level checks,
then one `canonical/<kind>` view per source kind: what dbt reads."""

import dagster as dg

from pipelines import validation_worker
from pipelines.checks.load_checks import check_spec, evaluate, load_checks
from pipelines.kinds import KINDS, Kind, kind_of
from pipelines.resources import DataHome
from pipelines.sources import SourceSpec
from pipelines.warehouse import connect, ensure_meta_tables, refresh_canonical_view


class LoadConfig(dg.Config):
    # Validate again every load that quarantined rows, with the source's current lookups (a calendar that now
    # lists the event) and clock (an occurrence no longer in the future): rows that pass are loaded. (A changed
    # definition validates every load again by itself: `ingest.redefined_loads`.)
    replay_quarantine: bool = False


def loads_with_quarantine(paths, source: str) -> list[str]:
    with connect(paths.warehouse) as con:
        ensure_meta_tables(con)
        rows = con.execute(
            "SELECT load_id FROM meta.loads WHERE source = ? AND rows_quarantined > 0", [source]
        ).fetchall()
    return [load_id for (load_id,) in rows]


def warehouse_asset(spec: SourceSpec, specs: list[SourceSpec]) -> dg.AssetsDefinition:
    lookups = [s for s in specs if s.kind in kind_of(spec).lookups]
    checks = load_checks(spec)

    @dg.asset(
        key=["warehouse", spec.name],
        deps=[dg.AssetKey(["parsed", spec.name])] + [dg.AssetKey(["warehouse", s.name]) for s in lookups],
        group_name="validate",
        kinds={"duckdb"},
        check_specs=[check_spec(check, spec) for check in checks],
        description=f"Validated rows of {spec.name} in raw.{spec.name}; refused rows in quarantine.{spec.name}.",
        tags={"source_kind": spec.kind},
    )
    def _warehouse(
        context: dg.AssetExecutionContext, config: LoadConfig, data_home: DataHome
    ) -> dg.MaterializeResult:
        paths = data_home.paths
        redo = loads_with_quarantine(paths, spec.name) if config.replay_quarantine else []
        summaries = validation_worker.write_loads(spec, specs, paths, redo)
        # One record per step, a line per load (as the landed files: pipelines/assets/ingest.py).
        if summaries:
            context.log.info(
                f"{spec.name}: {len(summaries)} load(s) written:\n"
                + "\n".join(
                    f"  {s.file}: {s.rows_received} received, {s.rows_loaded} loaded, {s.rows_quarantined} quarantined"
                    + (f" (validated again: {s.again})" if s.again else "")
                    for s in summaries
                )
            )
        validated = validation_worker.validate_new_loads(paths.warehouse, spec)
        with connect(paths.warehouse) as con:
            results = [evaluate(check, con, spec) for check in checks]
        return dg.MaterializeResult(
            metadata={
                "new_loads": len(summaries),
                "rows_received": sum(s.rows_received for s in summaries),
                "rows_quarantined": sum(s.rows_quarantined for s in summaries),
                "loads_validated_by_expectations": validated,
            },
            check_results=results,
        )

    return _warehouse


def canonical_asset(kind: Kind, specs: list[SourceSpec]) -> dg.AssetsDefinition:
    members = [s.name for s in specs if s.kind == kind.name]

    @dg.asset(
        key=["canonical", kind.view],
        deps=[dg.AssetKey(["warehouse", name]) for name in members],
        group_name="validate",
        kinds={"duckdb"},
        description=f"All {kind.name} sources in canonical columns (a view over raw.*): the dbt source.",
    )
    def _canonical(data_home: DataHome) -> dg.MaterializeResult:
        with connect(data_home.paths.warehouse) as con:
            refresh_canonical_view(con, kind, members)
        return dg.MaterializeResult(metadata={"sources": ", ".join(members) or "(none configured)"})

    return _canonical


def validate_assets(specs: list[SourceSpec]) -> list[dg.AssetsDefinition]:
    return [warehouse_asset(spec, specs) for spec in specs] + [
        canonical_asset(kind, specs) for kind in KINDS.values()
    ]


def meta_assets(specs: list[SourceSpec]) -> list[dg.AssetsDefinition]:
    """meta.loads, meta.load_reasons and meta.load_notes: what every load received, loaded, quarantined and
    changed on the way (dbt's source for data_quality). The warehouse assets write them; this step makes their
    lineage visible."""

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                ["meta", table],
                deps=[dg.AssetKey(["warehouse", s.name]) for s in specs],
                group_name="validate",
            )
            for table in ("loads", "load_reasons", "load_notes")
        ],
    )
    def load_log(data_home: DataHome):
        with connect(data_home.paths.warehouse) as con:
            ensure_meta_tables(con)
        yield dg.MaterializeResult(asset_key=["meta", "loads"])
        yield dg.MaterializeResult(asset_key=["meta", "load_reasons"])
        yield dg.MaterializeResult(asset_key=["meta", "load_notes"])

    return [load_log]
