"""Nothing happens at import: importing the code location, or any module of the package, changes no environment
variable (PATH included). Settings are passed to what needs them (dbt gets its warehouse on its command line), and
the PII salt is read when a load asks for it, so no test has to reload a module to change it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipelines.pii import MissingSaltError, require_salt
from pipelines.resources import build_resources
from pipelines.settings import Paths
from tests.conftest import REPO

# Imports the code location first (what `dagster dev -m pipelines.definitions` does), then every other module.
IMPORT_ALL = """
import importlib, json, os, pkgutil
before = dict(os.environ)
import pipelines, pipelines.definitions
after_definitions = dict(os.environ)
for module in pkgutil.walk_packages(pipelines.__path__, "pipelines."):
    importlib.import_module(module.name)

def changed(old, new):
    return {key: [old.get(key), new.get(key)] for key in old.keys() | new.keys() if old.get(key) != new.get(key)}

print(json.dumps({"definitions": changed(before, after_definitions), "all": changed(before, dict(os.environ))}))
"""


def test_importing_changes_no_environment_variable(tmp_path):
    # No data home settings of the caller's own (a module writing its defaults would add them) and a PATH without
    # the interpreter's folder in front (a module putting it there would show).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBHD_", "DAGSTER_", "DBT_", "GX_"))} | {
        "NBHD_HOME": str(tmp_path),
        "PATH": os.pathsep.join(["/usr/bin", "/bin"]),
    }
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-4000:]
    changed = json.loads(result.stdout.splitlines()[-1])
    assert changed["definitions"] == {}, (
        "importing pipelines.definitions changed these variables [before, after]"
    )
    assert changed["all"] == {}, "importing the package's modules changed these variables [before, after]"


def test_the_pii_salt_is_read_when_a_load_asks_for_it(monkeypatch, tmp_path):
    """Not when the code location is built: a resource built without the salt set sees it once it is set, and a
    load that needs it while it is unset stops with the error naming NBHD_PII_SALT."""
    monkeypatch.delenv("NBHD_PII_SALT", raising=False)
    data_home = build_resources(Paths(tmp_path, tmp_path, tmp_path / "w.duckdb", tmp_path / "p"))["data_home"]
    with pytest.raises(MissingSaltError, match="NBHD_PII_SALT is not set"):
        require_salt(data_home.pii_salt, "demo_survey")
    monkeypatch.setenv("NBHD_PII_SALT", "salt-set-after-the-definitions-were-built")
    assert data_home.pii_salt == "salt-set-after-the-definitions-were-built"
    assert "salt-set-after" not in repr(data_home), "the salt is never part of the resource's configuration"
