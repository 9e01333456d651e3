"""The registry of source kinds: each module here defines one `Kind` (pipelines/kinds/base.py) and its spec."""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from pipelines.kinds import crime, events, geography, population, programs, roster, survey
from pipelines.kinds.base import Kind, SourceBase

# In load order: validation looks neighborhoods up in the boundaries and roster events in the calendars.
KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        geography.KIND,
        population.KIND,
        crime.KIND,
        survey.KIND,
        events.KIND,
        roster.KIND,
        programs.KIND,
    )
}

# A source definition: the spec of the kind its `kind:` field names.
SourceSpec = Annotated[Union[tuple(kind.spec_type for kind in KINDS.values())], Field(discriminator="kind")]  # noqa: UP007


def kind_of(spec: SourceBase) -> Kind:
    """The kind a source definition belongs to."""
    return KINDS[spec.kind]


__all__ = ["KINDS", "Kind", "SourceSpec", "kind_of"]
