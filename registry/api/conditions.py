"""Conditions over HTTP: their state as of a day, fulfilments, samples, declarations of honour,
events and the iCalendar feed."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from authreg.api.access import caller
from authreg.api.bodies import Blueprint
from authreg.api.context import changing, clock, due_soon_days, engine, subject_key, today
from authreg.domain.conditions import STATES
from authreg.domain.document_format import MAX_ID, MAX_LINK_LENGTH, MAX_TEXT_LENGTH, AnyId, BoundedText, Slug, Text
from authreg.services import record_facts
from authreg.services.answers import (
    CommunicatedSchema,
    ConditionListSchema,
    DeclarationRecordedSchema,
    EventRecordedSchema,
    FulfilmentRecordedSchema,
    SampleExtendedSchema,
    SampleRegisteredSchema,
)
from authreg.services.calendar_feed import calendar
from authreg.services.reports import condition_states

blueprint = Blueprint(
    "conditions", __name__, url_prefix="/api/v1", description="Conditions, fulfilments, samples, declarations, events"
)


class ConditionQuery(Schema):
    class Meta:
        unknown = "raise"

    status = fields.String(validate=validate.OneOf(STATES), metadata={"description": "only conditions in this state"})
    at = fields.Date(metadata={"description": "the day to judge on (default today)"})
    authorisation = AnyId()


class FulfilmentSchema(Schema):
    class Meta:
        unknown = "raise"

    fulfilled_on = fields.Date(required=True)
    evidence = Text(MAX_TEXT_LENGTH, required=True)
    link = BoundedText(MAX_LINK_LENGTH, load_default=None, allow_none=True)
    supersedes = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=MAX_ID)
    )


class SampleSchema(Schema):
    class Meta:
        unknown = "raise"

    id = Slug(required=True)
    drawn_on = fields.Date(required=True)
    subjects = fields.List(AnyId(), required=True, validate=validate.Length(min=1))


class SubjectsSchema(Schema):
    class Meta:
        unknown = "raise"

    subjects = fields.List(AnyId(), required=True, validate=validate.Length(min=1))
    on = fields.Date(load_default=None, metadata={"description": "the day of the extension (default today)"})


class DeclarationSchema(Schema):
    class Meta:
        unknown = "raise"

    signed_on = fields.Date(required=True)
    evidence = BoundedText(MAX_TEXT_LENGTH, load_default=None, allow_none=True)
    supersedes = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=MAX_ID)
    )


class EventSchema(Schema):
    class Meta:
        unknown = "raise"

    event = AnyId(required=True, metadata={"description": "the trigger of on-event conditions"})
    occurred_on = fields.Date(required=True)
    evidence = BoundedText(MAX_TEXT_LENGTH, load_default=None, allow_none=True)


class CommunicationSchema(Schema):
    class Meta:
        unknown = "raise"

    communicated_on = fields.Date(required=True)
    to = fields.List(AnyId(), required=True, validate=validate.Length(min=1))


def _states(query: dict[str, Any]) -> list[Any]:
    window = due_soon_days()
    found = condition_states(
        engine(), at=query.get("at") or today(), window_days=window, authorisation=query.get("authorisation")
    )
    return [s for s in found if "status" not in query or s.state == query["status"]]


@blueprint.route("/conditions")
class Conditions(MethodView):
    @blueprint.arguments(ConditionQuery, location="query")
    @blueprint.response(200, ConditionListSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Every condition's state as of a day (DESIGN §4)."""
        return {"conditions": [s.as_dict() for s in _states(query)]}


@blueprint.route("/conditions.ics")
class ConditionFeed(MethodView):
    @blueprint.arguments(ConditionQuery, location="query")
    def get(self, query: dict[str, Any]) -> Response:
        """Due dates as an iCalendar feed to subscribe to."""
        return Response(calendar(_states(query), generated_at=clock().now), mimetype="text/calendar")


@blueprint.route("/authorisations/<authorisation_id>/conditions/<condition_id>/fulfilments")
class Fulfilments(MethodView):
    @blueprint.arguments(FulfilmentSchema)
    @blueprint.response(201, FulfilmentRecordedSchema)
    def post(self, body: dict[str, Any], authorisation_id: str, condition_id: str) -> dict[str, Any]:
        """Record a fulfilment with evidence; a correction names the one it supersedes."""
        with changing():
            fulfilment = record_facts.record_fulfilment(
                engine(),
                authorisation=authorisation_id,
                condition=condition_id,
                actor=caller().name,
                clock=clock(),
                **body,
            )
        return {"id": fulfilment.id, "condition": condition_id, "fulfilled_on": fulfilment.fulfilled_on.isoformat()}


@blueprint.route("/authorisations/<authorisation_id>/samples")
class Samples(MethodView):
    @blueprint.arguments(SampleSchema)
    @blueprint.response(201, SampleRegisteredSchema)
    def post(self, body: dict[str, Any], authorisation_id: str) -> dict[str, Any]:
        """Register a sample (§90-91); its INSZ are stored only as keyed hashes."""
        with changing():
            count = record_facts.register_sample(
                engine(),
                authorisation=authorisation_id,
                sample=body["id"],
                drawn_on=body["drawn_on"],
                subjects=body["subjects"],
                secret=subject_key(),
                actor=caller().name,
                clock=clock(),
            )
        return {"id": body["id"], "drawn_on": body["drawn_on"].isoformat(), "subjects": count}


@blueprint.route("/authorisations/<authorisation_id>/samples/<sample_id>/subjects")
class SampleSubjects(MethodView):
    @blueprint.arguments(SubjectsSchema)
    @blueprint.response(200, SampleExtendedSchema)
    def post(self, body: dict[str, Any], authorisation_id: str, sample_id: str) -> dict[str, Any]:
        """Extend a sample (§91); the added persons count once it is communicated again."""
        moment = clock()
        on = body["on"] or moment.today
        with changing():
            added = record_facts.extend_sample(
                engine(),
                authorisation=authorisation_id,
                sample=sample_id,
                on=on,
                subjects=body["subjects"],
                secret=subject_key(),
                actor=caller().name,
                clock=moment,
            )
        return {"id": sample_id, "on": on.isoformat(), "added": added}


@blueprint.route("/authorisations/<authorisation_id>/samples/<sample_id>/communications")
class Communications(MethodView):
    @blueprint.arguments(CommunicationSchema)
    @blueprint.response(201, CommunicatedSchema)
    def post(self, body: dict[str, Any], authorisation_id: str, sample_id: str) -> dict[str, Any]:
        """Record that a sample went to security-consultant parties (§92, §100)."""
        with changing():
            record_facts.communicate_sample(
                engine(),
                authorisation=authorisation_id,
                sample=sample_id,
                on=body["communicated_on"],
                to=body["to"],
                actor=caller().name,
                clock=clock(),
            )
        return {"id": sample_id, "communicated_on": body["communicated_on"].isoformat(), "to": body["to"]}


@blueprint.route("/authorisations/<authorisation_id>/users/<user_id>/declarations")
class Declarations(MethodView):
    @blueprint.arguments(DeclarationSchema)
    @blueprint.response(201, DeclarationRecordedSchema)
    def post(self, body: dict[str, Any], authorisation_id: str, user_id: str) -> dict[str, Any]:
        """Record that a listed user signed the declaration of honour (§78)."""
        with changing():
            number = record_facts.record_declaration(
                engine(), authorisation=authorisation_id, user=user_id, actor=caller().name, clock=clock(), **body
            )
        signed_on = body["signed_on"].isoformat()
        return {"id": number, "authorisation": authorisation_id, "user": user_id, "signed_on": signed_on}


@blueprint.route("/authorisations/<authorisation_id>/events")
class Events(MethodView):
    @blueprint.arguments(EventSchema)
    @blueprint.response(201, EventRecordedSchema)
    def post(self, body: dict[str, Any], authorisation_id: str) -> dict[str, Any]:
        """Record an event that starts the clock of on-event conditions (§88)."""
        with changing():
            record_facts.record_event(
                engine(), authorisation=authorisation_id, actor=caller().name, clock=clock(), **body
            )
        return {
            "authorisation": authorisation_id,
            "event": body["event"],
            "occurred_on": body["occurred_on"].isoformat(),
        }
