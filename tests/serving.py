"""``authreg serve`` as a real process for the tests that need HTTP over a socket."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from tests.conftest import ROOT
from tests.postgres import free_port

# gunicorn with two workers imports the whole app twice; on a busy 2-core machine (the test
# suite itself running beside it) that took ten seconds here, and a busier machine takes longer.
STARTUP_SECONDS = 60
UNHEALTHY_SECONDS = 5


@contextmanager
def served(url: str, **env: str) -> Iterator[int]:
    """Serve the registry at ``url`` with 2 workers; yields the port once /health answers 200.

    The server's output goes to a file that is shown when it never comes up or exits early:
    without it a failure only says "connection refused". Its signing key and checkpoints go to
    a folder of its own (unless ``env`` says where), not to the project's ``var/``."""
    port = free_port()
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryFile() as log:
        kept = {
            "AUTHREG_SIGNING_KEY_FILE": os.path.join(folder, "keys", "signing.key"),
            "AUTHREG_CHECKPOINT_DIR": os.path.join(folder, "checkpoints"),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "authreg.cli.main", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env={**os.environ, **kept, "AUTHREG_DATABASE_URL": url, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(process, port, log)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=10)


def _wait_until_up(process: subprocess.Popen[bytes], port: int, log: IO[bytes]) -> None:
    """Poll /health until it answers 200. A refused or timed-out connection is the server still
    starting, until the deadline; an error status is a server up but unhealthy, given a few
    seconds to turn healthy rather than the whole minute."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
            return
        except urllib.error.HTTPError as error:
            deadline = min(deadline, time.monotonic() + UNHEALTHY_SECONDS)
            failure: OSError = error
        except OSError as error:  # URLError, ConnectionError and the socket's TimeoutError
            failure = error
        if process.poll() is not None:
            raise RuntimeError(f"authreg serve exited with {process.returncode}:\n{_output(log)}") from failure
        if time.monotonic() > deadline:
            raise RuntimeError(f"authreg serve is not healthy ({failure}):\n{_output(log)}") from failure
        time.sleep(0.1)


def _output(log: IO[bytes]) -> str:
    """The server's last lines: enough to see why, not every repeat of it."""
    log.seek(0)
    return "\n".join(log.read().decode(errors="replace").splitlines()[-40:])
