"""The Flask application factory: configuration, the database engine, the API and its guards,
the web pages."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_smorest import Api
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from authreg.api import (
    access_lists,
    audit,
    authorisations,
    authzen,
    conditions,
    decisions,
    docs,
    health,
    impact,
    public,
)
from authreg.api.access import init_access
from authreg.api.bodies import init_bodies
from authreg.api.context import subject_key
from authreg.api.problems import init_problems
from authreg.config import Settings
from authreg.domain.errors import RegistryError, Unavailable
from authreg.services import checkpoints
from authreg.services.decision_service import DecisionService
from authreg.storage import identity
from authreg.storage.sessions import make_engine
from authreg.web.pages import init_web

log = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Config comes from defaults, then ``AUTHREG_*`` environment variables, then ``test_config``."""
    app = Flask(__name__)
    settings = Settings.from_env()
    app.config.from_mapping(
        DATABASE_URL=settings.database_url,
        TIMEZONE=settings.timezone,
        # The key that hashes data subjects; read like the CLI does (AUTHREG_SECRET_KEY, else the
        # key file), not through from_prefixed_env, which would also hand it to Flask's sessions.
        SUBJECT_KEY=settings.secret_key,
        SUBJECT_KEY_FILE=str(settings.secret_key_file),
        DUE_SOON_DAYS=settings.due_soon_days,
        SIGNING_KEY_FILE=str(settings.signing_key_file),
        CHECKPOINT_DIR=str(settings.checkpoint_dir),
        CHECKPOINT_EVERY=settings.checkpoint_every,
        CHECKPOINT_SECONDS=settings.checkpoint_seconds,
        MAX_CONTENT_LENGTH=1024 * 1024,
        SYNC_SECONDS=0.5,  # how stale another process's change may be here, at most
        PUBLIC_REGISTER=True,  # the transparency register, for anyone (AUTHREG_PUBLIC_REGISTER=false: off)
        API_TITLE="authreg",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="v1/openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=docs.ASSETS,
        API_SPEC_OPTIONS={
            "security": [{"bearer": []}],
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        },
    )
    app.config.from_prefixed_env("AUTHREG")
    # AUTHREG_SECRET_KEY hashes data subjects; the web pages' sessions are signed with a key
    # derived from it (the same in every worker), never with the secret itself
    app.config["SECRET_KEY"] = None
    if test_config:
        app.config.update(test_config)
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["authreg.engine"] = engine
    with app.app_context():
        secret = _secret()
        try:
            _refuse_another_key(engine, secret)
        except RegistryError:
            engine.dispose()
            raise
        if secret is not None and app.config["SECRET_KEY"] is None:
            app.config["SECRET_KEY"] = identity.derived_key(secret, "web-sessions").hex()
    app.extensions["authreg.decisions"] = _LazyService(app)
    init_access(app)
    init_bodies(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(docs.blueprint)
    app.register_blueprint(authzen.blueprint)
    api = Api(app)
    api.register_blueprint(decisions.blueprint)
    api.register_blueprint(authorisations.blueprint)
    api.register_blueprint(conditions.blueprint)
    api.register_blueprint(audit.blueprint)
    api.register_blueprint(public.blueprint)
    api.register_blueprint(access_lists.blueprint)
    api.register_blueprint(impact.blueprint)
    init_problems(app)  # after Api(), whose own handler for HTTP errors this replaces
    init_web(app)
    return app


def served_app() -> Flask:
    """The app as a server runs it (``authreg serve``, ``make run``): one long-lived process,
    whose loaded registry is kept out of the garbage collector's full passes (``_LazyService.
    settle``)."""
    app = create_app()
    app.extensions["authreg.decisions"].freezes_heap = True
    return app


SETTLE_SECONDS = 30.0  # at most one full collection this often, after changes (``settle``)


class _LazyService:
    """The decision service, loaded on first use (the database may not be up when the process
    starts; a failed load is retried on the next request), then kept in step with changes
    made by other processes: at most ``SYNC_SECONDS`` after a change, it is used here too."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.loaded: list[DecisionService] = []
        self.synced_at = 0.0
        self.freezes_heap = False
        self._settling = threading.Lock()
        self._settled_at = float("-inf")
        self._unsettled = False

    def settle(self) -> None:
        """In a server, once the registry is loaded or changed: everything alive moves out of
        the garbage collector's sight (``gc.freeze``). Otherwise every full pass walks the whole
        loaded registry, Flask and SQLAlchemy; at N = 100 such passes (about 100 ms each) came
        every few hundred requests and made the batches' tail. What a change made garbage is
        collected first, so an old view caught in a reference cycle is not kept for ever. That
        collection walks the whole heap too, so it runs at most every ``SETTLE_SECONDS`` (a run
        of writes is settled once, on a request after it), one at a time. Not in tests and
        commands, whose apps come and go."""
        if not self.freezes_heap:
            return
        with self._settling:
            self._unsettled = True
            if time.monotonic() - self._settled_at < SETTLE_SECONDS:
                return
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self._settled_at, self._unsettled = time.monotonic(), False

    def __call__(self) -> DecisionService:
        with self.lock:
            app = self.app
            if not self.loaded:
                engine = app.extensions["authreg.engine"]
                service = DecisionService.load(engine, timezone=app.config["TIMEZONE"], secret=_secret())
                service.checkpointer = _checkpointer(app, service.registry_id)
                self.loaded.append(service)
                self.synced_at = time.monotonic()
                self.settle()
            elif time.monotonic() - self.synced_at >= float(app.config["SYNC_SECONDS"]):
                if self.loaded[0].sync() or self._unsettled:
                    self.settle()
                self.synced_at = time.monotonic()
            return self.loaded[0]


def _checkpointer(app: Flask, registry_id: str) -> checkpoints.Checkpointer | None:
    """Checkpoints written on their own; a signing key that cannot be read or made is logged
    and leaves decisions working (the log is still chained and keyed), without checkpoints."""
    try:
        key = checkpoints.signing_key(Path(app.config["SIGNING_KEY_FILE"]))
    except (OSError, ValueError, RegistryError):
        log.exception("no signing key: this server writes no audit checkpoints")
        return None
    return checkpoints.Checkpointer(
        key,
        Path(app.config["CHECKPOINT_DIR"]),
        every=int(app.config["CHECKPOINT_EVERY"]),
        seconds=float(app.config["CHECKPOINT_SECONDS"]),
        registry_id=registry_id,
    )


def _refuse_another_key(engine: Engine, secret: str | None) -> None:
    """A server started with another secret key than its registry's does not start (the
    error names both fingerprints). An unreachable database is checked later, on first use."""
    if secret is None:
        return
    try:
        identity.check_key(engine, secret)
    except (SQLAlchemyError, Unavailable) as error:
        log.warning("secret key not checked at start (%s); it is checked when the registry loads", error)


def _secret() -> str | None:
    try:
        return subject_key()
    except RegistryError as error:
        log.warning("no usable secret key (%s): requests naming a data subject will get 503", error)
        return None
