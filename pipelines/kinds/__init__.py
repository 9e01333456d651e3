"""The registry of source kinds: each module here defines one `Kind` (pipelines/kinds/base.py) and its spec."""

from __future__ import annotations

from typing import Annotated

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
SourceSpec = Annotated[
    geography.GeographySource
    | population.PopulationSource
    | crime.CrimeSource
    | survey.SurveySource
    | events.EventsSource
    | roster.RosterSource
    | programs.ProgramsSource,
    Field(discriminator="kind"),
]


def kind_of(spec: SourceBase) -> Kind:
    """The kind a source definition belongs to."""
    return KINDS[spec.kind]


__all__ = ["KINDS", "Kind", "SourceSpec", "kind_of"]
