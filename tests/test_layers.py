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
import importlib
from pathlib import Path

import pytest

from tests.conftest import ROOT

FLOORS = {
    "domain": ROOT / "registry" / "domain",
    "storage": ROOT / "registry" / "storage",
    "services": ROOT / "registry" / "services",
    "api": ROOT / "registry" / "api",
    "web": ROOT / "registry" / "web",
    "cli": ROOT / "cli",
}
# what each floor must not import: the registry's floors above it, and the libraries of others
ABOVE_DOMAIN = ("authreg.storage", "authreg.config")
ABOVE_STORAGE = ("authreg.services", "authreg.api", "authreg.web", "authreg.cli", "authreg.app")
SQL = ("sqlalchemy", "sqlmodel", "alembic")
WEB = ("flask", "flask_smorest")
FORBIDDEN = {
    "domain": (*ABOVE_DOMAIN, *ABOVE_STORAGE, "click", *WEB, *SQL),
    "storage": (*ABOVE_STORAGE, "click", *WEB),
    "services": (*ABOVE_STORAGE[1:], "click", *WEB),
    "api": ("authreg.storage", "authreg.cli", "click", *SQL),
    "web": ("authreg.storage", "authreg.cli", "click", *SQL),
    "cli": ("authreg.storage", "authreg.api", "authreg.web", *WEB, *SQL),
}
SESSIONS = {"reading", "transaction", "Session"}


def _package_of(path: Path) -> str:
    """The import name of the package a file is in (``registry/api/x.py`` -> ``authreg.api``)."""
    relative = path.relative_to(ROOT).parent.parts
    if relative and relative[0] == "registry":
        return ".".join(("authreg", *relative[1:]))
    if relative and relative[0] == "cli":
        return ".".join(("authreg", *relative))
    return ".".join(relative)


def _imports(path: Path) -> list[tuple[str, str]]:
    return _imports_of(path.read_text(encoding="utf-8"), _package_of(path))


def _imports_of(source: str, package: str) -> list[tuple[str, str]]:
    """(module, name) for every import of the source, relative ones resolved against its
    package; name is "" for ``import module``."""
    found: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            found += [(module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return found


def _offences(path: Path, floor: str) -> list[str]:
    return _offences_of(_imports(path), floor)


def _offences_of(imports: list[tuple[str, str]], floor: str) -> list[str]:
    offences = []
    for module, name in imports:
        full = f"{module}.{name}" if name else module
        if full == "registry" or full.startswith("registry."):
            offences.append(f"imports {full}: the package is authreg")  # a second copy of every module
            continue
        for banned in FORBIDDEN[floor]:
            if full == banned or full.startswith(f"{banned}."):
                offences.append(f"imports {full}")
                break
        else:
            if floor in ("api", "web", "cli") and name in SESSIONS:
                offences.append(f"imports {name} from {module}")
    return offences


@pytest.mark.parametrize("floor", sorted(FLOORS))
def test_every_import_points_down(floor: str) -> None:
    modules = sorted(FLOORS[floor].rglob("*.py"))
    assert modules
    offences = {str(path.relative_to(ROOT)): _offences(path, floor) for path in modules}
    assert {path: found for path, found in offences.items() if found} == {}


def test_every_module_is_on_a_floor() -> None:
    """A module or folder outside the floors would escape the rule above; only the root's few
    modules may (a new surface, such as the web pages, gets a floor of its own here)."""
    loose = {path.name for path in (ROOT / "registry").glob("*.py")}
    assert loose == {"__init__.py", "app.py", "config.py"}
    folders = {path.name for path in (ROOT / "registry").iterdir() if path.is_dir() and path.name != "__pycache__"}
    assert folders == {"domain", "storage", "services", "api", "web"}


@pytest.mark.parametrize("floor", ["api", "web", "cli"])
def test_no_surface_holds_a_storage_object(floor: str) -> None:
    """What the imports could hide: a name re-exported from another module (``from authreg.app
    import make_engine``) is still storage's; every global of a surface module is checked by
    the module it was defined in."""
    for path in sorted(FLOORS[floor].rglob("*.py")):
        name = ".".join((_package_of(path), path.stem)).removesuffix(".__init__")
        module = importlib.import_module(name)
        held = {
            key: getattr(value, "__module__", None) or getattr(value, "__name__", "")
            for key, value in vars(module).items()
            if not key.startswith("__")
        }
        storage = {key: where for key, where in held.items() if str(where).startswith("authreg.storage")}
        assert storage == {}, name


def test_the_guard_sees_an_offence() -> None:
    """A check that cannot fail is no check: it names what a surface must not do."""
    imports = _imports_of(
        "from authreg.storage import registry_rows\n"
        "from authreg.services.reports import reading\n"
        "import sqlalchemy.orm\n"
        "from authreg.services import reports\n"
        "from registry.services import reports\n"
        "from .. import storage\n",
        "authreg.api",
    )
    expected = ["imports authreg.storage.registry_rows", "imports reading from authreg.services.reports"]
    assert _offences_of(imports, "api") == [
        *expected,
        "imports sqlalchemy.orm",
        "imports registry.services.reports: the package is authreg",
        "imports authreg.storage",
    ]
    assert _offences_of(imports, "domain") == [
        "imports authreg.storage.registry_rows",
        "imports authreg.services.reports.reading",
        "imports sqlalchemy.orm",
        "imports authreg.services.reports",
        "imports registry.services.reports: the package is authreg",
        "imports authreg.storage",
    ]


def test_the_guard_resolves_relative_imports() -> None:
    """``from ..storage import x`` in ``registry/api/`` is ``authreg.storage.x``."""
    assert _package_of(FLOORS["api"] / "offender.py") == "authreg.api"
    source = "from ..storage import registry_rows\nfrom .. import storage\nfrom . import context\n"
    assert _imports_of(source, "authreg.api") == [
        ("authreg.storage", "registry_rows"),
        ("authreg", "storage"),
        ("authreg.api", "context"),
    ]
