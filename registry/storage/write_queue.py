"""The queue of writers to one SQLite file, across the processes of a server.

SQLite lets one writer in at a time. The others wait in its busy handler, which sleeps 1, 2, 5,
10, 15, 20, 25 ... ms between tries, however short the write before them (logging a decision
takes well under a millisecond): with two workers deciding, those sleeps, not the disk, made
the decisions' tail over HTTP. So every write transaction on a SQLite file first takes an
exclusive ``flock`` on a file beside it (``<database>.lock``). A writer that finds it taken
tries again after 50 µs, then ever longer up to 1 ms, until ``SQLITE_BUSY_MS`` has passed; then
the database is locked (an outage, 503) as it was before. The lock is only a queue in front of
SQLite's own: correctness still rests on ``BEGIN IMMEDIATE``, and a process that dies holding
it releases it (the kernel drops it with the process).

The lock file is opened once per process (a descriptor inherited through ``fork`` would be
shared with the parent, and with it the lock), and threads of a process queue on a thread
lock first, since a ``flock`` is held by the open file, not by the thread.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from authreg.domain.errors import Unavailable

FIRST_WAIT_S = 0.00005
LONGEST_WAIT_S = 0.001


class WriteQueue:
    """The writers of this process to one SQLite file: ``turn`` waits for theirs."""

    def __init__(self, database: str, timeout_ms: int) -> None:
        self.path, self.timeout_s = f"{database}.lock", timeout_ms / 1000
        self._threads = threading.Lock()
        self._opened: tuple[int, int] | None = None  # (pid, descriptor)

    @contextmanager
    def turn(self) -> Iterator[None]:
        deadline = time.monotonic() + self.timeout_s
        if not self._threads.acquire(timeout=self.timeout_s):
            raise Unavailable(f"the database was locked for more than {self.timeout_s:g} s")
        try:
            descriptor = self._descriptor()
            self._take(descriptor, deadline)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _descriptor(self) -> int:
        pid = os.getpid()
        if self._opened is None or self._opened[0] != pid:
            try:
                opened = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as error:
                raise Unavailable(f"the writers' lock file {self.path} cannot be opened: {error}") from error
            self._opened = (pid, opened)
        return self._opened[1]

    def _take(self, descriptor: int, deadline: float) -> None:
        wait = FIRST_WAIT_S
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Unavailable(f"the database was locked for more than {self.timeout_s:g} s") from None
                time.sleep(wait)
                wait = min(wait * 2, LONGEST_WAIT_S)
