"""Values in remote query strings (Socrata's `$where`, ArcGIS's `where`) go through one escaping helper: a quote
in a value is doubled inside its literal, and a cursor bound, which may come back from the resume state on disk,
reaches the portal only as a timestamp. Requests are real, to the local portal."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.connectors import arcgis, socrata
from pipelines.connectors.http import ConnectorError, quoted
from tests.connectors.datasets import chicago_spec, detroit_records, detroit_spec

# What the state file could hold after a hand edit or an attack: a quote that would end the literal.
INJECTED = "2019-11-27T00:00:00.000' OR '1'='1"


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("O'Hare", "'O''Hare'"),
        ("'", "''''"),
        ("x' OR '1'='1", "'x'' OR ''1''=''1'"),
        ("a\\'; --", "'a\\''; --'"),
        ("2019-11-27T00:00:00.000", "'2019-11-27T00:00:00.000'"),
    ],
)
def test_a_quote_inside_a_value_is_doubled_and_the_literal_reads_back_as_the_value(value, literal):
    assert quoted(value) == literal
    # An SQL-92 parser (DuckDB's, as ArcGIS's `where` is SQL-92 and SoQL quotes the same way) reads back the value.
    assert duckdb.sql(f"SELECT {literal}").fetchone()[0] == value


def test_a_socrata_cursor_with_a_quote_never_reaches_the_portal(monkeypatch, portal, soda_rows):
    portal.soda("ijzp-q8t2", soda_rows)
    spec = chicago_spec(monkeypatch, portal)
    with socrata.session(spec.connector) as http:
        with pytest.raises(ConnectorError, match="not a timestamp") as error:
            list(socrata.pages(spec.connector, http, since=INJECTED))
        assert INJECTED in str(error.value)
        assert portal.log == []
        # A well-formed bound goes in as a SoQL timestamp literal, normalized to the millisecond.
        next(socrata.pages(spec.connector, http, since="2019-11-27 00:00"))
    (asked,) = portal.requests_to("ijzp-q8t2.json")
    assert asked["$where"] == "updated_on >= '2019-11-27T00:00:00.000'"


def test_an_arcgis_cursor_with_a_quote_never_reaches_the_server(tmp_path, portal, real_data):
    spec = detroit_spec(tmp_path, portal.arcgis("RMS_Crime_Incidents", detroit_records(real_data)))
    with arcgis.session(spec.connector) as http:
        with pytest.raises(ConnectorError, match="not a timestamp") as error:
            list(arcgis.pages(spec.connector, http, since="2024-06-01 12:00:00' OR ''='"))
        assert "OR ''='" in str(error.value)
        with pytest.raises(ConnectorError, match="without a zone"):
            list(arcgis.pages(spec.connector, http, since="2024-06-01T12:00:00+02:00"))
        assert portal.log == []
        next(arcgis.pages(spec.connector, http, since="2024-06-01T12:00:00.250"))
    (asked,) = portal.requests_to("/query")
    assert asked["where"] == "(1=1) AND EditDate >= TIMESTAMP '2024-06-01 12:00:00'"
