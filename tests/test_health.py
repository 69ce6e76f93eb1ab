"""``GET /health`` through the WSGI app, and through gunicorn over real HTTP as ``make run`` serves it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import Engine

from authreg.app import create_app
from authreg.storage import registry_rows
from authreg.storage.sessions import reading
from tests.conftest import ROOT, TEST_SECRET
from tests.serving import served


def test_health_reports_the_authorisations_loaded(client: FlaskClient, seeded: Engine) -> None:
    with reading(seeded) as session:
        version = registry_rows.registry_version(session)  # the seed applied and its facts recorded
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "authorisations": 1,
        "authorisations_by_status": {"active": 1},
        "registry_version": version,
    }


def test_health_is_503_when_the_database_is_not_there(sqlite_url: str) -> None:
    app = create_app({"DATABASE_URL": sqlite_url, "TESTING": True})
    response = app.test_client().get("/health")
    app.extensions["authreg.engine"].dispose()
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "detail": "the registry database cannot be reached"}


def test_authreg_serve_answers_over_http(tmp_path: Path) -> None:
    """End to end as a user would: init, apply the policies, ``authreg serve`` (gunicorn)."""
    url = f"sqlite:///{tmp_path / 'authreg.db'}"
    env = {**os.environ, "AUTHREG_DATABASE_URL": url, "AUTHREG_SECRET_KEY": TEST_SECRET}
    authreg = [sys.executable, "-m", "authreg.cli.main"]
    subprocess.run([*authreg, "init"], check=True, cwd=ROOT, env=env, capture_output=True)
    subprocess.run([*authreg, "apply", "policies"], check=True, cwd=ROOT, env=env, capture_output=True)
    with (
        served(url, AUTHREG_SECRET_KEY=TEST_SECRET) as port,
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response,
    ):
        body = json.load(response)
    assert body["status"] == "ok"
    assert body["authorisations"] == 1
