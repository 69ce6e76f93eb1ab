"""``GET /health`` through the WSGI app, and through gunicorn over real HTTP as ``make run`` serves it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from flask.testing import FlaskClient

from registry.app import create_app
from tests.conftest import ROOT
from tests.postgres import free_port


def test_health_reports_the_authorisations_loaded(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "authorisations": 1,
        "authorisations_by_status": {"active": 1},
        "registry_version": 1,
    }


def test_health_is_503_when_the_database_is_not_there(sqlite_url: str) -> None:
    app = create_app({"DATABASE_URL": sqlite_url, "TESTING": True})
    response = app.test_client().get("/health")
    app.extensions["authreg.engine"].dispose()
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "detail": "the registry database cannot be reached"}


def test_authreg_serve_answers_over_http(tmp_path: Path) -> None:
    """End to end as a user would: init, apply the policies, ``authreg serve`` (gunicorn)."""
    env = {**os.environ, "AUTHREG_DATABASE_URL": f"sqlite:///{tmp_path / 'authreg.db'}"}
    authreg = [sys.executable, "-m", "cli.main"]
    subprocess.run([*authreg, "init"], check=True, cwd=ROOT, env=env, capture_output=True)
    subprocess.run([*authreg, "apply", "policies"], check=True, cwd=ROOT, env=env, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [*authreg, "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = _get_json(f"http://127.0.0.1:{port}/health", timeout_s=20)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert body["status"] == "ok"
    assert body["authorisations"] == 1


def _get_json(url: str, timeout_s: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                result: dict[str, object] = json.load(response)
                return result
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
