"""One module per source kind: its YAML spec, its parser and its row validator."""

from __future__ import annotations

from types import ModuleType

# Load order matters: validation looks neighborhoods up in the boundaries and roster events in calendars.
KINDS = ("geography", "population", "crime", "survey", "events", "roster", "programs")


def kind_module(kind: str) -> ModuleType:
    """The module that parses and validates one kind of source."""
    from importlib import import_module

    if kind not in KINDS:
        raise ValueError(f"unknown source kind {kind!r}")
    return import_module(f"pipelines.kinds.{kind}")
