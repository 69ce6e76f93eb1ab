"""Deciding a request (DESIGN §3): Casbin gives the verdict; a diagnostic pass over the same
snapshot explains a denial by the closest candidate flow.

``parse_request`` turns input into a ``DecisionRequest`` or raises ``Invalid`` (malformed input
is an error, never a decision); ``decide`` is pure apart from reading the engine under its lock.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from registry.config import local_day
from registry.documents import flatten_messages
from registry.errors import Invalid, Problem
from registry.insz import InvalidInsz
from registry.lifecycle import IN_FORCE
from registry.messages import message
from registry.policy import PolicyEngine
from registry.snapshot import AuthorisationView, FlowView, Snapshot
from registry.subjects import SecretUnusable, subject_hash

log = logging.getLogger(__name__)
READ = "read"


class _RequestSchema(Schema):
    class Meta:
        unknown = "raise"

    user = fields.String(required=True, validate=validate.Length(min=1))
    organisation = fields.String(required=True, validate=validate.Length(min=1))
    action = fields.String(load_default=READ, validate=validate.Length(min=1))
    data_category = fields.String(required=True, validate=validate.Length(min=1))
    purpose = fields.String(required=True, validate=validate.Length(min=1))
    at = fields.String(load_default=None)
    source = fields.String(load_default=None)
    data_subject = fields.String(load_default=None)


_REQUEST = _RequestSchema()


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
    return text, local_day(moment, timezone)


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
    )


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    paragraphs: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "paragraphs": list(self.paragraphs)}


@dataclass(frozen=True)
class Decision:
    decision: str  # "allow" | "deny"
    authorisation: str | None
    flow: str | None
    reasons: tuple[Reason, ...]
    warnings: tuple[Reason, ...] = ()
    obligations: tuple[Reason, ...] = ()
    registry_version: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

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
        return Decision("deny", None, None, (Reason("internal-error", message("internal-error", language)),))


def _decide(engine: PolicyEngine, request: DecisionRequest, language: str) -> Decision:
    snapshot = engine.snapshot
    nrn = "yes" if request.subject or snapshot.needs_national_register_number(request.data_category) else "no"
    allowed, line = engine.enforcer.decide(
        request.user,
        request.organisation,
        request.data_category,
        request.purpose,
        request.action,
        request.day.isoformat(),
        nrn,
        request.source,
        request.subject,
    )
    if allowed:
        authorisation, flow_id = line[2].split("/", 1)
        view = snapshot.authorisations[authorisation]
        flow = next(f for f in view.flows if f.id == flow_id)
        return _allow(view, flow, request, snapshot.version, language)
    denial = explain(snapshot, request, language)
    if denial.decision != "deny":
        log.error("Casbin denied what the diagnostic pass allows: %s", request.as_logged())
        return Decision("deny", None, None, (Reason("internal-error", message("internal-error", language)),))
    return denial


def _allow(view: AuthorisationView, flow: FlowView, request: DecisionRequest, version: int, language: str) -> Decision:
    cited = tuple(sorted({*flow.paragraphs, *view.purpose_paragraphs.get(request.purpose, ())}))
    reason = Reason("allowed", message("allowed", language, flow=flow.id, authorisation=view.id), cited)
    warnings = [
        Reason(
            "condition-overdue",
            message("condition-overdue", language, condition=c.id, authorisation=view.id, due_on=c.due_on or c.every),
            c.paragraphs,
        )
        for c in view.overdue_on(request.day, "flag")
    ]
    if view.max_users is not None and len(view.users) > view.max_users:
        text = message(
            "max-users-exceeded", language, authorisation=view.id, users=len(view.users), max_users=view.max_users
        )
        warnings.append(Reason("max-users-exceeded", text, view.cites("max_users")))
    obligations = []
    if view.onward_disclosure:
        text = message("onward-disclosure", language, value=view.onward_disclosure)
        obligations.append(Reason("onward-disclosure", text, view.cites("onward_disclosure")))
    if view.retention_until:
        text = message("retention", language, until=view.retention_until.isoformat())
        obligations.append(Reason("retention", text, view.cites("retention_until")))
    return Decision("allow", view.id, flow.id, (reason,), tuple(warnings), tuple(obligations), version)


def candidates(snapshot: Snapshot, request: DecisionRequest) -> list[tuple[AuthorisationView, FlowView]]:
    """Step 1: flows to the organisation or a group it belongs to, from ``source`` if given."""
    found = []
    for target in (request.organisation, *sorted(snapshot.groups.get(request.organisation, ()))):
        for flow in snapshot.flows_to.get(target, ()):
            if not request.source or flow.source == request.source:
                found.append((snapshot.authorisations[flow.authorisation], flow))
    return found


def failing(
    snapshot: Snapshot, view: AuthorisationView, flow: FlowView, request: DecisionRequest, language: str
) -> list[Reason]:
    """Every rule of DESIGN §3 that this candidate breaks for the request."""
    day = request.day
    timeline = view.timeline
    fields_ = {
        "authorisation": view.id,
        "flow": flow.id,
        "user": request.user,
        "organisation": request.organisation,
        "day": day.isoformat(),
        "category": request.data_category,
        "purpose": request.purpose,
        "action": request.action,
        "valid_from": flow.valid_from,
        "valid_until": flow.valid_until,
    }
    reasons: list[Reason] = []

    def fail(code: str, paragraphs: tuple[int, ...] = (), **extra: Any) -> None:
        reasons.append(Reason(code, message(code, language, **fields_, **extra), paragraphs))

    listed = [u for u in view.users if u.id == request.user and u.organisation == request.organisation]
    if not listed:
        fail("user-not-authorised", view.cites("authorised_users"))
    elif not any(u.declaration_signed_on is not None and u.declaration_signed_on <= day for u in listed):
        fail("declaration-missing", view.cites("authorised_users"))
    if not set(snapshot.ancestors_or_self(request.data_category)) & set(flow.categories):
        fail("data-category-not-authorised", flow.paragraphs)
    if request.purpose not in flow.purposes:
        fail("purpose-not-authorised", view.cites("purposes") or flow.paragraphs)
    if request.action != READ:
        fail("action-not-authorised", flow.paragraphs)
    needs_number = bool(request.subject) or snapshot.needs_national_register_number(request.data_category)
    if needs_number and not flow.national_register_number:
        fail("national-register-number-not-authorised", flow.national_register_number_paragraphs or flow.paragraphs)
    if day < flow.valid_from:
        fail("not-yet-valid", view.cites("valid_from"))
    elif flow.valid_until is not None and day > flow.valid_until:
        fail("expired", view.cites("valid_until"))
    status = timeline.status_on(day)
    if status in ("suspended", "revoked"):
        fail(f"authorisation-{status}")
    if timeline.replaced_from is not None and day >= timeline.replaced_from:
        fail(
            "authorisation-replaced", replaced_by=", ".join(timeline.replaced_by), replaced_from=timeline.replaced_from
        )
    if timeline.state_on(day) == IN_FORCE:
        for condition in view.overdue_on(day, "suspend"):
            fail(
                "condition-overdue",
                condition.paragraphs,
                condition=condition.id,
                due_on=condition.due_on or condition.every,
            )
    gate = view.gate
    if gate is not None and request.subject:
        entry = view.sample_entry.get(request.subject)
        if entry is None or entry > day:
            fail("subject-not-in-communicated-sample", gate.paragraphs)
    return reasons


def explain(snapshot: Snapshot, request: DecisionRequest, language: str = "en") -> Decision:
    """The diagnostic pass: why the closest candidate does not grant, or step 2's answer."""
    found = candidates(snapshot, request)
    if not found:
        return Decision(
            "deny", None, None, (_no_candidate(snapshot, request, language),), registry_version=snapshot.version
        )
    scored = [(failing(snapshot, view, flow, request, language), view, flow) for view, flow in found]
    reasons, view, flow = min(scored, key=lambda s: (len(s[0]), -s[2].valid_from.toordinal(), s[1].id, s[2].id))
    if not reasons:
        return Decision("allow", view.id, flow.id, (), registry_version=snapshot.version)
    return Decision("deny", view.id, flow.id, tuple(reasons), registry_version=snapshot.version)


def _no_candidate(snapshot: Snapshot, request: DecisionRequest, language: str) -> Reason:
    organisation = request.organisation
    roles = snapshot.parties.get(organisation, {})
    processor_of = sorted(auth for auth, held in roles.items() if "processor" in held)
    if processor_of:
        view = snapshot.authorisations[processor_of[0]]
        text = message("processor-no-data-access", language, organisation=organisation, authorisation=view.id)
        return Reason("processor-no-data-access", text, view.party_paragraphs.get(organisation, ()))
    if roles:
        source = (
            f" from {request.source}"
            if request.source and language == "en"
            else (f" vanaf {request.source}" if request.source else "")
        )
        text = message("organisation-not-recipient", language, organisation=organisation, from_source=source)
        return Reason("organisation-not-recipient", text)
    return Reason("no-authorisation", message("no-authorisation", language, organisation=organisation))
