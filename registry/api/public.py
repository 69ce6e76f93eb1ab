"""The public transparency register over HTTP (``services/public_register``): JSON and CSV,
for anyone, without a token. ``AUTHREG_PUBLIC_REGISTER=false`` turns it off (404)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app
from flask.views import MethodView
from marshmallow import Schema, fields

from authreg.api.bodies import Blueprint
from authreg.api.context import engine, today
from authreg.services.answers import PublicRegisterSchema
from authreg.services.public_register import csv_text, entries

blueprint = Blueprint(
    "public", __name__, url_prefix="/api/v1/public", description="The public transparency register (no token)"
)
PATHS = ("/api/v1/public/register", "/api/v1/public/register.csv")  # open to anyone (``access``)


class RegisterQuery(Schema):
    class Meta:
        unknown = "raise"

    at = fields.Date(metadata={"description": "the day the authorisations are in force (default today)"})


def _published(query: dict[str, Any]) -> dict[str, Any]:
    if not current_app.config["PUBLIC_REGISTER"]:
        abort(404)
    day = query.get("at") or today()
    return {"at": day.isoformat(), "found": entries(engine(), at=day)}


@blueprint.route("/register")
class Register(MethodView):
    @blueprint.arguments(RegisterQuery, location="query")
    @blueprint.response(200, PublicRegisterSchema)
    @blueprint.doc(security=[])
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The authorisations in force on a day: who discloses to whom, for which purposes, which
        kinds of data, until when, and how long the data may be kept. No personal data."""
        published = _published(query)
        return {"at": published["at"], "authorisations": [entry.as_dict() for entry in published["found"]]}


@blueprint.route("/register.csv")
class RegisterCsv(MethodView):
    @blueprint.arguments(RegisterQuery, location="query")
    @blueprint.response(200, {"type": "string"}, content_type="text/csv")
    @blueprint.doc(security=[])
    def get(self, query: dict[str, Any]) -> Response:
        """The same register as CSV, one row per authorisation (names joined with "; ")."""
        return Response(csv_text(_published(query)["found"]), mimetype="text/csv")
