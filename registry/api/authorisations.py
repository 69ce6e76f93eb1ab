"""``/api/v1/authorisations``: the registry over HTTP. The body of POST and PUT is the
authorisation document of DESIGN §2 as JSON; updates carry the version they change (If-Match)."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, jsonify, request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from authreg.api.access import caller
from authreg.api.bodies import Blueprint
from authreg.api.context import changing, clock, engine, today
from authreg.domain.document_format import MAX_TEXT_LENGTH, STATUSES, AnyId, AuthorisationSchema, Text
from authreg.domain.documents import Document
from authreg.domain.errors import Invalid, Problem
from authreg.services import record_facts
from authreg.services.answers import (
    AuthorisationListSchema,
    HistorySchema,
    StatusChangedSchema,
    WrittenSchema,
)
from authreg.services.apply import ApplyReport, apply_documents
from authreg.services.reports import authorisation_summaries, history, versioned_document

_VERSION = re.compile(r"[0-9]{1,18}")
blueprint = Blueprint(
    "authorisations", __name__, url_prefix="/api/v1/authorisations", description="The registry of authorisations"
)


class ListQuery(Schema):
    class Meta:
        unknown = "raise"

    status = fields.String(validate=validate.OneOf(STATUSES))
    organisation = AnyId(metadata={"description": "only authorisations this organisation is a party of"})
    in_force_at = fields.Date(metadata={"description": "only authorisations in force on this day"})


class StatusChangeSchema(Schema):
    class Meta:
        unknown = "raise"

    on = fields.Date(required=True)
    reason = Text(MAX_TEXT_LENGTH, required=True)


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _expected_version() -> int:
    """The version If-Match names, as an ETag gives it. At most 18 ASCII digits: ``isdigit``
    also takes other scripts' digits, and ``int`` refuses more than 4,300 digits with an error."""
    match = request.headers.get("If-Match", "").strip().strip('"')
    if _VERSION.fullmatch(match) is None:
        raise Invalid([Problem("", "If-Match", "the version this update changes, as in the ETag (at most 18 digits)")])
    return int(match)


def _written(report: ApplyReport) -> dict[str, Any]:
    (change,) = report.changes
    return {
        "id": change.key,
        "status": change.status,
        "version": change.version,
        "warnings": [{"path": w.path, "message": w.message} for w in report.warnings],
    }


def _apply(body: dict[str, Any], expected: int | None) -> dict[str, Any]:
    document = Document("authorisation", "request body", body)
    with changing():
        report = apply_documents(
            engine(), [document], actor=caller().name, now=clock().now, expected_versions={body["id"]: expected}
        )
    return _written(report)


@blueprint.route("")
class Authorisations(MethodView):
    @blueprint.arguments(ListQuery, location="query")
    @blueprint.response(200, AuthorisationListSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The authorisations with their status on a day (today unless ``in_force_at``)."""
        found = authorisation_summaries(
            engine(),
            at=query.get("in_force_at") or today(),
            status=query.get("status"),
            organisation=query.get("organisation"),
            in_force="in_force_at" in query,
        )
        return {"authorisations": [s.as_dict() for s in found]}

    @blueprint.arguments(AuthorisationSchema)
    @blueprint.response(201, WrittenSchema)
    def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Register a new authorisation from its document."""
        written = _apply(body, None)
        headers = {**_etag(written["version"]), "Location": f"/api/v1/authorisations/{written['id']}"}
        return written, 201, headers


@blueprint.route("/<authorisation_id>")
class OneAuthorisation(MethodView):
    @blueprint.response(200, AuthorisationSchema)
    def get(self, authorisation_id: str) -> Response:
        """The stored document; its ETag is the version an update must name in If-Match.

        Sent as stored (a Response is not dumped again): the canonical document, which applies
        again as unchanged; the schema describes it."""
        version, document = versioned_document(engine(), authorisation_id)
        answer = jsonify(document)
        answer.headers.update(_etag(version))
        return answer

    @blueprint.arguments(AuthorisationSchema)
    @blueprint.response(200, WrittenSchema)
    def put(self, body: dict[str, Any], authorisation_id: str) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Replace the document with a new version; If-Match names the version it changes."""
        if body["id"] != authorisation_id:
            raise Invalid([Problem("", "id", f"{body['id']!r} is not the authorisation of this URL")])
        expected = _expected_version()
        written = _apply(body, expected)
        return written, 200, _etag(written["version"] or expected)


@blueprint.route("/<authorisation_id>/history")
class History(MethodView):
    @blueprint.response(200, HistorySchema)
    def get(self, authorisation_id: str) -> dict[str, Any]:
        """Every version with who, when and why, and the dated status changes."""
        line, rows = history(engine(), authorisation_id)
        return {
            "versions": [
                {
                    "version": r.version,
                    "created_at": r.created_at.isoformat(),
                    "created_by": r.created_by,
                    "note": r.note,
                    "digest": r.digest,
                }
                for r in rows
            ],
            "status_changes": [{"kind": c.kind, "on": c.on.isoformat(), "reason": c.reason} for c in line.changes],
        }


@blueprint.route("/<authorisation_id>/<any(suspend, reinstate, revoke):kind>")
class StatusChange(MethodView):
    @blueprint.arguments(StatusChangeSchema)
    @blueprint.response(200, StatusChangedSchema)
    def post(self, body: dict[str, Any], authorisation_id: str, kind: str) -> dict[str, Any]:
        """Suspend, reinstate or revoke from a day on (a new version with who, when and why)."""
        with changing():
            status, version = record_facts.change_status(
                engine(),
                authorisation=authorisation_id,
                kind=kind,
                on=body["on"],
                reason=body["reason"],  # type: ignore[arg-type]
                actor=caller().name,
                clock=clock(),
            )
        return {"id": authorisation_id, "status": status, "version": version, "on": body["on"].isoformat()}
