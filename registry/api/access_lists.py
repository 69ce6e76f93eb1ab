"""Who may read what, over HTTP (``services/access_report``): ``GET /api/v1/access`` with
``user`` and ``organisation``, or with ``category`` (and ``source``). Complete, never paged:
the answer is what ``authreg access`` prints. AuthZEN's search endpoints page the same rows."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields

from authreg.api.bodies import Blueprint
from authreg.api.context import current_policy, today
from authreg.domain.document_format import AnyId
from authreg.services.access_report import access
from authreg.services.answers import AccessListSchema

blueprint = Blueprint("access-lists", __name__, url_prefix="/api/v1", description="Who may read what")


class AccessQuery(Schema):
    class Meta:
        unknown = "raise"

    user = AnyId(metadata={"description": "what this user may read (with organisation)"})
    organisation = AnyId(metadata={"description": "the organisation the user is listed for"})
    category = AnyId(metadata={"description": "who may read this data category"})
    source = AnyId(metadata={"description": "with category: only from this discloser"})
    at = fields.Date(metadata={"description": "the day (default today)"})


@blueprint.route("/access")
class Access(MethodView):
    @blueprint.arguments(AccessQuery, location="query")
    @blueprint.response(200, AccessListSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Every category (through the taxonomy), purpose and source a user may read on a day,
        or every organisation and user that may read a category; through which authorisation
        and flow, and what the national register number or a sample gate restricts."""
        day = query.pop("at", None) or today()
        rows = access(current_policy(), day, **query)
        return {"at": day.isoformat(), "access": [row.as_dict() for row in rows]}
