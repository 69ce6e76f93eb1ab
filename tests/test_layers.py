"""The surfaces (the HTTP API, the CLI) call services; they open no database session and import
none of the modules that hold the registry's SQL, so a rule or a query lives in one place below
them (issue 10; the checkpoint, audit and identity modules follow when the floors become folders)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

SURFACES = sorted([*(ROOT / "registry" / "api").glob("*.py"), *(ROOT / "cli").glob("*.py")])
STORAGE = {"registry.store", "registry.fact_store", "registry.snapshot_store", "registry.models"}
SESSIONS = {"reading", "transaction", "Session"}


def _offences(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            names = {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
            found += [f"imports {name}" for name in sorted(names & STORAGE)]
            found += [f"imports {alias.name} from {node.module}" for alias in node.names if alias.name in SESSIONS]
        elif isinstance(node, ast.Import):
            found += [f"imports {alias.name}" for alias in node.names if alias.name in STORAGE]
    return found


def test_no_surface_opens_a_session_or_imports_the_sql() -> None:
    assert SURFACES
    offences = {str(path.relative_to(ROOT)): _offences(path) for path in SURFACES}
    assert {path: found for path, found in offences.items() if found} == {}


def test_the_guard_sees_an_offence(tmp_path: Path) -> None:
    """A check that cannot fail is no check: it names what a surface must not do."""
    module = tmp_path / "offender.py"
    module.write_text("from registry import store\nfrom registry.db import reading\nimport registry.models\n")
    expected = ["imports registry.store", "imports reading from registry.db", "imports registry.models"]
    assert _offences(module) == expected
