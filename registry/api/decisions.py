"""``POST /api/v1/decisions`` and ``/decisions/batch``: the body is loaded once (``RequestSchema``)
and handed to the decision service, which builds, decides, logs and answers."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from authreg.api.access import caller
from authreg.api.bodies import Blueprint
from authreg.api.context import service
from authreg.domain.clock import utcnow
from authreg.domain.requests import RequestSchema
from authreg.services.answers import BatchAnswerSchema, DecisionSchema

blueprint = Blueprint("decisions", __name__, url_prefix="/api/v1/decisions", description="Allow or deny, with reasons")
MAX_BATCH = 1000


class BatchSchema(Schema):
    class Meta:
        unknown = "raise"

    requests = fields.List(fields.Nested(RequestSchema), required=True, validate=validate.Length(min=1, max=MAX_BATCH))


@blueprint.route("")
class Decisions(MethodView):
    @blueprint.arguments(RequestSchema)
    @blueprint.response(200, DecisionSchema)
    def post(self, asked: dict[str, Any]) -> dict[str, Any]:
        """Decide one request (DESIGN §3); the answer is logged before it is returned."""
        return service().ask(asked, asked_by=caller().name, now=utcnow())


@blueprint.route("/batch")
class DecisionBatch(MethodView):
    @blueprint.arguments(BatchSchema)
    @blueprint.response(200, BatchAnswerSchema)
    def post(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Decide up to 1000 requests, answered in request order."""
        answers = service().ask_many(batch["requests"], asked_by=caller().name, now=utcnow())
        return {"decisions": answers}
