"""Every error of the API as ``application/problem+json`` (RFC 9457): type, title, status,
detail, and for 422 the field paths that are wrong. No stack trace ever reaches a client."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException, UnprocessableEntity

from authreg.domain.documents import flatten_messages
from authreg.domain.errors import Conflict, Invalid, NotFound, RegistryError, Unavailable
from authreg.domain.subjects import SecretUnusable
from authreg.services.database import Clash, DatabaseFault, RefusedValue

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str = "", **extra: Any) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail or title, **extra}
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="authreg"'
    return response


def _errors(invalid: Invalid) -> list[dict[str, str]]:
    return [
        {"path": p.path, "message": p.message, **({"source": p.source} if p.source else {})} for p in invalid.problems
    ]


def init_problems(app: Flask) -> None:
    @app.errorhandler(Invalid)
    def invalid(error: Invalid) -> Response:
        return problem(422, "Unprocessable Content", "the input is invalid", errors=_errors(error))

    @app.errorhandler(NotFound)
    def not_found(error: NotFound) -> Response:
        return problem(404, "Not Found", str(error))

    @app.errorhandler(Conflict)
    def conflict(error: Conflict) -> Response:
        return problem(409, "Conflict", str(error))

    @app.errorhandler(SecretUnusable)
    def no_secret(error: SecretUnusable) -> Response:
        log.error("secret key unusable: %s", error)
        return problem(503, "Service Unavailable", "the server's secret key is missing or wrong; see its log")

    @app.errorhandler(Unavailable)
    def unavailable(error: Unavailable) -> Response:
        log.error("registry unavailable: %s", error)
        return problem(503, "Service Unavailable", "the registry cannot be used safely now; see the server log")

    @app.errorhandler(RegistryError)
    def registry_error(error: RegistryError) -> Response:
        return problem(400, "Bad Request", str(error))

    @app.errorhandler(DatabaseFault)
    def database(error: DatabaseFault) -> Response:
        """Outside ``sessions.transaction`` too: a clash is 409, a refused value 422, only the rest 503."""
        if isinstance(error, Clash):
            return problem(409, "Conflict", "the change clashes with one made at the same time")
        if isinstance(error, RefusedValue):
            return problem(422, "Unprocessable Content", "the database refused a value (too long or not allowed)")
        log.exception("database error")
        return problem(503, "Service Unavailable", "the registry database cannot be reached")

    @app.errorhandler(HTTPException)
    def http(error: HTTPException) -> Response:
        if isinstance(error, UnprocessableEntity) and hasattr(error, "data"):  # webargs' validation errors
            # webargs keys its messages by where the input came from (json, query, ...)
            by_location = error.data.get("messages", {})
            fields = {key: value for messages in by_location.values() for key, value in messages.items()}
            errors = [{"path": path, "message": message} for path, message in flatten_messages(fields)]
            return problem(422, "Unprocessable Content", "the input is invalid", errors=errors)
        return problem(error.code or 500, error.name, error.description or "")

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return problem(500, "Internal Server Error", "the request could not be handled; see the server log")
