"""No module under pipelines/ names a city: a city is added by YAML and crosswalks under sources/, never by a
branch, a default or a constant in the code. And docs/sources.md lists every YAML option of the kinds a city is
made of (crime, geography, population) with its default, read from the kinds' own specs.

What is checked: the code of every pipelines/**/*.py file, i.e. its identifiers and its string literals
(messages, SQL, defaults), read with the `tokenize` module. Comments and docstrings are not checked: they may
say where a file layout comes from ("the Chicago portal's Export CSV"). The names searched, case ignored, are
the cities shipped under sources/ and their departments and portals: New York / new_york / NYC / NYPD,
Seattle, Washington DC / washington_dc / District of Columbia / a `dc_` prefix, Chicago (and
cityofchicago), San Francisco / san_francisco / sfgov, Detroit. "Washington" alone is not searched: it is a
common surname (the demo city's residents have surnames).
"""

from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

import pytest
from pydantic import BaseModel

from pipelines.kinds import KINDS
from pipelines.kinds.base import SourceBase
from pipelines.settings import REPO_ROOT

CITY = re.compile(
    r"new[ _]?york|\bnyc\b|nypd|seattle|washington[ _,]*d\.?c\b|district of columbia|\bdc_|chicago"
    r"|san[ _]?francisco|sfgov|detroit",
    re.IGNORECASE,
)


# Tokens that only lay out the code: a docstring is a string between two of these (a statement of its own).
LAYOUT = (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
SKIPPED = (tokenize.NL, tokenize.COMMENT)
# From Python 3.12 an f-string is read in pieces, its literal text as FSTRING_MIDDLE tokens (3.11: one STRING).
TEXT = (tokenize.NAME, tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING))


def code_tokens(source: str) -> list[tuple[int, str]]:
    """(line, text) of a module's identifiers and string literals, without comments and docstrings."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in SKIPPED]
    found = []
    for index, token in enumerate(tokens):
        before = tokens[index - 1].type if index else tokenize.NEWLINE
        after = tokens[index + 1].type if index + 1 < len(tokens) else tokenize.ENDMARKER
        if token.type == tokenize.STRING and before in LAYOUT and after in LAYOUT:
            continue  # a docstring (or another string standing alone as a statement)
        if token.type in TEXT:
            found.append((token.start[0], token.string))
    return found


def city_names(path: Path) -> list[str]:
    return [
        f"{path.relative_to(REPO_ROOT)}:{line}: {text}"
        for line, text in code_tokens(path.read_text())
        if CITY.search(text)
    ]


def test_no_module_under_pipelines_names_a_city():
    modules = sorted((REPO_ROOT / "pipelines").rglob("*.py"))
    assert len(modules) > 40
    assert [hit for path in modules for hit in city_names(path)] == []


def test_the_check_finds_a_city_in_code_and_not_in_docstrings(tmp_path):
    module = tmp_path / "pipelines" / "city.py"
    module.parent.mkdir()
    module.write_text(
        '"""Read like the Chicago portal\'s export."""\n'
        "# Seattle writes 0/0 for none\n"
        "def f(x):\n"
        '    """For Detroit."""\n'
        '    if x == "NYPD":\n'
        "        return dc_cluster(x)\n"
        '    return f"{x} in San Francisco"\n'
        'SURNAMES = ["Washington", "Jackson"]\n'
    )
    hits = [CITY.search(text).group(0) for _, text in code_tokens(module.read_text()) if CITY.search(text)]
    assert hits == ["NYPD", "dc_", "San Francisco"]


# ---- the docs list every YAML option of every kind with its default
DOCUMENTED_KINDS = {name: kind.spec_type for name, kind in KINDS.items()}


def default_text(field) -> str:
    """How docs/sources.md writes a field's default: `required`, `none`, or the value as YAML writes it."""
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None or value == ():
        return "none"
    if isinstance(value, list | tuple):
        return "`" + json.dumps(value).replace(".0", "") + "`"
    return f"`{value}`"


def option_rows(section: str) -> dict[str, str]:
    """The fields a section's tables name (`columns.a`, `b` in one cell name columns.a and columns.b), each
    with its default cell."""
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) < 3:
            continue
        names = re.findall(r"`([^`]+)`", cells[0])
        prefix = names[0].rpartition(".")[0]
        for name in names:
            rows[name if "." in name or not prefix else f"{prefix}.{name}"] = cells[1]
    return rows


def fields_of(model, prefix: str = "") -> dict[str, object]:
    """Every YAML field of a spec (nested specs' fields as `parent.field`), without those every source has."""
    found = {}
    for name, field in model.model_fields.items():
        if name in SourceBase.model_fields or field.exclude:
            continue
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            found |= fields_of(nested, f"{prefix}{name}.")
        else:
            found[f"{prefix}{name}"] = field
    return found


@pytest.mark.parametrize("kind", sorted(DOCUMENTED_KINDS))
def test_the_docs_list_every_option_with_its_default(kind):
    text = (REPO_ROOT / "docs" / "sources.md").read_text()
    section = text.split(f"\n## {kind}\n", 1)[1].split("\n## ", 1)[0]
    documented = option_rows(section)
    fields = fields_of(DOCUMENTED_KINDS[kind])
    assert sorted(set(fields) - {"kind"} - set(documented)) == []
    for name, field in fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, dict) and default:
            # A default map (the agreement scale) is spelt out below the table: every label of it.
            assert documented[name].startswith("see below"), (name, documented[name])
            assert all(label.lower() in section.lower() for label in default), name
        elif name != "kind":
            assert documented[name].startswith(default_text(field)), (name, documented[name])
