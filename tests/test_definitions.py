"""The code location loads, and its asset graph is what the architecture says (snapshot-tested)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.txt"

DESCRIBE = """
from pipelines import definitions
defs = definitions.defs()
graph = defs.resolve_asset_graph()
for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
    node = graph.get(key)
    deps = ", ".join(sorted(p.to_user_string() for p in node.parent_keys))
    print(f"asset {key.to_user_string()} [{node.group_name}] <- {deps}")
for check in sorted(graph.asset_check_keys, key=lambda c: (c.asset_key.to_user_string(), c.name)):
    spec = graph.get_check_spec(check)
    print(f"check {check.asset_key.to_user_string()}:{check.name}{' (blocking)' if spec.blocking else ''}")
for schedule in sorted(defs.schedules, key=lambda s: s.name):
    print(f"schedule {schedule.name} '{schedule.cron_schedule}' -> {schedule.job_name}")
for sensor in sorted(defs.sensors, key=lambda s: s.name):
    print(f"sensor {sensor.name} -> {', '.join(sorted(t.job_name for t in sensor.targets))}")
"""


def describe_graph(tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBHD_")} | {"NBHD_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", DESCRIBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def test_definitions_load_and_match_the_snapshot(tmp_path):
    graph = describe_graph(tmp_path)
    for stage in (
        "asset parsed/demo_crimes",
        "asset warehouse/demo_crimes",
        "asset canonical/crime_incidents",
        "asset published/crime_monthly",
        "asset published_files",
        "check warehouse/demo_crimes:quarantine_share (blocking)",
        "check warehouse/demo_crimes:unmapped_offense_share (blocking)",
        "check warehouse/demo_crimes:freshness",
        "schedule daily_crime_schedule '0 6 * * *' -> daily_crime",
        "schedule weekly_full_build_schedule '0 3 * * 0' -> weekly_full_build",
        "sensor landing_files_sensor -> load_landing_files",
        "sensor crime_months_sensor -> crime_months",
    ):
        assert stage in graph
    assert "check published/crime_monthly:" in graph, "dbt tests are asset checks"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(graph)
    assert graph == SNAPSHOT.read_text(), (
        "the asset graph changed: review, then rerun with UPDATE_SNAPSHOTS=1"
    )
