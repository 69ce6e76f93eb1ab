"""The writers' queue of a SQLite file (``storage/write_queue.py``): writers of several
processes take turns, a turn not given within the timeout is an outage, and a process that dies
holding its turn gives it up."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from authreg.domain.errors import Unavailable
from authreg.storage.write_queue import WriteQueue

HOLDER = """
import sys, time
from authreg.storage.write_queue import WriteQueue
with WriteQueue(sys.argv[1], 5000).turn():
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@contextmanager
def held_elsewhere(database: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process takes the file's turn and keeps it for ``seconds``; yields once it has it."""
    command = [sys.executable, "-c", HOLDER, str(database), str(seconds)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            yield holder
        finally:
            holder.kill()


def test_a_writer_waits_for_the_turn_another_process_holds(tmp_path: Path) -> None:
    database = tmp_path / "authreg.db"
    with held_elsewhere(database, 0.5):
        began = time.monotonic()
        with WriteQueue(str(database), 5000).turn():
            waited = time.monotonic() - began
    assert 0.3 < waited < 4


def test_a_turn_not_given_in_time_is_an_outage(tmp_path: Path) -> None:
    database = tmp_path / "authreg.db"
    with held_elsewhere(database, 30):
        began = time.monotonic()
        with pytest.raises(Unavailable, match=r"locked for more than 0\.2 s"), WriteQueue(str(database), 200).turn():
            pass
        assert time.monotonic() - began < 3


def test_a_process_that_dies_holding_its_turn_gives_it_up(tmp_path: Path) -> None:
    database = tmp_path / "authreg.db"
    with held_elsewhere(database, 30) as holder:
        holder.kill()
        holder.wait()
        with WriteQueue(str(database), 2000).turn():
            pass


def test_threads_of_one_process_take_turns_too(tmp_path: Path) -> None:
    """A flock is held by the open file, so two threads sharing it would both pass: the thread
    lock stops the second."""
    queue = WriteQueue(str(tmp_path / "authreg.db"), 200)
    with queue.turn(), pytest.raises(Unavailable), queue.turn():
        pass
