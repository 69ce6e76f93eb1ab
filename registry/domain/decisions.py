"""Deciding a request (DESIGN §3): Casbin gives the verdict; a diagnostic pass over the same
snapshot explains a denial by the closest candidate flow.

``parse_request`` turns input into a ``DecisionRequest`` or raises ``Invalid`` (malformed input
is an error, never a decision); ``decide`` is pure apart from reading the engine under its lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

from marshmallow import Schema, ValidationError

from authreg.domain.clock import local_day
from authreg.domain.conditions import ConditionSpec
from authreg.domain.document_format import MAX_ID_LENGTH, MAX_MOMENT_LENGTH, AnyId, BoundedText
from authreg.domain.documents import flatten_messages
from authreg.domain.errors import Invalid, Problem
from authreg.domain.insz import InvalidInsz
from authreg.domain.lifecycle import IN_FORCE
from authreg.domain.messages import Code, message
from authreg.domain.policy_engine import Granting, PolicyEngine
from authreg.domain.snapshot import AuthorisationView, FlowView, Snapshot
from authreg.domain.subjects import SecretUnusable, subject_hash

log = logging.getLogger(__name__)
READ = "read"


class Verdict(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class RequestSchema(Schema):
    """A decision request (DESIGN §3), as the CLI and the HTTP API take it. Every field but
    ``at`` and ``data_subject`` names an id, so it is bounded as ids are; what is asked is logged."""

    class Meta:
        unknown = "raise"

    user = AnyId(required=True)
    organisation = AnyId(required=True)
    action = AnyId(load_default=READ)
    data_category = AnyId(required=True)
    purpose = AnyId(required=True)
    at = BoundedText(MAX_MOMENT_LENGTH, load_default=None)
    source = BoundedText(MAX_ID_LENGTH, load_default=None)
    data_subject = BoundedText(MAX_ID_LENGTH, load_default=None)
    subject_kind = AnyId(load_default=None)


_REQUEST = RequestSchema()


@dataclass(frozen=True)
class DecisionRequest:
    user: str
    organisation: str
    data_category: str
    purpose: str
    action: str
    at: str  # as asked (ISO date or datetime), for the audit log
    day: date  # the calendar day in the legal time zone
    source: str = ""
    subject: str = ""  # keyed hash of the INSZ, never the INSZ itself
    subject_kind: str = ""  # the kind of person (a data-subjects id), when the caller says

    @cached_property
    def day_text(self) -> str:
        return self.day.isoformat()

    def as_logged(self) -> dict[str, str]:
        logged = {
            "user": self.user,
            "organisation": self.organisation,
            "action": self.action,
            "data_category": self.data_category,
            "purpose": self.purpose,
            "at": self.at,
        }
        if self.source:
            logged["source"] = self.source
        if self.subject:
            logged["data_subject_hash"] = self.subject
        if self.subject_kind:
            logged["subject_kind"] = self.subject_kind
        return logged


def parse_at(text: str | None, *, now: datetime, timezone: str) -> tuple[str, date]:
    """A date is that day; a datetime (UTC when it has no offset) is converted to the legal
    time zone and its calendar date is used."""
    if text is None:
        return now.isoformat(), local_day(now, timezone)
    try:
        if len(text) == 10:
            return text, date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid([Problem("", "at", f"not an ISO 8601 date or datetime: {text!r}")]) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return text, local_day(moment, timezone)
    except OverflowError as exc:  # 9999-12-31T23:59:59-12:00 is a day past the last date there is
        raise Invalid([Problem("", "at", f"outside the calendar in {timezone}: {text!r}")]) from exc


def parse_request(data: Any, *, now: datetime, timezone: str, secret: str | None) -> DecisionRequest:
    try:
        loaded = _REQUEST.load(data)
    except ValidationError as exc:
        raise Invalid([Problem("", path, msg) for path, msg in flatten_messages(exc.messages)]) from exc
    at, day = parse_at(loaded["at"], now=now, timezone=timezone)
    subject = ""
    if loaded["data_subject"] is not None:
        if secret is None:
            raise SecretUnusable("no usable secret key to hash the data subject with; see AUTHREG_SECRET_KEY")
        try:
            subject = subject_hash(loaded["data_subject"], secret)
        except InvalidInsz as exc:
            raise Invalid([Problem("", "data_subject", str(exc))]) from exc
    return DecisionRequest(
        user=loaded["user"],
        organisation=loaded["organisation"],
        data_category=loaded["data_category"],
        purpose=loaded["purpose"],
        action=loaded["action"],
        at=at,
        day=day,
        source=loaded["source"] or "",
        subject=subject,
        subject_kind=loaded["subject_kind"] or "",
    )


@dataclass(frozen=True)
class Reason:
    code: Code
    message: str
    paragraphs: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "paragraphs": list(self.paragraphs)}


@dataclass(frozen=True)
class Decision:
    decision: Verdict
    authorisation: str | None
    flow: str | None
    reasons: tuple[Reason, ...]
    warnings: tuple[Reason, ...] = ()
    obligations: tuple[Reason, ...] = ()
    registry_version: int = 0

    @property
    def allowed(self) -> bool:
        return self.decision is Verdict.ALLOW

    def as_dict(self, decision_id: str) -> dict[str, Any]:
        """The JSON shape of ``authreg check --format json`` and ``POST /decisions``."""
        return {
            "decision": self.decision,
            "authorisation": self.authorisation,
            "flow": self.flow,
            "reasons": [r.as_dict() for r in self.reasons],
            "warnings": [w.as_dict() for w in self.warnings],
            "obligations": [o.as_dict() for o in self.obligations],
            "decision_id": decision_id,
        }


def decide(engine: PolicyEngine, request: DecisionRequest, language: str = "en") -> Decision:
    """Allow or deny, with reasons; any internal fault denies."""
    try:
        with engine.lock:
            return _decide(engine, request, language)
    except Exception:
        log.exception("decision failed; denying")
        return Decision(
            Verdict.DENY, None, None, (Reason(Code.INTERNAL_ERROR, message(Code.INTERNAL_ERROR, language)),)
        )


def _decide(engine: PolicyEngine, request: DecisionRequest, language: str) -> Decision:
    snapshot = engine.snapshot
    nrn = "yes" if needs_number(snapshot, request) else "no"
    allowed, line = engine.enforcer.decide(
        request.user,
        request.organisation,
        request.data_category,
        request.purpose,
        request.action,
        request.day_text,
        nrn,
        request.source,
        request.subject,
        request.subject_kind,
    )
    if allowed:
        return _allow(engine.flows[line[2]], request, snapshot.version, language)
    denial = explain(snapshot, request, language)
    if denial.decision is not Verdict.DENY:
        log.error("Casbin denied what the diagnostic pass allows: %s", request.as_logged())
        return Decision(
            Verdict.DENY, None, None, (Reason(Code.INTERNAL_ERROR, message(Code.INTERNAL_ERROR, language)),)
        )
    return denial


def _allow(granting: Granting, request: DecisionRequest, version: int, language: str) -> Decision:
    """An allow names its flow and cites it; what does not depend on the day is worded once per
    flow, purpose and language (a change of the authorisation starts afresh)."""
    key = (request.purpose, language)
    fixed = granting.worded.get(key)
    if fixed is None:
        fixed = granting.worded[key] = _fixed_parts(granting.view, granting.flow, request.purpose, language)
    reason, warnings, obligations = fixed
    if granting.has_conditions:
        overdue = granting.view.overdue_on(request.day, "flag")
        if overdue:
            warnings = (*(_overdue_warning(granting.view, c, due, language) for c, due in overdue), *warnings)
    return Decision(Verdict.ALLOW, granting.authorisation, granting.flow_id, (reason,), warnings, obligations, version)


def _overdue_warning(view: AuthorisationView, condition: ConditionSpec, due: date, language: str) -> Reason:
    text = message(Code.CONDITION_OVERDUE, language, condition=condition.id, authorisation=view.id, due_on=due)
    return Reason(Code.CONDITION_OVERDUE, text, condition.paragraphs)


def _fixed_parts(
    view: AuthorisationView, flow: FlowView, purpose: str, language: str
) -> tuple[Reason, tuple[Reason, ...], tuple[Reason, ...]]:
    cited = tuple(sorted({*flow.paragraphs, *view.purpose_paragraphs.get(purpose, ())}))
    reason = Reason(Code.ALLOWED, message(Code.ALLOWED, language, flow=flow.id, authorisation=view.id), cited)
    warnings = []
    if view.max_users is not None and len(view.users) > view.max_users:
        count = len(view.users)
        text = message(Code.MAX_USERS_EXCEEDED, language, authorisation=view.id, users=count, max_users=view.max_users)
        warnings.append(Reason(Code.MAX_USERS_EXCEEDED, text, view.cites("max_users")))
    obligations = []
    if view.onward_disclosure:
        text = message(Code.ONWARD_DISCLOSURE, language, value=view.onward_disclosure)
        obligations.append(Reason(Code.ONWARD_DISCLOSURE, text, view.cites("onward_disclosure")))
        for exception in view.onward_exceptions:
            text = message(
                Code.ONWARD_DISCLOSURE_EXCEPTION, language, to=exception.to, description=exception.description
            )
            cited = exception.paragraphs or view.cites("onward_disclosure")
            obligations.append(Reason(Code.ONWARD_DISCLOSURE_EXCEPTION, text, cited))
    if view.retention_until:
        text = message(Code.RETENTION, language, until=view.retention_until.isoformat())
        obligations.append(Reason(Code.RETENTION, text, view.cites("retention_until")))
    return reason, tuple(warnings), tuple(obligations)


def candidates(snapshot: Snapshot, request: DecisionRequest) -> list[tuple[AuthorisationView, FlowView]]:
    """Step 1: flows to the organisation or a group it belongs to, from ``source`` if given."""
    found = []
    for target in (request.organisation, *sorted(snapshot.groups.get(request.organisation, ()))):
        for flow in snapshot.flows_to.get(target, ()):
            if not request.source or flow.source == request.source:
                found.append((snapshot.authorisations[flow.authorisation], flow))
    return found


@dataclass(frozen=True)
class Failure:
    """A broken rule, not yet put into words: the diagnostic pass scores every candidate by
    its failures and words only those of the closest."""

    code: Code
    paragraphs: tuple[int, ...] = ()
    fields: tuple[tuple[str, Any], ...] = ()
    wording: str = ""  # the message template, when not the code's own


@dataclass(frozen=True)
class _Asked:
    """What the rules need to know of a request once, not once per candidate."""

    request: DecisionRequest
    categories: frozenset[str]  # the category and its ancestors
    needs_number: bool


def needs_number(snapshot: Snapshot, request: DecisionRequest) -> bool:
    """A request about a named person, or for a category holding the national register number."""
    return bool(request.subject) or snapshot.needs_national_register_number(request.data_category)


def _asked(snapshot: Snapshot, request: DecisionRequest) -> _Asked:
    ancestors = frozenset(snapshot.ancestors_or_self(request.data_category))
    return _Asked(request, ancestors, needs_number(snapshot, request))


def failing(asked: _Asked, view: AuthorisationView, flow: FlowView) -> list[Failure]:
    """Every rule of DESIGN §3 that this candidate breaks for the request."""
    request = asked.request
    day = request.day
    timeline = view.timeline
    failures: list[Failure] = []
    user = view.user_index.get((request.user, request.organisation))
    if user is None:
        failures.append(Failure(Code.USER_NOT_AUTHORISED, view.cites("authorised_users")))
    elif user.declaration_signed_on is None or user.declaration_signed_on > day:
        failures.append(Failure(Code.DECLARATION_MISSING, view.cites("authorised_users")))
    if not asked.categories.intersection(flow.categories):
        failures.append(Failure(Code.DATA_CATEGORY_NOT_AUTHORISED, flow.paragraphs))
    if request.purpose not in flow.purposes:
        failures.append(Failure(Code.PURPOSE_NOT_AUTHORISED, view.cites("purposes") or flow.paragraphs))
    if request.action != READ:
        failures.append(Failure(Code.ACTION_NOT_AUTHORISED, flow.paragraphs))
    if asked.needs_number and not flow.national_register_number:
        cited = flow.national_register_number_paragraphs or flow.paragraphs
        failures.append(Failure(Code.NATIONAL_REGISTER_NUMBER_NOT_AUTHORISED, cited))
    elif asked.needs_number and user is not None and not view.may_use_number(user):
        failures.append(
            Failure(
                Code.NATIONAL_REGISTER_NUMBER_NOT_AUTHORISED,
                view.cites("authorised_users"),
                wording="national-register-number-not-listed",
            )
        )
    if request.subject_kind and request.subject_kind not in flow.data_subjects:
        failures.append(
            Failure(Code.DATA_SUBJECT_KIND_NOT_AUTHORISED, flow.paragraphs, (("kind", request.subject_kind),))
        )
    if day < flow.valid_from:
        failures.append(Failure(Code.NOT_YET_VALID, view.cites("valid_from")))
    elif flow.valid_until is not None and day > flow.valid_until:
        failures.append(Failure(Code.EXPIRED, view.cites("valid_until")))
    status = timeline.status_on(day)
    if status in ("suspended", "revoked"):
        failures.append(Failure(Code(f"authorisation-{status}")))
    if timeline.replaced_from is not None and day >= timeline.replaced_from:
        replaced = (("replaced_by", ", ".join(timeline.replaced_by)), ("replaced_from", timeline.replaced_from))
        failures.append(Failure(Code.AUTHORISATION_REPLACED, (), replaced))
    if timeline.state_on(day) == IN_FORCE:
        for condition, due in view.overdue_on(day, "suspend"):
            failures.append(
                Failure(Code.CONDITION_OVERDUE, condition.paragraphs, (("condition", condition.id), ("due_on", due)))
            )
    gate = view.gate
    if gate is not None and gate.gates(request.purpose):
        entry = view.sample_entry.get(request.subject) if request.subject else None
        if not request.subject:
            failures.append(Failure(Code.DATA_SUBJECT_REQUIRED, gate.paragraphs))
        elif entry is None or entry > day:
            failures.append(Failure(Code.SUBJECT_NOT_IN_COMMUNICATED_SAMPLE, gate.paragraphs))
    return failures


def _worded(
    failure: Failure, view: AuthorisationView, flow: FlowView, request: DecisionRequest, language: str
) -> Reason:
    fields_ = {
        "authorisation": view.id,
        "flow": flow.id,
        "user": request.user,
        "organisation": request.organisation,
        "day": request.day.isoformat(),
        "category": request.data_category,
        "purpose": request.purpose,
        "action": request.action,
        "valid_from": flow.valid_from,
        "valid_until": flow.valid_until,
        **dict(failure.fields),
    }
    return Reason(failure.code, message(failure.wording or failure.code, language, **fields_), failure.paragraphs)


def explain(snapshot: Snapshot, request: DecisionRequest, language: str = "en") -> Decision:
    """The diagnostic pass: why the closest candidate does not grant, or step 2's answer."""
    found = candidates(snapshot, request)
    if not found:
        return Decision(
            Verdict.DENY, None, None, (_no_candidate(snapshot, request, language),), registry_version=snapshot.version
        )
    asked = _asked(snapshot, request)
    scored = [(failing(asked, view, flow), view, flow) for view, flow in found]
    failures, view, flow = min(scored, key=lambda s: (len(s[0]), -s[2].valid_from.toordinal(), s[1].id, s[2].id))
    if not failures:
        return Decision(Verdict.ALLOW, view.id, flow.id, (), registry_version=snapshot.version)
    reasons = tuple(_worded(failure, view, flow, request, language) for failure in failures)
    return Decision(Verdict.DENY, view.id, flow.id, reasons, registry_version=snapshot.version)


def _no_candidate(snapshot: Snapshot, request: DecisionRequest, language: str) -> Reason:
    organisation = request.organisation
    roles = snapshot.parties.get(organisation, {})
    processor_of = sorted(auth for auth, held in roles.items() if "processor" in held)
    if processor_of:
        view = snapshot.authorisations[processor_of[0]]
        text = message(Code.PROCESSOR_NO_DATA_ACCESS, language, organisation=organisation, authorisation=view.id)
        return Reason(Code.PROCESSOR_NO_DATA_ACCESS, text, view.party_paragraphs.get(organisation, ()))
    if roles:
        source = message("from-source", language, source=request.source) if request.source else ""
        text = message(Code.ORGANISATION_NOT_RECIPIENT, language, organisation=organisation, from_source=source)
        return Reason(Code.ORGANISATION_NOT_RECIPIENT, text)
    return Reason(Code.NO_AUTHORISATION, message(Code.NO_AUTHORISATION, language, organisation=organisation))
