"""authreg: a registry of legal data-sharing authorisations, turned into running policy.

The package root stays import-light so that the CLI and the pure core never pull in Flask;
``create_app`` (tests) and ``served_app`` (gunicorn: ``authreg:served_app()``) are resolved lazily.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("create_app", "served_app"):
        from authreg import app

        return getattr(app, name)
    raise AttributeError(name)
