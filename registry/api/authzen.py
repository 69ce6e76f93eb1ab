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

The search endpoints (``/access/v1/search/subject``, ``/resource``, ``/action``) look for the
part a request leaves out, in the same mapping: the users (with their organisation) that may
read a category, the categories (with their discloser) a user may read, the actions a user may
take on a category. Candidates come from ``authreg access``'s listing and each is asked of
Casbin as the search would ask it, so a result is exactly a request that would be allowed (it is
not logged: nothing was read). Results are sorted and paged (``page.limit``, default 100, at
most 1000; ``page.token``); ``page.next_token`` is "" on the last page, and a token is refused
once the registry, the day or the search has changed (start again without one).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from authreg.api.access import caller
from authreg.api.context import current_policy, service
from authreg.api.problems import problem
from authreg.domain.access_map import Access
from authreg.domain.clock import utcnow
from authreg.domain.document_format import AnyId
from authreg.domain.documents import flatten_messages
from authreg.domain.errors import Invalid
from authreg.domain.policy_engine import PolicyEngine
from authreg.domain.requests import READ, load_request, parse_at
from authreg.services import access_report

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
    "subject_kind": "resource.properties.subject_kind",
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
        "subject_kind": resource["properties"].get("subject_kind"),
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
            "search_subject_endpoint": f"{base}/access/v1/search/subject",
            "search_resource_endpoint": f"{base}/access/v1/search/resource",
            "search_action_endpoint": f"{base}/access/v1/search/action",
        }
    )


def _malformed(malformed: _Malformed) -> Response:
    errors = [{"path": path, "message": message} for path, message in malformed.messages]
    detail = "; ".join(f"{path}: {message}" if path else message for path, message in malformed.messages)
    return problem(400, "Bad Request", detail, errors=errors)


PAGE_LIMIT, MAX_PAGE_LIMIT = 100, 1000
PERSONS_NOT_SEARCHED = "a search names no person: whether one may be looked at is an evaluation, which is logged"


class _SearchSubjectSchema(_Open):
    """A subject, a resource or an action of a search: its ids bounded as a request's are."""

    type = fields.String()
    id = AnyId()
    name = AnyId()
    properties = fields.Dict(load_default=dict)


class PageSchema(_Open):
    token = fields.String(validate=validate.Length(max=200))
    limit = fields.Integer(validate=validate.Range(1, MAX_PAGE_LIMIT))


class SearchSchema(_Open):
    subject = fields.Nested(_SearchSubjectSchema, required=True)
    resource = fields.Nested(_SearchSubjectSchema, required=True)
    action = fields.Nested(_SearchSubjectSchema, load_default=dict)
    context = fields.Dict(load_default=dict)
    page = fields.Nested(PageSchema, load_default=dict)


_SEARCH = SearchSchema()
# per search, the ids it needs and the one it looks for (which it must leave out); an action
# left out is "read", the only one there is
_SHAPES = {
    "subject": ({"resource.id"}, "subject.id"),
    "resource": ({"subject.id", "subject.properties.organisation"}, "resource.id"),
    "action": ({"subject.id", "subject.properties.organisation", "resource.id"}, "action.name"),
}
_TYPES = {"subject": "user", "resource": "data-category"}
_TEXTS = {  # where a search's optional texts are, and what they are to authreg
    "organisation": ("subject", "properties", "organisation"),
    "source": ("resource", "properties", "source"),
    "data_subject": ("resource", "properties", "data_subject"),  # refused: PERSONS_NOT_SEARCHED
    "subject_kind": ("resource", "properties", "subject_kind"),
    "purpose": ("context", "purpose"),
    "time": ("context", "time"),
}


def _search(body: dict[str, Any], looked_for: str) -> tuple[dict[str, Any], access_report.Search]:
    """The search, checked: AuthZEN's shape for the part looked for, the types and properties of
    the mapping (no person: ``PERSONS_NOT_SEARCHED``), and the day."""
    try:
        loaded = _SEARCH.load(body)
    except ValidationError as error:
        raise _Malformed(list(flatten_messages(error.messages))) from error
    texts = {name: _text(loaded, path) for name, path in _TEXTS.items()}
    given = {f"{part}.{key}" for part in ("subject", "resource", "action") for key in loaded[part]}
    given |= {".".join(_TEXTS[name]) for name, value in texts.items() if value is not None}
    needed, left_out = _SHAPES[looked_for]
    problems = [(path, "required") for path in sorted(needed - given)]
    problems += [(left_out, "not in a search for it")] if left_out in given else []
    problems += [
        (f"{part}.type", f"must be {kind!r}") for part, kind in _TYPES.items() if loaded[part].get("type") != kind
    ]
    problems += [(".".join(_TEXTS[name]), "not a text") for name, value in texts.items() if value is False]
    if texts["data_subject"] is not None:
        problems.append(("resource.properties.data_subject", PERSONS_NOT_SEARCHED))
    if problems:
        raise _Malformed(problems)
    try:
        _, day = parse_at(texts["time"], now=utcnow(), timezone=service().timezone)
    except Invalid as invalid:
        raise _Malformed([(_place(p.path), p.message) for p in invalid.problems]) from invalid
    return loaded, access_report.Search(
        day=day,
        action=None if looked_for == "action" else loaded["action"].get("name", READ),
        purpose=texts["purpose"],
        source=texts["source"],
        subject_kind=texts["subject_kind"] or "",
    )


def _text(loaded: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The text at ``path``, None where absent, False where it is not a text."""
    value: Any = loaded
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if value is None or isinstance(value, str) else False


Results = list[tuple[dict[str, Any], Access]]  # each result with a row it was found through
Found = Callable[[PolicyEngine, dict[str, Any], access_report.Search], Results]


def _searched(looked_for: str, find: Found) -> Any:
    """Run a search and answer one page of its sorted, distinct results. A result found only
    under a sample gate (for a person inside a communicated sample, whom an evaluation must
    name) says so: ``properties.sampled_persons_only``."""
    try:
        body = _body()
        loaded, search = _search(body, looked_for)
        policy = current_policy()
        with policy.lock:  # the results and the version their pages are tokened with agree
            gated: dict[str, bool] = {}
            for result, row in find(policy, loaded, search):
                key = json.dumps(result, sort_keys=True)
                gated[key] = gated.get(key, True) and row.sample_gate is not None
            version = policy.snapshot.version
        results = [_marked(json.loads(key), only) for key, only in sorted(gated.items())]
        asked = {key: value for key, value in body.items() if key != "page"}
        return jsonify(_paged(results, loaded["page"], version, looked_for, search, asked))
    except _Malformed as malformed:
        return _malformed(malformed)


def _marked(result: dict[str, Any], sampled_only: bool) -> dict[str, Any]:
    """The result, saying so where it holds only for a person inside a communicated sample."""
    if sampled_only:
        result["properties"] = {**result.get("properties", {}), "sampled_persons_only": True}
    return result


def _paged(
    results: list[Any], page: dict[str, Any], version: int, looked_for: str, search: Any, asked: Any
) -> dict[str, Any]:
    limit = page.get("limit", PAGE_LIMIT)
    printed = json.dumps([looked_for, version, str(search.day), asked], sort_keys=True)
    fingerprint = hashlib.sha256(printed.encode()).hexdigest()
    start = _offset(page["token"], fingerprint) if page.get("token") else 0
    end = start + limit
    shown = results[start:end]
    next_token = base64.urlsafe_b64encode(f"{end}:{fingerprint[:32]}".encode()).decode() if end < len(results) else ""
    return {"results": shown, "page": {"next_token": next_token, "count": len(shown), "total": len(results)}}


def _offset(token: str, fingerprint: str) -> int:
    try:
        offset, _, printed = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if printed == fingerprint[:32] and offset.isdigit():
            return int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise _Malformed([("page.token", "not a token of this search, or the registry or the day changed: start again")])


@blueprint.post("/access/v1/search/subject")
def search_subject() -> Any:
    """The users (with their organisation) that may read the resource's category."""

    def find(policy: PolicyEngine, loaded: dict[str, Any], search: access_report.Search) -> Results:
        organisation = loaded["subject"]["properties"].get("organisation")
        rows = access_report.subjects(policy, search, loaded["resource"]["id"], organisation)
        return [(_user(row), row) for row in rows]

    return _searched("subject", find)


@blueprint.post("/access/v1/search/resource")
def search_resource() -> Any:
    """The categories (with their discloser) the subject may read."""

    def find(policy: PolicyEngine, loaded: dict[str, Any], search: access_report.Search) -> Results:
        rows = _of_subject(policy, loaded, search)
        return [(_category(row), row) for row in rows]

    return _searched("resource", find)


@blueprint.post("/access/v1/search/action")
def search_action() -> Any:
    """The actions the subject may take on the resource's category."""

    def find(policy: PolicyEngine, loaded: dict[str, Any], search: access_report.Search) -> Results:
        rows = [row for row in _of_subject(policy, loaded, search) if row.category == loaded["resource"]["id"]]
        return [({"name": row.action}, row) for row in rows]

    return _searched("action", find)


def _user(row: Access) -> dict[str, Any]:
    return {"type": "user", "id": row.user, "properties": {"organisation": row.organisation}}


def _category(row: Access) -> dict[str, Any]:
    return {"type": "data-category", "id": row.category, "properties": {"source": row.source}}


def _of_subject(policy: PolicyEngine, loaded: dict[str, Any], search: access_report.Search) -> list[Access]:
    subject = loaded["subject"]
    return access_report.resources(policy, search, subject["id"], subject["properties"]["organisation"])
