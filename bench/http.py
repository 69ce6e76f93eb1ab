"""``make bench``, over HTTP: decisions per second and latency through ``authreg serve`` on
127.0.0.1 (gunicorn, 2 workers, the audit log on), beside the floors of the same stack in the
same run (issue 12).

First the floors: on SQLite and on PostgreSQL (a server the bench starts, as the tests do),
with a new connection per request (sync workers) and with connections kept alive (gthread
workers, 4 threads), the same gunicorn set-up serves a fixed JSON, a one-row commit
(``bench/floors.py``), authreg's single decisions (native and AuthZEN) and its batches of 100,
in turn for three rounds; the ratios of the medians against the one-commit floor are the
targets of issue 12. The bench's PostgreSQL flushes its commits, as a production one does.
Then the sustained run, and authreg alone at every registry size of the in-process benchmark
(SQLite, new connections), on the same requests.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from authreg.domain.clock import utcnow
from authreg.domain.requests import load_request
from authreg.services import tokens
from authreg.services.apply import apply_documents
from authreg.services.decision_service import DecisionService
from authreg.storage import audit_log, migrate
from authreg.storage.sessions import make_engine, reading, transaction
from bench.decisions import NOW, SIZES, _percentile, _prepare, _request
from bench.floors import TABLE
from bench.generate import documents
from tests.postgres import running_server

CLIENTS = 4
BATCH = 100
THREADS = 4  # per gthread worker, where connections are kept alive
FLOOR_SIZE = 1_000
LOGGED = 100_000  # the sustained run: decisions already in the log
RUN = 50_000  # and how many more, over which the workers' memory must not grow
ROUNDS = 3  # floors and authreg, the empty and the full log: served in turn, the medians compared
SECRET = secrets.token_hex(32)  # the served copies are thrown away with their hashes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Served:
    port: int
    pid: int  # gunicorn's master; its workers are its children

    def workers_rss_mb(self) -> float:
        """The resident memory of the workers together, from /proc."""
        children = subprocess.run(["pgrep", "-P", str(self.pid)], capture_output=True, text=True).stdout.split()
        total = 0
        for child in children:
            status = Path(f"/proc/{child}/status").read_text(encoding="utf-8")
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
        return total / 1024


@contextmanager
def _served(command: list[str], env: dict[str, str], port: int, ready: str) -> Iterator[Served]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("POST" if ready != "/health" else "GET", ready, "{}")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield Served(port, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)


def _authreg(url: str, folder: Path, threads: int) -> Any:
    port = _free_port()
    env = {
        **os.environ,
        "AUTHREG_DATABASE_URL": url,
        "AUTHREG_SECRET_KEY": SECRET,
        "AUTHREG_SIGNING_KEY_FILE": str(folder / "signing.key"),
        "AUTHREG_CHECKPOINT_DIR": str(folder / "checkpoints"),
    }
    serve = ["serve", "--port", str(port), "--workers", "2", "--threads", str(threads)]
    return _served([sys.executable, "-m", "authreg.cli.main", *serve], env, port, "/health")


def _floors(url: str, threads: int) -> Any:
    port = _free_port()
    env = {**os.environ, "BENCH_DATABASE_URL": url}
    gunicorn = ["-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", str(threads)]
    return _served([sys.executable, *gunicorn, "bench.floors:create_app()"], env, port, "/fixed")


@dataclass
class Measured:
    latencies: list[float]
    wall: float
    failed: int
    decisions: int

    @property
    def per_s(self) -> float:
        return self.decisions / self.wall

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p99_ms(self) -> float:
        return _percentile(self.latencies, 0.99) * 1000


def _load(port: int, path: str, bodies: list[Any], token: str, *, keep_alive: bool, per_body: int = 1) -> Measured:
    """Send ``bodies`` from CLIENTS threads, each on a new connection or on one kept per thread."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    queue = list(reversed(bodies))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client() -> None:
        nonlocal failures
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            if not keep_alive:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            began = time.perf_counter()
            connection.request("POST", path, json.dumps(body), headers)
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - began
            if not keep_alive:
                connection.close()
            with lock:
                latencies.append(elapsed)
                failures += response.status != 200
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Measured(latencies, time.perf_counter() - began, failures, len(bodies) * per_body)


def _token(url: str) -> str:
    engine = make_engine(url)
    made = tokens.create(engine, name=f"bench-{secrets.token_hex(4)}", role="application", now=utcnow())
    engine.dispose()
    return made


def _floor_table(url: str) -> None:
    """The floor's table, in a database of its own (a new SQLite file is made here)."""
    engine = make_engine(url, create=True)
    with transaction(engine) as session:
        session.execute(text(TABLE))
    engine.dispose()


def _compare(label: str, registry: str, floor: str, asked: list[dict[str, Any]], folder: Path) -> list[str]:
    """The rows of one backend and one connection mode, then the ratios of issue 12. The floors
    and authreg are served in turn for ROUNDS rounds, and each row is the median of its rounds:
    from one run to the next, a row moved by as much as 20 %."""
    rows = []
    token = _token(registry)
    for keep_alive in (False, True):
        threads = THREADS if keep_alive else 1
        mode = f"{label}, {'keep-alive' if keep_alive else 'new conn'}"
        found: dict[str, list[Measured]] = {}
        for _ in range(ROUNDS):
            with _floors(floor, threads) as served:
                port = served.port
                _load(port, "/commit", asked[:50], token, keep_alive=keep_alive)
                found.setdefault("fixed JSON", []).append(_load(port, "/fixed", asked, token, keep_alive=keep_alive))
                found.setdefault("one commit", []).append(_load(port, "/commit", asked, token, keep_alive=keep_alive))
            with _authreg(registry, folder, threads) as served:
                port = served.port
                _load(port, "/api/v1/decisions", asked[:50], token, keep_alive=keep_alive)  # warm-up
                single = _load(port, "/api/v1/decisions", asked, token, keep_alive=keep_alive)
                found.setdefault("decision", []).append(single)
                evaluations = [_authzen(body) for body in asked]
                authzen = _load(port, "/access/v1/evaluation", evaluations, token, keep_alive=keep_alive)
                found.setdefault("AuthZEN", []).append(authzen)
                batches = [{"requests": asked[i : i + BATCH]} for i in range(0, len(asked), BATCH)]
                batch = _load(port, "/api/v1/decisions/batch", batches, token, keep_alive=keep_alive, per_body=BATCH)
                found.setdefault(f"batch {BATCH}", []).append(batch)
        medians = {what: _median(measured) for what, measured in found.items()}
        for what, measured in medians.items():
            rows.append(_line(mode, what, measured))
        single, commit = medians["decision"], medians["one commit"]
        rows.append(
            f"{mode:<26} {'ratios':<12} decision/commit {single.per_s / commit.per_s:.2f} (target >= 0.8), "
            f"p99 decision/commit {single.p99_ms / commit.p99_ms:.2f} (<= 2), "
            f"batch/decision {medians[f'batch {BATCH}'].per_s / single.per_s:.1f} (>= 10)"
        )
    return rows


def _median(rounds: list[Measured]) -> Measured:
    """The round with the median rate (its latencies with it), and every round's failures."""
    ordered = sorted(rounds, key=lambda measured: measured.per_s)
    middle = ordered[len(ordered) // 2]
    return Measured(middle.latencies, middle.wall, sum(m.failed for m in rounds), middle.decisions)


def _authzen(asked: dict[str, Any]) -> dict[str, Any]:
    """The same request as an AuthZEN 1.0 evaluation (``registry/api/authzen.py``'s mapping)."""
    properties = {key: asked[key] for key in ("source", "data_subject") if key in asked}
    context = {"purpose": asked["purpose"], **({"time": asked["at"]} if "at" in asked else {})}
    return {
        "subject": {"type": "user", "id": asked["user"], "properties": {"organisation": asked["organisation"]}},
        "resource": {"type": "data-category", "id": asked["data_category"], "properties": properties},
        "action": {"name": asked.get("action", "read")},
        "context": context,
    }


def _line(mode: str, what: str, measured: Measured) -> str:
    return (
        f"{mode:<26} {what:<12} {measured.decisions:>9} {measured.per_s:>12.0f} "
        f"{measured.p50_ms:>9.2f} {measured.p99_ms:>9.2f} {measured.failed:>6}"
    )


def floors(count: int) -> list[str]:
    url, asked_path = _prepare(FLOOR_SIZE)
    asked = [_request(r) for r in json.loads(asked_path.read_text(encoding="utf-8"))[:count]]
    rows = []
    with tempfile.TemporaryDirectory(prefix="authreg-bench-") as name:
        folder = Path(name)
        registry, floor = folder / "authreg.db", folder / "floor.db"
        shutil.copyfile(url.removeprefix("sqlite:///"), registry)
        _floor_table(f"sqlite:///{floor}")
        rows += _compare("SQLite", f"sqlite:///{registry}", f"sqlite:///{floor}", asked, folder)
        with running_server(durable=True) as postgres:  # commits flushed to disk, as in production
            registry_url = postgres.url(postgres.create_database())
            migrate.upgrade(registry_url)
            engine = make_engine(registry_url)
            apply_documents(engine, documents(FLOOR_SIZE), actor="bench", now=NOW)
            engine.dispose()
            floor_url = postgres.url(postgres.create_database())
            _floor_table(floor_url)
            rows += _compare("PostgreSQL", registry_url, floor_url, asked, folder)
    return rows


def sizes(size: int, count: int) -> list[str]:
    url, asked_path = _prepare(size)
    asked = [_request(r) for r in json.loads(asked_path.read_text(encoding="utf-8"))[:count]]
    rows = []
    with tempfile.TemporaryDirectory(prefix="authreg-bench-") as name:
        folder = Path(name)
        database = folder / "authreg.db"
        shutil.copyfile(url.removeprefix("sqlite:///"), database)
        copy = f"sqlite:///{database}"
        token = _token(copy)
        with _authreg(copy, folder, 1) as served:
            port = served.port
            _load(port, "/api/v1/decisions", asked[:50], token, keep_alive=False)
            single = _load(port, "/api/v1/decisions", asked, token, keep_alive=False)
            rows.append(_line(f"N={size}", "decision", single))
            batches = [{"requests": asked[i : i + BATCH]} for i in range(0, len(asked), BATCH)]
            batch = _load(port, "/api/v1/decisions/batch", batches, token, keep_alive=False, per_body=BATCH)
            rows.append(_line(f"N={size}", f"batch {BATCH}", batch))
    return rows


def _fill(url: str, asked: list[dict[str, Any]], total: int) -> None:
    """Log decisions until the audit log holds ``total`` entries, in batches of 1,000 (as the
    batch endpoint does), so that the log's size is what differs between two measurements."""
    engine = make_engine(url)
    service = DecisionService.load(engine, timezone="Europe/Brussels", secret=SECRET)
    loaded = [load_request(body) for body in asked]
    with reading(engine) as session:
        logged = audit_log.head(session).seq
    while logged < total:
        chunk = [loaded[i % len(loaded)] for i in range(logged, min(total, logged + 1000))]
        service.ask_many(chunk, asked_by="bench-fill", now=utcnow())
        logged += len(chunk)
    engine.dispose()


def sustained(count: int) -> list[str]:
    """Single decisions on an empty log and with LOGGED decisions already in it, and the
    workers' resident memory before and after a run of RUN decisions (issue 12). The two logs
    are two copies of one registry, served in turn for ROUNDS rounds and compared by their
    medians: the machine's drift between two runs was as large as the effect measured."""
    url, asked_path = _prepare(FLOOR_SIZE)
    asked = [_request(r) for r in json.loads(asked_path.read_text(encoding="utf-8"))[:count]]
    rows = []
    with tempfile.TemporaryDirectory(prefix="authreg-bench-") as name:
        folder = Path(name)
        shutil.copyfile(url.removeprefix("sqlite:///"), folder / "empty.db")
        token = _token(f"sqlite:///{folder / 'empty.db'}")
        shutil.copyfile(folder / "empty.db", folder / "full.db")
        copies = {"empty": f"sqlite:///{folder / 'empty.db'}", "full": f"sqlite:///{folder / 'full.db'}"}
        _fill(copies["full"], asked, LOGGED)
        found: dict[str, list[Measured]] = {"empty": [], "full": []}
        for _ in range(ROUNDS):
            for log, copy in copies.items():
                with _authreg(copy, folder, 1) as served:
                    _load(served.port, "/api/v1/decisions", asked[:50], token, keep_alive=False)
                    found[log].append(_load(served.port, "/api/v1/decisions", asked, token, keep_alive=False))
        with _authreg(copies["full"], folder, 1) as served:
            # every request asked once first: what a process keeps as it decides (the candidates
            # of an organisation, an allow once worded) is bounded by the registry and made by
            # the first requests; what must not grow is what comes after
            _load(served.port, "/api/v1/decisions", asked, token, keep_alive=False)
            before = served.workers_rss_mb()
            many = (asked * (RUN // len(asked) + 1))[:RUN]
            run = _load(served.port, "/api/v1/decisions", many, token, keep_alive=False)
            after = served.workers_rss_mb()
    empty, full = (statistics.median(m.per_s for m in found[log]) for log in ("empty", "full"))
    for round_, (on_empty, on_full) in enumerate(zip(found["empty"], found["full"], strict=True), start=1):
        rows.append(_line(f"log empty, round {round_}", "decision", on_empty))
        rows.append(_line(f"log of {LOGGED:,}, round {round_}", "decision", on_full))
    rows.append(_line(f"then {RUN:,} more", "decision", run))
    rows.append(
        f"{'ratios':<26} {'':<12} with {LOGGED:,} logged / empty, medians of {ROUNDS} rounds: {full / empty:.2f} "
        f"(target >= 0.9); workers' memory {before:.0f} MB -> {after:.0f} MB over {RUN:,} decisions"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    header = f"{'':<26} {'what':<12} {'decisions':>9} {'decisions/s':>12} {'p50 ms':>9} {'p99 ms':>9} {'failed':>6}"
    print(
        f"over HTTP, the floors beside authreg: N={FLOOR_SIZE}, 2 gunicorn workers, {CLIENTS} clients, "
        f"each row the median of {ROUNDS} rounds"
    )
    print(header)
    for row in floors(args.requests):
        print(row)
        sys.stdout.flush()
    print(f"\nover HTTP, sustained: N={FLOOR_SIZE}, SQLite, sync workers, new connections, {CLIENTS} clients")
    print(header)
    for row in sustained(args.requests):
        print(row)
        sys.stdout.flush()
    print(f"\nover HTTP, authreg at each size: SQLite, sync workers, new connections, {CLIENTS} clients")
    print(header)
    for size in args.sizes:
        for row in sizes(size, args.requests):
            print(row)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
