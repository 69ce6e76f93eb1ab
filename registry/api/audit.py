"""The audit log over HTTP, for auditors: entries with filters and cursor pagination, the
chain's verification (MACs under the server's key, held against its newest checkpoint), and a
freshly signed checkpoint for an outside witness to keep."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from authreg.api.bodies import Blueprint
from authreg.api.context import engine, subject_key
from authreg.domain.clock import utcnow
from authreg.domain.decisions import Verdict
from authreg.domain.document_format import MAX_ID
from authreg.services import checkpoints
from authreg.services.answers import AuditPageSchema, CheckpointSchema, VerificationSchema
from authreg.services.reports import audit_records

log = logging.getLogger(__name__)
blueprint = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The decision log")


class AuditQuery(Schema):
    class Meta:
        unknown = "raise"

    since = fields.Date(data_key="from", metadata={"description": "first day asked (UTC)"})
    until = fields.Date(data_key="to", metadata={"description": "last day asked (UTC)"})
    decision = fields.String(validate=validate.OneOf(list(Verdict)))
    authorisation = fields.String()
    after = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=MAX_ID), metadata={"description": "cursor"}
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


@blueprint.route("")
class AuditLog(MethodView):
    @blueprint.arguments(AuditQuery, location="query")
    @blueprint.response(200, AuditPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Entries after the cursor ``after`` (a seq), oldest first; ``next`` is the next cursor."""
        records = audit_records(
            engine(),
            since=query.get("since"),
            until=query.get("until"),
            decision=query.get("decision"),
            authorisation=query.get("authorisation"),
            after=query["after"],
            limit=query["limit"],
        )
        more = len(records) == query["limit"]
        return {"entries": records, "next": records[-1]["seq"] if more else None}


@blueprint.route("/verify")
class AuditVerify(MethodView):
    @blueprint.response(200, VerificationSchema)
    def get(self) -> dict[str, Any]:
        """Walk the chain, check its MACs, hold it against the newest checkpoint of this server."""
        return checkpoints.verify_server_log(
            engine(),
            secret=subject_key(),
            folder=Path(current_app.config["CHECKPOINT_DIR"]),
            signing_key_file=Path(current_app.config["SIGNING_KEY_FILE"]),
        )


@blueprint.route("/checkpoint")
class AuditCheckpoint(MethodView):
    @blueprint.response(200, CheckpointSchema)
    def get(self) -> dict[str, Any]:
        """Sign the log's current end now (also kept in the server's checkpoint folder)."""
        key = _signing_key()
        made, _ = checkpoints.checkpoint_now(engine(), key, Path(current_app.config["CHECKPOINT_DIR"]), utcnow())
        return {**made.as_dict(), "public_key": checkpoints.public_pem(key.public_key())}


def _signing_key() -> checkpoints.Ed25519PrivateKey:
    return checkpoints.signing_key(Path(current_app.config["SIGNING_KEY_FILE"]))
