"""Statistics that SQL does badly (the raking weights, docs/metrics.md#weighting-raking), as plain functions with no Dagster in them."""
