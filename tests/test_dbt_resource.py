"""The dbt resource (pipelines/resources.py, DbtCli) replaces two private methods of the pinned dagster-dbt to save
their cost on every dbt invocation. An upgrade that renamed them would bring the cost back without a word: this
fails instead, and checks that the replacement gives what the original gave. Beside them, what spares a new data
home's dbt a whole parse of the project."""

import functools
import importlib.metadata
import inspect

from dagster_dbt import DbtCliResource
from packaging import version

from pipelines.resources import dbt_cli
from tests.conftest import dbt_log_events


def test_the_replaced_dagster_dbt_methods_exist_and_the_version_is_the_installed_dbts():
    assert isinstance(inspect.getattr_static(DbtCliResource, "_cli_version"), functools.cached_property)
    assert list(inspect.signature(DbtCliResource._initialize_dbt_core_adapter).parameters) == ["self", "args"]
    # What `dbt --version` prints as installed: the dbt-core distribution this environment holds.
    assert dbt_cli()._cli_version == version.parse(importlib.metadata.version("dbt-core"))


def test_a_new_data_home_reuses_the_projects_parse(small_city):
    """dbt parses the whole project again when its profile or --vars differ from those of the parse it starts
    from. A new data home starts from the project's own parse (dagster-dbt copies it into the home's dbt folder),
    made with the profile every home's commands see (pipelines/assets/dbt.py, dbt_environment): the whole run of
    the shared small city re-parses at most the files whose environment variables differ."""
    events = [event["info"] for event in dbt_log_events(small_city.home)]
    commands = [e for e in events if e["name"] == "MainReportArgs"]
    assert len(commands) >= 3  # the three build steps and the docs
    refused = [e["msg"] for e in events if e["name"] == "UnableToPartialParse"]
    assert not refused, refused
    # The first command started from a parse (a home without one parses everything, refusing nothing).
    first = events[: events.index(commands[1])]
    assert {"PartialParsingEnabled", "PartialParsingSkipParsing"} & {e["name"] for e in first}
