"""``make bench``, over HTTP: decisions per second and latency through ``authreg serve``
(gunicorn, 2 workers, the audit log on, SQLite) on 127.0.0.1, single requests and batches of
100, at the registry sizes of the in-process benchmark and on the same requests."""

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
from pathlib import Path
from typing import Any

from authreg.domain.clock import utcnow
from authreg.services import tokens
from authreg.storage.sessions import make_engine
from bench.decisions import SIZES, _percentile, _prepare, _request

CLIENTS = 4
BATCH = 100
SECRET = secrets.token_hex(32)  # the served copy of the registry is thrown away with its hashes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(url: str) -> Iterator[int]:
    port = _free_port()
    beside = Path(url.removeprefix("sqlite:///")).parent  # the throw-away folder of the copy
    env = {
        **os.environ,
        "AUTHREG_DATABASE_URL": url,
        "AUTHREG_SECRET_KEY": SECRET,
        "AUTHREG_SIGNING_KEY_FILE": str(beside / "signing.key"),
        "AUTHREG_CHECKPOINT_DIR": str(beside / "checkpoints"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "authreg.cli.main", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def _post(port: int, path: str, body: Any, token: str) -> tuple[float, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    began = time.perf_counter()
    connection.request(
        "POST", path, json.dumps(body), {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - began
    connection.close()
    return elapsed, response.status


def _load(port: int, path: str, bodies: list[Any], token: str) -> tuple[list[float], float, int]:
    """Send ``bodies`` from CLIENTS threads; latencies in s, wall time, failures."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    queue = list(reversed(bodies))

    def client() -> None:
        nonlocal failures
        while True:
            with lock:
                if not queue:
                    return
                body = queue.pop()
            elapsed, status = _post(port, path, body, token)
            with lock:
                latencies.append(elapsed)
                failures += status != 200

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - began, failures


def run(size: int, count: int) -> list[str]:
    url, asked_path = _prepare(size)
    asked = [_request(r) for r in json.loads(asked_path.read_text(encoding="utf-8"))[:count]]
    rows = []
    with tempfile.TemporaryDirectory(prefix="authreg-bench-") as folder:
        database = Path(folder) / "authreg.storage.sessions"
        shutil.copyfile(url.removeprefix("sqlite:///"), database)
        copy = f"sqlite:///{database}"
        engine = make_engine(copy)
        token = tokens.create(engine, name="bench", role="application", now=utcnow())
        engine.dispose()
        with _server(copy) as port:
            _load(port, "/api/v1/decisions", asked[:50], token)  # warm-up: snapshot load, connections
            latencies, wall, failed = _load(port, "/api/v1/decisions", asked, token)
            rows.append(_row(size, "single", len(asked), latencies, wall, failed))
            batches = [{"requests": asked[i : i + BATCH]} for i in range(0, len(asked), BATCH)]
            latencies, wall, failed = _load(port, "/api/v1/decisions/batch", batches, token)
            rows.append(_row(size, f"batch {BATCH}", len(asked), latencies, wall, failed))
    return rows


def _row(size: int, mode: str, decisions: int, latencies: list[float], wall: float, failed: int) -> str:
    p50, p99 = statistics.median(latencies) * 1000, _percentile(latencies, 0.99) * 1000
    return f"{size:>6} {mode:<10} {decisions:>9} {decisions / wall:>12.0f} {p50:>9.2f} {p99:>9.2f} {failed:>6}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    print(f"decisions over HTTP: authreg serve, 2 gunicorn workers, audit on, SQLite; {CLIENTS} clients; ms per call")
    print(f"{'N':>6} {'mode':<10} {'decisions':>9} {'decisions/s':>12} {'p50 ms':>9} {'p99 ms':>9} {'failed':>6}")
    for size in args.sizes:
        for row in run(size, args.requests):
            print(row)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
