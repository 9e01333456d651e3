"""A landing file already landed costs a stat, not a read (pipelines/connectors/files.py): its digest is kept
with its size, times and inode, and computed again as soon as any of them changes."""

from __future__ import annotations

import hashlib
import json
import os
import time

from pipelines.connectors.files import DIGESTS, RACY_NS, landing_files

PATTERN = "landing/demo_crimes/*.csv"


def write_settled(path, text: str) -> None:
    """Write a file and wait until it is older than the window in which a change may go unseen."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    time.sleep(RACY_NS / 1e9 + 0.2)


def load_id(path) -> str:
    return f"{path.stem}-{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"


def kept(home) -> dict:
    return json.loads((home / DIGESTS / "landing" / "demo_crimes.json").read_text())["files"]


def test_a_landed_file_is_not_read_again_until_it_changes(tmp_path):
    crimes = tmp_path / "landing" / "demo_crimes" / "crimes_2024.csv"
    write_settled(crimes, "ID,Date\n1,01/01/2024 10:00:00 AM\n")
    (first,) = landing_files(tmp_path, PATTERN)
    assert first.load_id == load_id(crimes)
    assert kept(tmp_path)["crimes_2024.csv"]["sha256"] == hashlib.sha256(crimes.read_bytes()).hexdigest()

    # The kept digest is used as long as the stat is the same: put another one in its place and it is the one
    # the file gets, so the file's bytes were not read.
    entries = kept(tmp_path)
    entries["crimes_2024.csv"]["sha256"] = "f" * 64
    (tmp_path / DIGESTS / "landing" / "demo_crimes.json").write_text(json.dumps({"files": entries}))
    (again,) = landing_files(tmp_path, PATTERN)
    assert again.load_id == "crimes_2024-" + "f" * 12

    # A corrected file of the same size, its modification time set back: its change time differs, so it is read.
    stat = crimes.stat()
    crimes.write_text("ID,Date\n2,01/01/2024 10:00:00 AM\n")
    os.utime(crimes, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert crimes.stat().st_size == stat.st_size and crimes.stat().st_mtime_ns == stat.st_mtime_ns
    (corrected,) = landing_files(tmp_path, PATTERN)
    assert corrected.load_id == load_id(crimes) != first.load_id


def test_a_file_changed_a_moment_ago_is_read_every_time(tmp_path):
    """Within the file system's time resolution a second change may leave every time as it was: such a file's
    digest is not kept, so the next run reads it again."""
    crimes = tmp_path / "landing" / "demo_crimes" / "crimes_2025.csv"
    crimes.parent.mkdir(parents=True)
    crimes.write_text("ID\n1\n")
    (first,) = landing_files(tmp_path, PATTERN)
    assert first.load_id == load_id(crimes)
    assert "crimes_2025.csv" not in kept(tmp_path)


def test_a_removed_file_leaves_the_kept_digests(tmp_path):
    folder = tmp_path / "landing" / "demo_crimes"
    write_settled(folder / "a.csv", "ID\n1\n")
    (folder / "b.csv").write_text("ID\n2\n")
    time.sleep(RACY_NS / 1e9 + 0.2)
    assert [f.relative for f in landing_files(tmp_path, PATTERN)] == [
        "landing/demo_crimes/a.csv",
        "landing/demo_crimes/b.csv",
    ]
    assert sorted(kept(tmp_path)) == ["a.csv", "b.csv"]
    (folder / "a.csv").unlink()
    (folder / "b.csv").write_text("ID\n3\n")  # changed, so the digests are written again, without a.csv
    (only,) = landing_files(tmp_path, PATTERN)
    assert only.load_id == load_id(folder / "b.csv")
    assert "a.csv" not in kept(tmp_path)
