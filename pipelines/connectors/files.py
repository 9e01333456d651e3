"""File connector: the files a source's glob finds in the data home (file drops, bulk portal exports).

Each file is one load; its load id is the file's stem plus a digest of its bytes, so an unchanged file is never
loaded twice and a corrected file under the same name becomes a new load that replaces the old one.

A file's digest is computed once: it is kept in state/digests/<folder>.json under the data home with the file's
size, modification and change times and inode, and read from there while all four are the same. A landing file
already landed then costs a stat, not a read of its bytes, on every run and every sensor tick. Any write to the
file, a rename over it or a copy into place changes its change time (which no program can set), so its digest is
computed again; so is that of a file changed less than two seconds before it was digested, since a file system
may record times that coarsely (git's index meets the same "racy" case the same way).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
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


DIGESTS = Path("state") / "digests"  # under the data home
# A file changed this recently may change again within one tick of the file system's clock: not kept.
RACY_NS = 2_000_000_000


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _identity(status: os.stat_result) -> list[int]:
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino]


class DigestCache:
    """The digests of a data home's landing files, one JSON file per landing folder, each entry valid while the
    file's size, modification time, change time and inode are those recorded with it."""

    def __init__(self, home: Path):
        self.home = home
        self.folders: dict[str, dict[str, dict]] = {}  # relative folder -> file name -> entry
        self.changed: set[str] = set()

    def _file(self, folder: str) -> Path:
        return self.home / DIGESTS / f"{folder}.json"

    def _entries(self, folder: str) -> dict[str, dict]:
        if folder not in self.folders:
            try:
                self.folders[folder] = json.loads(self._file(folder).read_text())["files"]
            except (OSError, ValueError, KeyError, TypeError):
                self.folders[folder] = {}  # none yet, or unreadable: the digests are computed again
        return self.folders[folder]

    def digest(self, path: Path, relative: str) -> str:
        folder, name = relative.rpartition("/")[::2]
        entries = self._entries(folder or ".")
        before = path.stat()
        entry = entries.get(name)
        if isinstance(entry, dict) and entry.get("stat") == _identity(before):
            return entry["sha256"]
        digest = file_digest(path)
        after = path.stat()
        settled = max(after.st_mtime_ns, after.st_ctime_ns) < time.time_ns() - RACY_NS
        if _identity(before) == _identity(after) and settled:
            entries[name] = {"stat": _identity(after), "sha256": digest}
        else:
            entries.pop(name, None)
        self.changed.add(folder or ".")
        return digest

    def save(self) -> None:
        """Write the folders whose digests changed, dropping files that are gone; atomically, so a concurrent
        reader (the sensor, another source's step) reads the old list or the new one. Two writers of one folder
        may each drop the other's new entries: those files are read once more, never given a wrong digest."""
        for folder in sorted(self.changed):
            entries = self.folders[folder]
            kept = {name: e for name, e in entries.items() if (self.home / folder / name).exists()}
            target = self._file(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps({"files": kept}, indent=0, sort_keys=True))
            os.replace(temporary, target)
        self.changed.clear()


def landing_files(home: Path, pattern: str) -> list[LandingFile]:
    """Files matching `pattern` under the data home, oldest name first; paths escaping the home are refused."""
    if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        raise SourceError(f"path {pattern!r} must be relative to the data home and stay inside it")
    files = []
    digests = DigestCache(home)
    for path in sorted(home.glob(pattern)):
        if not path.is_file() or path.suffix.lower() not in LANDING_SUFFIXES:
            continue
        try:
            resolved = inside(home, path)
        except ValueError as error:
            raise SourceError(f"{path}: refused: {error}") from None
        relative = path.relative_to(home).as_posix()
        files.append(
            LandingFile(resolved, relative, f"{path.stem}-{digests.digest(resolved, relative)[:12]}")
        )
    digests.save()
    return files
