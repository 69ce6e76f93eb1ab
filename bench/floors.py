"""The floors that authreg's decisions over HTTP are measured against (issue 12), served by the
same gunicorn set-up as ``authreg serve`` in the same run: a Flask view that answers a fixed
JSON (what the stack costs), and one that also inserts one row and commits it (what a durable
write costs), on the database engine authreg uses (``make_engine``: WAL and ``BEGIN
IMMEDIATE`` on SQLite, the same pool on PostgreSQL). Bench only:
``gunicorn 'bench.floors:create_app()'`` with ``BENCH_DATABASE_URL`` set."""

from __future__ import annotations

import os
import uuid

from flask import Flask, request
from sqlalchemy import text

from authreg.storage.sessions import make_engine, transaction

ANSWER = {"decision": "allow", "reasons": [], "warnings": [], "obligations": []}
TABLE = "CREATE TABLE IF NOT EXISTS floor_row (id VARCHAR(36) PRIMARY KEY, body TEXT NOT NULL)"


def create_app() -> Flask:
    app = Flask(__name__)
    engine = make_engine(os.environ["BENCH_DATABASE_URL"])

    @app.post("/fixed")
    def fixed() -> dict[str, object]:
        request.get_data()
        return ANSWER

    @app.post("/commit")
    def commit() -> dict[str, object]:
        with transaction(engine) as session:
            session.execute(
                text("INSERT INTO floor_row (id, body) VALUES (:id, :body)"),
                {"id": str(uuid.uuid4()), "body": request.get_data(as_text=True)},
            )
        return ANSWER

    return app
