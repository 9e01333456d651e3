"""Landing -> raw Parquet, one asset per source: `raw/<source>`."""

import dagster as dg

from pipelines import ingest
from pipelines.resources import DataHome
from pipelines.sources import SourceSpec


def raw_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", spec.name],
        group_name="ingest",
        kinds={"parquet"},
        description=f"New landing files of {spec.name} ({spec.kind}) as immutable raw Parquet, personal data removed.",
        tags={"source_kind": spec.kind},
    )
    def _raw(context: dg.AssetExecutionContext, data_home: DataHome) -> dg.MaterializeResult:
        written = ingest.land(spec, data_home.paths, data_home.pii_salt)
        for path in written:
            context.log.info(f"{spec.name}: landed {path.name}")
        return dg.MaterializeResult(metadata={"new_loads": len(written)})

    return _raw
