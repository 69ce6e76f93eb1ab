"""The writers' queue of a SQLite file (``storage/write_queue.py``): writers of several
processes take turns, a turn not given within the timeout is an outage, a process that dies
holding its turn gives it up, a forked child queues on its own, and every write (not a read)
goes through it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from authreg.domain.errors import Unavailable
from authreg.storage import migrate
from authreg.storage.models import AuditHead
from authreg.storage.plain_writes import PlainStatement, plain_transaction
from authreg.storage.sessions import make_engine, reading, transaction
from authreg.storage.write_queue import WriteQueue

HOLDER = """
import sys, time
from authreg.storage import migrate
from authreg.storage.models import AuditHead
from authreg.storage.plain_writes import PlainStatement, plain_transaction
from authreg.storage.sessions import make_engine, reading, transaction
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


def test_a_child_process_queues_on_its_own(tmp_path: Path) -> None:
    """A child forked while its parent holds the turn neither shares the parent's lock (which
    would let it in at once) nor inherits the parent's held thread lock (which would keep it
    out for ever): it gets its turn once the parent gives it up."""
    queue = WriteQueue(str(tmp_path / "authreg.db"), 3000)
    with queue.turn():
        forked = time.monotonic()
        child = os.fork()
        if child == 0:  # the child: report how long after the fork it got its turn
            try:
                with queue.turn():
                    os._exit(10 + min(int((time.monotonic() - forked) * 10), 50))
            except BaseException:
                os._exit(1)
        time.sleep(0.5)
    _, status = os.waitpid(child, 0)
    waited_tenths = os.waitstatus_to_exitcode(status) - 10
    assert 4 <= waited_tenths < 30  # in after the parent's 0.5 s, not at once, not never


def test_writes_queue_and_reads_do_not(tmp_path: Path) -> None:
    """Every write transaction on a SQLite file, ORM or plain, waits for the file's turn; a
    reading transaction does not."""
    database = tmp_path / "authreg.db"
    url = f"sqlite:///{database}"
    migrate.upgrade(url)
    engine = make_engine(url)
    touch = PlainStatement("UPDATE audit_head SET seq = seq WHERE id = 1", AuditHead.__table__)  # type: ignore[attr-defined]

    def waited(write: Callable[[], object]) -> float:
        with held_elsewhere(database, 0.5):
            began = time.monotonic()
            write()
            return time.monotonic() - began

    def read() -> None:
        with reading(engine) as session:
            session.execute(text("SELECT seq FROM audit_head"))

    def orm_write() -> None:
        with transaction(engine) as session:
            session.execute(text("UPDATE audit_head SET seq = seq WHERE id = 1"))

    def plain_write() -> None:
        with plain_transaction(engine) as write:
            write.run(touch, {})

    try:
        assert waited(read) < 0.3
        assert waited(orm_write) > 0.3
        assert waited(plain_write) > 0.3
    finally:
        engine.dispose()


FORKING_HOLDER = """
import os, sys, time
from authreg.storage.write_queue import WriteQueue
with WriteQueue(sys.argv[1], 5000).turn():
    if os.fork() == 0:  # a child that outlives its parent
        time.sleep(10)
        os._exit(0)
    print("held", flush=True)
    time.sleep(30)
"""


def test_a_child_does_not_keep_its_dead_parents_turn(tmp_path: Path) -> None:
    """A parent that forks while it holds its turn, then dies: its child, still running, must
    not keep the turn held through the open file it inherited."""
    database = tmp_path / "authreg.db"
    with subprocess.Popen(
        [sys.executable, "-c", FORKING_HOLDER, str(database)], stdout=subprocess.PIPE, text=True
    ) as parent:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "held"
        parent.kill()
        parent.wait()
        began = time.monotonic()
        with WriteQueue(str(database), 3000).turn():
            assert time.monotonic() - began < 1
