"""A real PostgreSQL server for the test session, started from the machine's binaries in a
temporary folder, as an unprivileged user when the tests run as root (initdb refuses root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

SUPERUSER = "authreg"


def find_binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> dict[str, Any]:
    if os.geteuid() != 0:
        return {}
    for name in (os.environ.get("AUTHREG_PG_USER"), "postgres", "nobody"):
        if name:
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            return {"user": entry.pw_uid, "group": entry.pw_gid}
    raise RuntimeError("no unprivileged user to run PostgreSQL as")


@dataclass
class PostgresServer:
    folder: Path
    port: int
    as_user: dict[str, Any]
    durable: bool = False  # the tests run without flushing to disk; the bench measures with it

    @property
    def admin_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [find_binary("pg_ctl"), "-D", str(self.folder / "data"), *args],
            check=True,
            capture_output=True,
            cwd=self.folder,
            **self.as_user,
        )

    def start(self) -> None:
        options = f"-p {self.port} -h 127.0.0.1 -k {self.folder}" + ("" if self.durable else " -c fsync=off")
        self.pg_ctl("-l", str(self.folder / "server.log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "-w", "stop")

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """A new database (a random name unless given), empty or a copy of ``template``; returns its name."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        copied = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.admin_dsn, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"{copied}')
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def running_server(*, durable: bool = False) -> Iterator[PostgresServer]:
    as_user = _run_as()
    folder = Path(tempfile.mkdtemp(prefix="authreg-pg-"))
    if as_user:
        os.chown(folder, as_user["user"], as_user["group"])
    server = PostgresServer(folder, free_port(), as_user, durable)
    subprocess.run(
        [find_binary("initdb"), "-D", str(folder / "data"), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
        cwd=folder,
        **as_user,
    )
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
