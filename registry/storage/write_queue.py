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

The lock file holds nothing. It is created readable by all (0644 before the umask) and opened
read-only, which is all ``flock`` needs: whichever user's process (the server, a CLI run)
creates it, every other can queue on it. Threads of a process queue on a thread lock first,
since a ``flock`` is held by the open file, not by the thread. A child process made by
``fork`` starts with a queue of its own (a descriptor inherited from the parent would share the
parent's lock, and a thread lock held at the fork would never be released in the child).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from authreg.domain.errors import Unavailable

FIRST_WAIT_S = 0.00005
LONGEST_WAIT_S = 0.001


class WriteQueue:
    """The writers of this process to one SQLite file: ``turn`` waits for theirs."""

    def __init__(self, database: str, timeout_ms: int) -> None:
        self.path, self.timeout_s = f"{database}.lock", timeout_ms / 1000
        self._threads = threading.Lock()
        self._descriptor: int | None = None
        _QUEUES.add(self)

    @contextmanager
    def turn(self) -> Iterator[None]:
        deadline = time.monotonic() + self.timeout_s
        if not self._threads.acquire(timeout=self.timeout_s):
            raise self._locked()
        try:
            descriptor = self._open()
            self._take(descriptor, deadline)
            try:
                yield
            finally:
                self._give_back(descriptor)
        finally:
            self._threads.release()

    def close(self) -> None:
        """Close the lock file (once its engine is disposed); the next turn opens it again."""
        with self._threads:
            if self._descriptor is not None:
                os.close(self._descriptor)
                self._descriptor = None

    def _open(self) -> int:
        if self._descriptor is None:
            try:
                self._descriptor = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as error:
                raise Unavailable(f"the writers' lock file {self.path} cannot be opened: {error}") from error
        return self._descriptor

    def _take(self, descriptor: int, deadline: float) -> None:
        wait = FIRST_WAIT_S
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise self._locked() from None
                time.sleep(wait)
                wait = min(wait * 2, LONGEST_WAIT_S)
            except OSError as error:  # a file system without flock: an outage, named
                raise Unavailable(f"the writers' lock file {self.path} cannot be locked: {error}") from error

    def _give_back(self, descriptor: int) -> None:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
        except OSError:  # closing the file releases the lock as surely
            os.close(descriptor)
            self._descriptor = None

    def _locked(self) -> Unavailable:
        return Unavailable(f"the database was locked for more than {self.timeout_s:g} s")

    def _forked(self) -> None:
        self._threads = threading.Lock()
        if self._descriptor is not None:  # the parent's open file: a copy left open here would
            with suppress(OSError):  # keep the parent's lock held after the parent ends
                os.close(self._descriptor)
            self._descriptor = None


_QUEUES: weakref.WeakSet[WriteQueue] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for queue in list(_QUEUES):
        queue._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)
