"""Who may call what: a Bearer token names a caller and a role, and ``policies/roles.conf``
with ``policies/roles.csv`` (a second Casbin model) says which role may call which endpoint."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib.resources import files

import casbin
from flask import Flask, Request, Response, current_app, g, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin

from authreg.api.problems import problem
from authreg.api.public import PATHS as PUBLIC_PATHS
from authreg.services.tokens import Caller, TokenCache

ROLES_MODEL = files("authreg.policies") / "roles.conf"
ROLES_POLICY = files("authreg.policies") / "roles.csv"
API_PREFIXES = ("/api/v1/", "/access/v1/")  # the native API and AuthZEN's
OPEN = ("/api/v1/openapi.json", *PUBLIC_PATHS)  # for anyone, without a token


def init_access(app: Flask) -> None:
    app.extensions["authreg.roles"] = _may(casbin.Enforcer(str(ROLES_MODEL), str(ROLES_POLICY)))
    app.extensions["authreg.tokens"] = TokenCache(
        app.extensions["authreg.engine"], ttl=float(app.config["SYNC_SECONDS"])
    )
    app.session_interface = _PagesOnlySessions()
    app.before_request(_check)


class _PagesOnlySessions(SecureCookieSessionInterface):
    """The session cookie is the pages' sign-in; the API takes tokens, so its requests get a
    session that is never read from nor written to a cookie (and do not pay for making the
    cookie's signer on every decision)."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if request.path.startswith(API_PREFIXES):
            return self.make_null_session(app)
        return super().open_session(app, request)


def _may(roles: casbin.Enforcer) -> Callable[[str, str, str], bool]:
    """Whether a role may call a path with a method, remembered: the roles' policy is read once
    at start and never changes while the server runs, and asking Casbin cost a decision more
    than deciding it. Bounded, since paths are the caller's to choose."""

    @lru_cache(maxsize=4096)
    def may(role: str, path: str, method: str) -> bool:
        return bool(roles.enforce(role, path, method))

    return may


def _check() -> Response | None:
    if not request.path.startswith(API_PREFIXES) or request.path in OPEN:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return problem(401, "Unauthorized", "a Bearer token is required")
    caller = current_app.extensions["authreg.tokens"].caller(token.strip())
    if caller is None:
        return problem(401, "Unauthorized", "the token is unknown or revoked")
    if not current_app.extensions["authreg.roles"](caller.role, request.path, request.method):
        return problem(403, "Forbidden", f"role {caller.role} may not {request.method} {request.path}")
    g.caller = caller
    return None


def caller() -> Caller:
    found: Caller = g.caller
    return found
