"""``POST /api/v1/impact``: the impact of an authorisation document before it is applied, as
``authreg apply --dry-run --impact`` reports it (``services/impact``). Writes nothing."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields

from authreg.api.access import caller
from authreg.api.bodies import Blueprint
from authreg.api.context import clock, engine
from authreg.domain.document_format import AuthorisationSchema
from authreg.domain.documents import Document
from authreg.services.answers import ImpactSchema
from authreg.services.impact import impact

blueprint = Blueprint("impact", __name__, url_prefix="/api/v1", description="The impact of a change before it is made")


class ImpactQuery(Schema):
    class Meta:
        unknown = "raise"

    since = fields.Date(metadata={"description": "replay the decisions asked from this day on (default: all)"})


@blueprint.route("/impact")
class Impact(MethodView):
    @blueprint.arguments(AuthorisationSchema)
    @blueprint.arguments(ImpactQuery, location="query")
    @blueprint.response(200, ImpactSchema)
    def post(self, body: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
        """The logged decisions this document (new, or a new version) would turn round: replayed
        against the registry as it is and as it would be, grouped by authorisation,
        organisation, user and category (not one by one: that is the audit log's, for auditors).
        Nothing is written; invalid documents are 422 as for ``POST /authorisations``."""
        document = Document("authorisation", "request body", body)
        found = impact(engine(), [document], since=query.get("since"), actor=caller().name, now=clock().now)
        return found.as_dict(flips=False)
