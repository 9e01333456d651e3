"""A kind is one module under pipelines/kinds/ behind the `Kind` interface: the rest of the pipeline calls that
interface and never asks which kind it holds or what a kind module can do."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

from pipelines.kinds import KINDS, SourceSpec
from pipelines.kinds.base import Kind

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"
KIND_MODULES = {f"pipelines.kinds.{name}" for name in KINDS}


def outside_kinds() -> list[Path]:
    return [
        path for path in sorted(PIPELINES.rglob("*.py")) if "kinds" not in path.relative_to(PIPELINES).parts
    ]


def names_a_kind(node: ast.AST) -> bool:
    """A string literal that is a kind's name, or a tuple/list/set of them."""
    if isinstance(node, ast.Constant):
        return node.value in KINDS
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(names_a_kind(element) for element in node.elts)
    return False


def is_kind_expression(node: ast.AST) -> bool:
    """`x.kind`, `kind`, `x.kind.name`: what holds a kind's name."""
    if isinstance(node, ast.Attribute):
        return node.attr == "kind" or (node.attr == "name" and is_kind_expression(node.value))
    return isinstance(node, ast.Name) and node.id == "kind"


def findings(path: Path) -> list[str]:
    found: list[str] = []
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom) and node.module in KIND_MODULES:
            found.append(f"{where}: imports the kind module {node.module}")
        if isinstance(node, ast.ImportFrom) and node.module == "pipelines.kinds":
            found += [
                f"{where}: imports the kind module {alias.name}"
                for alias in node.names
                if alias.name in KINDS
            ]
        if isinstance(node, ast.Compare) and (
            (is_kind_expression(node.left) and any(names_a_kind(c) for c in node.comparators))
            or (names_a_kind(node.left) and any(is_kind_expression(c) for c in node.comparators))
        ):
            found.append(f"{where}: compares a kind with a kind's name")
        if (
            isinstance(node, ast.Subscript)
            and names_a_kind(node.slice)
            and isinstance(node.value, ast.Name)
            and node.value.id.isupper()
        ):
            found.append(f"{where}: looks a kind up by name in {node.value.id}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "hasattr":
                found.append(f"{where}: hasattr (an interface says what a thing provides)")
            if node.func.id in ("import_module", "__import__"):
                found.append(f"{where}: imports a module by name")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
        ):
            found.append(f"{where}: imports a module by name")
    return found


def test_no_module_outside_kinds_names_a_kind_or_inspects_one():
    found = [finding for path in outside_kinds() for finding in findings(path)]
    assert not found, "\n".join(found)


def test_the_check_finds_what_it_looks_for(tmp_path):
    # The scan above passes by finding nothing: show it finds each pattern it looks for.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from pipelines.kinds.crime import CrimeSource\n"
        "from pipelines.kinds import survey\n"
        "if spec.kind == 'crime': pass\n"
        "if kind in ('roster', 'events'): pass\n"
        "columns = CANONICAL['population']\n"
        "hasattr(module, 'stage')\n"
        "importlib.import_module('pipelines.kinds.crime')\n"
    )
    assert len(findings(sample)) == 7, findings(sample)


def test_every_kind_is_registered_with_its_spec():
    specs = set(get_args(get_args(SourceSpec)[0]))
    assert specs == {kind.spec_type for kind in KINDS.values()}
    for name, kind in KINDS.items():
        assert isinstance(kind, Kind) and kind.name == name
        assert kind.spec_type.model_fields["kind"].annotation.__args__ == (name,)
        assert set(kind.lookups) <= set(KINDS) and list(KINDS).index(name) > max(
            (list(KINDS).index(lookup) for lookup in kind.lookups), default=-1
        ), f"{name}: its lookups load before it"
