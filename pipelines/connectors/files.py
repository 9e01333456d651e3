"""File connector: the files a source's glob finds in the data home (file drops, bulk portal exports).

Each file is one load; its load id is the file's stem plus a digest of its bytes, so an unchanged file is never
loaded twice and a corrected file under the same name becomes a new load that replaces the old one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import SourceError
from pipelines.settings import inside

LANDING_SUFFIXES = {".csv", ".json", ".geojson", ".xlsx", ".xlsm", ".parquet"}


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative: str  # relative to the data home: what data_quality and quarantine show
    load_id: str


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def landing_files(home: Path, pattern: str) -> list[LandingFile]:
    """Files matching `pattern` under the data home, oldest name first; paths escaping the home are refused."""
    if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        raise SourceError(f"path {pattern!r} must be relative to the data home and stay inside it")
    files = []
    for path in sorted(home.glob(pattern)):
        if not path.is_file() or path.suffix.lower() not in LANDING_SUFFIXES:
            continue
        try:
            resolved = inside(home, path)
        except ValueError as error:
            raise SourceError(f"{path}: refused: {error}") from None
        relative = path.relative_to(home).as_posix()
        files.append(LandingFile(resolved, relative, f"{path.stem}-{file_digest(resolved)[:12]}"))
    return files
