from __future__ import annotations

import json

import pytest

from pipelines.connectors.http import HttpSettings
from tests.connectors.portal import running_portal

# Small delays by configuration (the YAML's `http:` block), so retries are real but fast.
FAST = HttpSettings(timeout_seconds=1.0, retries=3, backoff_seconds=0.01, backoff_max_seconds=0.05)


@pytest.fixture
def portal():
    with running_portal() as server:
        yield server


@pytest.fixture(scope="session")
def soda_rows(real_data) -> list[dict]:
    return json.loads((real_data / "chicago_crimes_soda_api_sample200.json").read_text())
