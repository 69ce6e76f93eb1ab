"""``GET /health``: is the registry reachable, and how much of it is loaded."""

from __future__ import annotations

import logging

from flask import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from registry import store
from registry.api.context import engine, today
from registry.db import transaction
from registry.reports import status_counts

blueprint = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@blueprint.get("/health")
def health() -> tuple[dict[str, object], int]:
    try:
        counts = status_counts(engine(), at=today())
        with transaction(engine()) as session:
            version = store.registry_version(session)
    except SQLAlchemyError:
        log.exception("health check: database unavailable")
        return {"status": "unavailable", "detail": "the registry database cannot be reached"}, 503
    return {
        "status": "ok",
        "authorisations": sum(counts.values()),
        "authorisations_by_status": counts,
        "registry_version": version,
    }, 200
