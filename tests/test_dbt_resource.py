"""The dbt resource (pipelines/resources.py, DbtCli) replaces two private methods of the pinned dagster-dbt to save
their cost on every dbt invocation. An upgrade that renamed them would bring the cost back without a word: this
fails instead, and checks that the replacement gives what the original gave."""

import functools
import importlib.metadata
import inspect

from dagster_dbt import DbtCliResource
from packaging import version

from pipelines.resources import dbt_cli


def test_the_replaced_dagster_dbt_methods_exist_and_the_version_is_the_installed_dbts():
    assert isinstance(inspect.getattr_static(DbtCliResource, "_cli_version"), functools.cached_property)
    assert list(inspect.signature(DbtCliResource._initialize_dbt_core_adapter).parameters) == ["self", "args"]
    # What `dbt --version` prints as installed: the dbt-core distribution this environment holds.
    assert dbt_cli()._cli_version == version.parse(importlib.metadata.version("dbt-core"))
