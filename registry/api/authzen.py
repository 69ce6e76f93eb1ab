"""The OpenID AuthZEN Authorization API 1.0 (final, January 2026) beside the native API, for
gateways and identity providers that ask their policy decision point in the standard protocol:
``POST /access/v1/evaluation``, ``POST /access/v1/evaluations`` and the metadata at
``GET /.well-known/authzen-configuration``. Same tokens, roles, audit log and decisions as
``/api/v1/decisions``: an AuthZEN request is mapped onto a native one and asked the same way.

The mapping: ``subject`` ``{type: "user", id: USER, properties: {organisation: ORG}}``;
``resource`` ``{type: "data-category", id: CATEGORY, properties: {source, data_subject}}``;
``action`` ``{name: "read"}``; ``context`` ``{purpose, time}`` (``time`` is the native ``at``,
an optional ``language`` words the reasons). Malformed input is 400 with problem+json, as the
specification says, naming the field in AuthZEN's terms.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from authreg.api.access import caller
from authreg.api.context import service
from authreg.api.problems import problem
from authreg.domain.clock import utcnow
from authreg.domain.documents import flatten_messages
from authreg.domain.errors import Invalid
from authreg.domain.requests import load_request

blueprint = Blueprint("authzen", __name__)
SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")
MAX_EVALUATIONS = 1000
# native field -> where it is in an AuthZEN request
PLACES = {
    "user": "subject.id",
    "organisation": "subject.properties.organisation",
    "data_category": "resource.id",
    "source": "resource.properties.source",
    "data_subject": "resource.properties.data_subject",
    "action": "action.name",
    "purpose": "context.purpose",
    "at": "context.time",
}


class _Open(Schema):
    """AuthZEN objects may carry more than authreg reads (the specification allows it)."""

    class Meta:
        unknown = EXCLUDE


class SubjectSchema(_Open):
    type = fields.String(required=True, validate=validate.Equal("user", error="must be 'user'"))
    id = fields.String(required=True)
    properties = fields.Dict(load_default=dict)


class ResourceSchema(_Open):
    type = fields.String(required=True, validate=validate.Equal("data-category", error="must be 'data-category'"))
    id = fields.String(required=True)
    properties = fields.Dict(load_default=dict)


class ActionSchema(_Open):
    name = fields.String(required=True)


class EvaluationSchema(_Open):
    subject = fields.Nested(SubjectSchema)
    resource = fields.Nested(ResourceSchema)
    action = fields.Nested(ActionSchema)
    context = fields.Dict(load_default=dict)


class OptionsSchema(_Open):
    evaluations_semantic = fields.String(load_default="execute_all", validate=validate.OneOf(SEMANTICS))


class EvaluationsSchema(EvaluationSchema):
    evaluations = fields.List(fields.Dict(), validate=validate.Length(max=MAX_EVALUATIONS), load_default=list)
    options = fields.Nested(OptionsSchema, load_default=lambda: {"evaluations_semantic": "execute_all"})


# made once: a schema made per request cost an evaluation a tenth of its time
_EVALUATION, _EVALUATIONS = EvaluationSchema(), EvaluationsSchema()


class _Malformed(Exception):
    def __init__(self, messages: list[tuple[str, str]]) -> None:
        super().__init__(messages)
        self.messages = messages


def _native(evaluation: dict[str, Any], where: str = "") -> dict[str, Any]:
    """The native request an evaluation (defaults already merged in) asks."""
    try:
        loaded = _EVALUATION.load(evaluation)
    except ValidationError as error:
        raise _Malformed([(f"{where}{path}", message) for path, message in flatten_messages(error.messages)]) from error
    missing = [name for name in ("subject", "resource", "action") if name not in loaded]
    if missing:
        raise _Malformed([(f"{where}{name}", "required") for name in missing])
    subject, resource, context = loaded["subject"], loaded["resource"], loaded["context"]
    fields_ = {
        "user": subject["id"],
        "organisation": subject["properties"].get("organisation"),
        "data_category": resource["id"],
        "source": resource["properties"].get("source"),
        "data_subject": resource["properties"].get("data_subject"),
        "action": loaded["action"]["name"],
        "purpose": context.get("purpose"),
        "at": context.get("time"),
    }
    try:
        return load_request({key: value for key, value in fields_.items() if value is not None})
    except Invalid as invalid:
        raise _Malformed([(f"{where}{_place(p.path)}", p.message) for p in invalid.problems]) from invalid


def _answer(decided: dict[str, Any], language: str) -> dict[str, Any]:
    """A native answer in AuthZEN's shape: the verdict, and in ``context`` what authreg says."""
    reasons = decided["reasons"]
    return {
        "decision": decided["decision"] == "allow",
        "context": {
            "id": decided["decision_id"],
            "decision_id": decided["decision_id"],
            "reasons": [reason["code"] for reason in reasons],
            "authorisation": decided["authorisation"],
            "flow": decided["flow"],
            "warnings": decided["warnings"],
            "obligations": decided["obligations"],
            "reason_admin": {language: "; ".join(f"{r['code']}: {r['message']}" for r in reasons)},
            "reason_user": {language: reasons[0]["message"] if reasons else ""},
        },
    }


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise _Malformed([("", "the body must be a JSON object")])
    return body


def _language(context: Any) -> str:
    chosen = context.get("language") if isinstance(context, dict) else None
    return chosen if chosen in ("en", "nl") else service().language


@blueprint.post("/access/v1/evaluation")
def evaluation() -> Any:
    """One access evaluation."""
    try:
        body = _body()
        asked = _native(body)
    except _Malformed as malformed:
        return _malformed(malformed)
    language = _language(body.get("context"))
    try:  # the day and the data subject are checked as the request is built
        decided = service().ask(asked, asked_by=caller().name, now=utcnow(), language=language)
    except Invalid as invalid:
        return _malformed(_Malformed([(_place(p.path), p.message) for p in invalid.problems]))
    return jsonify(_answer(decided, language))


@blueprint.post("/access/v1/evaluations")
def evaluations() -> Any:
    """Several evaluations; the top-level subject, resource, action and context are defaults
    each evaluation may override. ``options.evaluations_semantic``: ``execute_all`` (the
    default), ``deny_on_first_deny`` or ``permit_on_first_permit`` (evaluated in order, up to and
    including the first deny or permit; every evaluated one is logged, in one transaction)."""
    try:
        body = _body()
        top = _EVALUATIONS.load(body)
        defaults = {key: body[key] for key in ("subject", "resource", "action", "context") if key in body}
        items = top["evaluations"] or [{}]
        asked = [_native({**defaults, **item}, f"evaluations[{i}].") for i, item in enumerate(items)]
    except ValidationError as error:
        return _malformed(_Malformed(list(flatten_messages(error.messages))))
    except _Malformed as malformed:
        return _malformed(malformed)
    language = _language(body.get("context"))
    stop = {"deny_on_first_deny": "deny", "permit_on_first_permit": "allow"}.get(top["options"]["evaluations_semantic"])
    try:
        decided = service().ask_many(asked, asked_by=caller().name, now=utcnow(), stop_on=stop, language=language)
    except Invalid as invalid:
        return _malformed(_Malformed([(_place(p.path), p.message) for p in invalid.problems]))
    return jsonify({"evaluations": [_answer(one, language) for one in decided]})


def _place(path: str) -> str:
    """A native problem's path (``at``, ``requests[2].data_subject``) in AuthZEN's terms."""
    batch, dot, field = path.rpartition(".")
    place = PLACES.get(field, field)
    return f"{batch.replace('requests[', 'evaluations[')}{dot}{place}"


@blueprint.get("/.well-known/authzen-configuration")
def configuration() -> Response:
    """The metadata a client discovers the endpoints by (AuthZEN 1.0, section 9)."""
    base = request.host_url.rstrip("/")
    return jsonify(
        {
            "policy_decision_point": base,
            "access_evaluation_endpoint": f"{base}/access/v1/evaluation",
            "access_evaluations_endpoint": f"{base}/access/v1/evaluations",
        }
    )


def _malformed(malformed: _Malformed) -> Response:
    errors = [{"path": path, "message": message} for path, message in malformed.messages]
    detail = "; ".join(f"{path}: {message}" if path else message for path, message in malformed.messages)
    return problem(400, "Bad Request", detail, errors=errors)
