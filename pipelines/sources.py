"""Source definitions: one YAML file per source, loaded into typed specs.

Adding a city, a survey wave format or a roster format is a new YAML file (plus a crosswalk CSV beside it),
never a code change. Errors name the file and the field, so a newcomer can fix them. The fields of each
kind are declared in its module under pipelines/kinds/.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

import yaml
from pydantic import TypeAdapter, ValidationError

from pipelines.errors import SourceError
from pipelines.kinds import KINDS, SourceSpec, kind_of
from pipelines.kinds.base import read_crosswalk

__all__ = ["KINDS", "SourceError", "SourceSpec", "load_source", "load_sources", "read_crosswalk"]

ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")

_adapter: TypeAdapter[SourceSpec] = TypeAdapter(SourceSpec)


def expand_env(value):
    """Expand ${VAR} and ${VAR:-default} in every string of a parsed YAML document."""
    if isinstance(value, dict):
        return {key: expand_env(item) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_env(item) for item in value]
    if isinstance(value, str):

        def substitute(match: re.Match) -> str:
            name, default = match.group("name"), match.group("default")
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise SourceError(f"environment variable {name} is not set and has no default")

        return ENV_REFERENCE.sub(substitute, value)
    return value


def describe(error: ValidationError) -> str:
    """pydantic's errors as `field 'a.b': what is wrong`, without its internal names for unions: a `connector`
    written as a mapping is a network connector, so "it should be 'file'" is not worth saying about it."""
    problems = []
    for issue in error.errors():
        parts = [str(part) for part in issue["loc"][1:]]  # [0] is the kind's model
        if any(part.startswith("literal[") for part in parts):
            continue  # the other alternative of a `"file" | {connector}` field
        parts = [part for part in parts if not part.startswith(("tagged-union[", "function-after["))]
        message = issue["msg"].removeprefix("Value error, ")
        problems.append(f"field '{'.'.join(parts)}': {message}")
    return "; ".join(dict.fromkeys(problems)) or str(error)


def load_source(path: Path) -> SourceSpec:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SourceError(f"{path}: cannot read YAML: {error}") from error
    if not isinstance(document, dict):
        raise SourceError(f"{path}: expected a mapping of fields, found {type(document).__name__}")
    try:
        document = expand_env(document)
    except SourceError as error:
        raise SourceError(f"{path}: {error}") from error
    if document.get("kind") not in KINDS:
        raise SourceError(
            f"{path}: field 'kind': must be one of {', '.join(KINDS)}, got {document.get('kind')!r}"
        )
    try:
        spec = _adapter.validate_python({**document, "definition_dir": path.parent})
    except ValidationError as error:
        raise SourceError(f"{path}: {describe(error)}") from None
    if spec.path is not None:
        pattern = PurePosixPath(spec.path.replace("\\", "/"))
        if pattern.is_absolute() or Path(spec.path).is_absolute() or ".." in pattern.parts:
            raise SourceError(
                f"{path}: field 'path': {spec.path!r} must be a pattern relative to the data home, without '..' "
                "(files are read only from inside the data home)"
            )
    if spec.connector != "file" and not kind_of(spec).network:
        raise SourceError(
            f"{path}: field 'connector': {spec.kind} sources can only be file drops, not {spec.connector.type}"
        )
    for field, relative in spec.files_beside().items():
        if not relative:
            continue
        try:
            file = spec.beside(relative)  # refuses a name (or a symlink) that leads outside the YAML's folder
        except SourceError as error:
            raise SourceError(f"{path}: field '{field}': {error}") from None
        if not file.is_file():
            raise SourceError(f"{path}: field '{field}': no file {file}")
    return spec


def load_sources(directory: Path) -> list[SourceSpec]:
    directory = Path(directory)
    files = sorted(directory.glob("*.yml")) + sorted(directory.glob("*.yaml"))
    if not files:
        raise SourceError(f"{directory}: no source definitions (*.yml) found")
    specs = [load_source(file) for file in files]
    seen: dict[str, Path] = {}
    for spec, file in zip(specs, files, strict=True):
        if spec.name in seen:
            raise SourceError(f"{file}: source name {spec.name!r} is already used by {seen[spec.name]}")
        seen[spec.name] = file
    return specs
