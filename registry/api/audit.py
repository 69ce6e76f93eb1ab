"""The audit log over HTTP, for auditors: entries with filters and cursor pagination, and the
chain's verification."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from registry import audit
from registry.api.context import engine
from registry.db import transaction
from registry.schemas import MAX_ID

blueprint = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The decision log")


class AuditQuery(Schema):
    class Meta:
        unknown = "raise"

    since = fields.Date(data_key="from", metadata={"description": "first day asked (UTC)"})
    until = fields.Date(data_key="to", metadata={"description": "last day asked (UTC)"})
    decision = fields.String(validate=validate.OneOf(["allow", "deny"]))
    authorisation = fields.String()
    after = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=MAX_ID), metadata={"description": "cursor"}
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class VerificationSchema(Schema):
    intact = fields.Boolean()
    entries = fields.Integer()
    broken_at = fields.Integer(allow_none=True)
    problem = fields.String()


@blueprint.route("")
class AuditLog(MethodView):
    @blueprint.arguments(AuditQuery, location="query")
    @blueprint.response(200)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Entries after the cursor ``after`` (a seq), oldest first; ``next`` is the next cursor."""
        with transaction(engine()) as session:
            page = audit.page(
                session,
                since=query.get("since"),
                until=query.get("until"),
                decision=query.get("decision"),
                authorisation=query.get("authorisation"),
                after=query["after"],
                limit=query["limit"],
            )
        records = [audit.as_record(entry) for entry in page]
        more = len(records) == query["limit"]
        return {"entries": records, "next": records[-1]["seq"] if more else None}


@blueprint.route("/verify")
class AuditVerify(MethodView):
    @blueprint.response(200, VerificationSchema)
    def get(self) -> dict[str, Any]:
        """Walk the hash chain; name the first broken entry."""
        with transaction(engine()) as session:
            result = audit.verify(session)
        return {
            "intact": result.intact,
            "entries": result.entries,
            "broken_at": result.broken_at,
            "problem": result.problem,
        }
