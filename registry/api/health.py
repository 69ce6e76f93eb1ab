"""``GET /health``: can this server decide now (the database reachable, the registry it loaded,
a decision loggable within a second), and how much of the registry is there.

A load balancer takes a server out on 503, so 503 is answered whenever a decision would not be
answered either: a database that cannot be reached, one that is another registry than the one
this process loaded, a write lock that another process holds for too long, or no usable secret
key (missing, or not the registry's).
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app

from authreg.api.context import engine, subject_key, today
from authreg.domain.errors import Unavailable
from authreg.domain.subjects import SecretUnusable
from authreg.services.database import DatabaseFault, probe
from authreg.services.reports import registry_version_for, status_counts

blueprint = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@blueprint.get("/health")
def health() -> tuple[dict[str, object], int]:
    try:
        loaded = current_app.extensions["authreg.decisions"].loaded
        probe(engine(), loaded[0].registry_id if loaded else None)
        secret = subject_key()  # no usable key: decisions cannot be logged
        counts = status_counts(engine(), at=today())
        version = registry_version_for(engine(), secret)
    except DatabaseFault:
        log.exception("health check: database unavailable")
        return {"status": "unavailable", "detail": "the registry database cannot be reached"}, 503
    except (Unavailable, SecretUnusable) as error:
        log.error("health check: %s", error)
        return {"status": "unavailable", "detail": "decisions cannot be logged now"}, 503
    return {
        "status": "ok",
        "authorisations": sum(counts.values()),
        "authorisations_by_status": counts,
        "registry_version": version,
    }, 200
