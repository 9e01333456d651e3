from __future__ import annotations

import json

import pytest

from tests.connectors.portal import FAST, fresh_portal, portal_server

__all__ = ["FAST"]


@pytest.fixture(scope="module")
def portal_http():
    with portal_server() as server:
        yield server


@pytest.fixture
def portal(portal_http):
    return fresh_portal(portal_http)


@pytest.fixture(scope="session")
def soda_rows(real_data) -> list[dict]:
    return json.loads((real_data / "chicago_crimes_soda_api_sample200.json").read_text())
