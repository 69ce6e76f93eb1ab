"""A server keeps its loaded registry out of the garbage collector's full passes (``gc.freeze``,
``app._LazyService.settle``); an app made for tests or commands, which come and go, does not."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import Engine

from tests.conftest import TEST_SECRET

PROBE = """
import gc, sys
from authreg import create_app, served_app
app = (served_app if sys.argv[1] == "served" else create_app)()
with app.app_context():
    app.extensions["authreg.decisions"]()  # loads the registry, as a server's first request does
print(gc.get_freeze_count())
"""


def test_a_server_freezes_what_it_loaded_and_a_test_app_does_not(
    seeded: Engine, database_url: str, outside: dict[str, str]
) -> None:
    env = {
        **os.environ,
        "AUTHREG_DATABASE_URL": database_url,
        "AUTHREG_SECRET_KEY": TEST_SECRET,
        **{f"AUTHREG_{key}": value for key, value in outside.items()},
    }

    def frozen(kind: str) -> int:
        command = [sys.executable, "-c", PROBE, kind]
        probed = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        return int(probed.stdout)

    assert frozen("created") == 0
    assert frozen("served") > 10_000  # Flask, SQLAlchemy and the registry, out of the collector's way
