"""Statistics that SQL does badly (ARCHITECTURE: raking weights), as plain functions with no Dagster in them."""
