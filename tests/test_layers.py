"""The floors of the house (issue 10): every import points down, never up or sideways past a floor.

- ``authreg.domain`` (``registry/domain/``): the rules; imports nothing of the registry but itself,
  and neither Flask, click nor SQL.
- ``authreg.storage`` (``registry/storage/``): tables, sessions, every query; imports the domain.
- ``authreg.services`` (``registry/services/``): what every surface calls; imports the two below.
- the surfaces, ``authreg.api`` (``registry/api/``) and ``authreg.cli`` (``cli/``): call services;
  they import no storage module and no SQL library, and open no session.

``authreg.app`` (the composition root, which wires a database into the services and the
surfaces) and ``authreg.config`` (settings) sit beside the floors.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

FLOORS = {
    "domain": ROOT / "registry" / "domain",
    "storage": ROOT / "registry" / "storage",
    "services": ROOT / "registry" / "services",
    "api": ROOT / "registry" / "api",
    "cli": ROOT / "cli",
}
# what each floor must not import: the registry's floors above it, and the libraries of others
ABOVE_DOMAIN = ("authreg.storage", "authreg.config")
ABOVE_STORAGE = ("authreg.services", "authreg.api", "authreg.cli", "authreg.app")
SQL = ("sqlalchemy", "sqlmodel", "alembic")
WEB = ("flask", "flask_smorest")
FORBIDDEN = {
    "domain": (*ABOVE_DOMAIN, *ABOVE_STORAGE, "click", *WEB, *SQL),
    "storage": (*ABOVE_STORAGE, "click", *WEB),
    "services": (*ABOVE_STORAGE[1:], "click", *WEB),
    "api": ("authreg.storage", "authreg.cli", "click", *SQL),
    "cli": ("authreg.storage", "authreg.api", *WEB, *SQL),
}
SESSIONS = {"reading", "transaction", "Session"}


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every import of the file; name is "" for ``import module``."""
    found: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return found


def _offences(path: Path, floor: str) -> list[str]:
    offences = []
    for module, name in _imports(path):
        full = f"{module}.{name}" if name else module
        for banned in FORBIDDEN[floor]:
            if full == banned or full.startswith(f"{banned}."):
                offences.append(f"imports {full}")
                break
        else:
            if floor in ("api", "cli") and name in SESSIONS:
                offences.append(f"imports {name} from {module}")
    return offences


@pytest.mark.parametrize("floor", sorted(FLOORS))
def test_every_import_points_down(floor: str) -> None:
    modules = sorted(FLOORS[floor].rglob("*.py"))
    assert modules
    offences = {str(path.relative_to(ROOT)): _offences(path, floor) for path in modules}
    assert {path: found for path, found in offences.items() if found} == {}


def test_every_module_is_on_a_floor() -> None:
    """A module outside the floors would escape the rule above; only the root's few may."""
    loose = {path.name for path in (ROOT / "registry").glob("*.py")}
    assert loose == {"__init__.py", "app.py", "config.py"}


def test_the_guard_sees_an_offence(tmp_path: Path) -> None:
    """A check that cannot fail is no check: it names what a surface must not do."""
    module = tmp_path / "offender.py"
    module.write_text(
        "from authreg.storage import registry_rows\n"
        "from authreg.services.reports import reading\n"
        "import sqlalchemy.orm\n"
        "from authreg.services import reports\n"
    )
    expected = ["imports authreg.storage.registry_rows", "imports reading from authreg.services.reports"]
    assert _offences(module, "api") == [*expected, "imports sqlalchemy.orm"]
    assert _offences(module, "domain") == [
        "imports authreg.storage.registry_rows",
        "imports authreg.services.reports.reading",
        "imports sqlalchemy.orm",
        "imports authreg.services.reports",
    ]
