"""The Flask application factory: configuration, the database engine, the blueprints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from registry.api import health
from registry.config import Settings
from registry.db import make_engine


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Config comes from defaults, then ``AUTHREG_*`` environment variables, then ``test_config``."""
    app = Flask(__name__)
    defaults = Settings()
    app.config.from_mapping(DATABASE_URL=defaults.database_url, TIMEZONE=defaults.timezone)
    app.config.from_prefixed_env("AUTHREG")
    if test_config:
        app.config.update(test_config)
    app.extensions["authreg.engine"] = make_engine(app.config["DATABASE_URL"])
    app.register_blueprint(health.blueprint)
    return app
