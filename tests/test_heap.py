"""A server keeps its loaded registry out of the garbage collector's full passes (``gc.freeze``,
``app._LazyService.settle``); an app made for tests or commands, which come and go, does not."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
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
AFTER_CHANGES = """
import gc, weakref
import authreg.app as served
app = served.served_app()
decisions = app.extensions["authreg.decisions"]
with app.app_context():
    decisions()  # loaded and settled
class Node:
    pass
node = Node()
node.me = node  # a reference cycle, as an old view may hold
gone = weakref.ref(node)
decisions.settle()  # a change right after the load: put off (SETTLE_SECONDS)
put_off = decisions._unsettled
served.SETTLE_SECONDS = 0
decisions.settle()  # settled: the node, alive, is frozen with the rest
del node
decisions.settle()  # the next change: what is garbage by then is collected, frozen or not
print(put_off, gone() is None, gc.get_freeze_count() > 10_000)
"""


@pytest.fixture
def env(seeded: Engine, database_url: str, outside: dict[str, str]) -> dict[str, str]:
    """A process's settings for the seeded registry of the test."""
    return {
        **os.environ,
        "AUTHREG_DATABASE_URL": database_url,
        "AUTHREG_SECRET_KEY": TEST_SECRET,
        **{f"AUTHREG_{key}": value for key, value in outside.items()},
    }


def test_a_server_freezes_what_it_loaded_and_a_test_app_does_not(env: dict[str, str]) -> None:

    def frozen(kind: str) -> int:
        command = [sys.executable, "-c", PROBE, kind]
        probed = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        return int(probed.stdout)

    assert frozen("created") == 0
    assert frozen("served") > 10_000  # Flask, SQLAlchemy and the registry, out of the collector's way


def test_a_change_settles_at_most_every_so_often_and_frees_the_garbage_it_left(env: dict[str, str]) -> None:
    probed = subprocess.run([sys.executable, "-c", AFTER_CHANGES], env=env, capture_output=True, text=True, check=True)
    assert probed.stdout.split() == ["True", "True", "True"]
