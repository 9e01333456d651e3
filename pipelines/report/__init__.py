"""The static HTML scorecard report (published/report/) and the data dictionary (published/docs/)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from pipelines.report.build import build_report

__all__ = ["build_report", "publish_folder", "publish_report"]


def publish_folder(publish_dir: Path, name: str, build: Callable[[Path], list[Path]]) -> list[Path]:
    """Build published/<name>/ in a staging folder beside it, then swap it in: a reader sees the previous
    complete folder or the new one (for the instant between the two renames, none), never half of one."""
    target = publish_dir / name
    staging = publish_dir / f".{name}-{uuid.uuid4().hex}"
    retired = publish_dir / f".{name}-old-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    try:
        written = build(staging)
        if target.exists():
            target.rename(retired)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)
    return [target / path.relative_to(staging) for path in written]


def publish_report(publish_dir: Path) -> list[Path]:
    return publish_folder(publish_dir, "report", lambda folder: build_report(publish_dir, folder))
