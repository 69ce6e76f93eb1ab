"""authreg: a registry of legal data-sharing authorisations, turned into running policy.

The package root stays import-light so that the CLI and the pure core never pull in Flask;
``create_app`` is resolved lazily for gunicorn (``authreg:create_app()``) and tests.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from authreg.app import create_app

        return create_app
    raise AttributeError(name)
