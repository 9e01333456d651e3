"""Landing (or a city portal) -> parsed Parquet, one asset per source: `parsed/<source>`."""

import dagster as dg

from pipelines import ingest
from pipelines.resources import DataHome
from pipelines.sources import SourceSpec

# A network pull that fails (portal down, rate limit outlasting the connector's own HTTP retries) is re-run as
# a whole step after a pause; it resumes from its cursor. File drops are not retried: a bad file stays bad.
NETWORK_RETRY = dg.RetryPolicy(
    max_retries=3, delay=60, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def parsed_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    network = spec.connector != "file"
    where = f"{spec.connector.type} pages of {spec.connector.url}" if network else "New landing files"

    @dg.asset(
        key=["parsed", spec.name],
        group_name="ingest",
        kinds={"parquet"},
        description=f"{where} of {spec.name} ({spec.kind}) as immutable parsed Parquet, personal data removed.",
        tags={"source_kind": spec.kind, **({"connector": spec.connector.type} if network else {})},
        retry_policy=NETWORK_RETRY if network else None,
    )
    def _parsed(context: dg.AssetExecutionContext, data_home: DataHome) -> dg.MaterializeResult:
        # The portal's app token is a secret: read from the environment at run time, never logged or stored.
        token_env = getattr(spec.connector, "app_token_env", None) if network else None
        app_token = dg.EnvVar(token_env).get_value() if token_env else None
        written = ingest.land(spec, data_home.paths, data_home.pii_salt, app_token=app_token)
        if written:
            # One record per step, a line per file: each record is a write to the run's event storage (~5-10 ms),
            # and a roster source lands hundreds of files.
            context.log.info(
                f"{spec.name}: parsed {len(written)} file(s):\n" + "\n".join(f"  {p.name}" for p in written)
            )
        metadata: dict = {"new_loads": len(written)}
        if network:
            state = ingest.read_state(data_home.paths, spec.name)
            metadata["cursor"] = state["cursor"] or "(none yet)"
        return dg.MaterializeResult(metadata=metadata)

    return _parsed
