"""Deciding a request (DESIGN §3): Casbin gives the verdict; a diagnostic pass over the same
snapshot explains a denial by the closest candidate flow.

The request is built in ``requests``; why a flow does not grant is one rule per reason code in
``denial_rules``. ``decide`` is pure apart from reading the engine and filling its caches (the
snapshot's candidate flows, the allows a ``Granting`` keeps), under the engine's lock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Any, NamedTuple

from authreg.domain.conditions import ConditionSpec
from authreg.domain.denial_rules import Failure, asked, failing, fewest_failures, held_to
from authreg.domain.messages import Code, message, printf_templates
from authreg.domain.policy_engine import Granting, PolicyEngine
from authreg.domain.requests import DecisionRequest
from authreg.domain.snapshot import AuthorisationView, Candidate, FlowView, Snapshot

log = logging.getLogger(__name__)


class Verdict(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class Reason(NamedTuple):
    """A reason, warning or obligation, worded. Decisions are made on every data access: a
    named tuple is built several times faster than a frozen dataclass, and is as immutable."""

    code: Code
    message: str
    paragraphs: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "paragraphs": list(self.paragraphs)}


class Decision(NamedTuple):
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
    granting = engine.grant(request)
    if granting is not None:
        return _allow(granting, request, engine.snapshot.version, language)
    denial = explain(engine.snapshot, request, language)
    if denial.decision is not Verdict.DENY:
        log.error("Casbin denied what the diagnostic pass allows: %s", request.as_logged())
        return Decision(
            Verdict.DENY, None, None, (Reason(Code.INTERNAL_ERROR, message(Code.INTERNAL_ERROR, language)),)
        )
    return denial


def _allow(granting: Granting, request: DecisionRequest, version: int, language: str) -> Decision:
    """An allow names its flow and cites it. What does not depend on the day is one immutable
    ``Decision`` per flow, purpose and language, made once and handed out again; the one made
    last is kept in the ``Granting`` itself, where an allow finds it without a lookup (at
    10,000 authorisations every object an allow reads is a cache miss: this reads two where it
    read eight)."""
    allowed = granting.last
    if (
        allowed is None
        or allowed.registry_version != version
        or granting.last_purpose != request.purpose
        or granting.last_language != language
    ):
        allowed = _allowed(granting, request.purpose, language, version)
    if granting.has_conditions:
        overdue = granting.view.overdue_on(request.day, "flag")
        if overdue:
            warned = (*(_overdue_warning(granting.view, c, due, language) for c, due in overdue), *allowed.warnings)
            return allowed._replace(warnings=warned)
    return allowed


def _allowed(granting: Granting, purpose: str, language: str, version: int) -> Decision:
    """The allow through a flow for a purpose, in a language, without the day's warnings. A
    change of the authorisation makes a new ``Granting``, so one kept from another version of
    the registry differs from a new one only in the version it names."""
    key = (purpose, language)
    allowed: Decision | None = granting.worded.get(key)
    if allowed is None:
        reason, warnings, obligations = _fixed_parts(granting.view, granting.flow, purpose, language)
        allowed = Decision(
            Verdict.ALLOW, granting.authorisation, granting.flow_id, (reason,), warnings, obligations, version
        )
        granting.worded[key] = allowed
    elif allowed.registry_version != version:
        allowed = granting.worded[key] = allowed._replace(registry_version=version)
    granting.last, granting.last_purpose, granting.last_language = allowed, purpose, language
    return allowed


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


def _worded(
    failures: Sequence[Failure], candidate: Candidate, request: DecisionRequest, language: str
) -> tuple[Reason, ...]:
    """The failures of the closest candidate in words; the fields the templates draw on are
    gathered once for all of them (a failure's own, where it has some, on top: few have)."""
    fields = {
        "authorisation": candidate.authorisation,
        "flow": candidate.flow_id,
        "user": request.user,
        "organisation": request.organisation,
        "day": request.day_text,
        "category": request.data_category,
        "purpose": request.purpose,
        "action": request.action,
        "valid_from": candidate.valid_from_text,
        "valid_until": candidate.valid_until_text,
    }
    templates = printf_templates(language)
    reasons = []
    for code, paragraphs, own, wording in failures:
        text = templates[wording or code] % ({**fields, **dict(own)} if own else fields)
        reasons.append(Reason(code, text, paragraphs))
    return tuple(reasons)


def explain(snapshot: Snapshot, request: DecisionRequest, language: str = "en") -> Decision:
    """The diagnostic pass: why the closest candidate does not grant, or step 2's answer."""
    # step 1: the flows to the organisation or a group it belongs to, from ``source`` if given
    found = snapshot.candidates(request.organisation)
    among = found.by_source.get(request.source, 0) if request.source else found.every
    if not among:
        return Decision(
            Verdict.DENY, None, None, (_no_candidate(snapshot, request, language),), registry_version=snapshot.version
        )
    known = asked(snapshot, request)
    # the closest candidate: the fewest failures, then the latest flow, then by id, which is the
    # order of ``found`` (a tie goes to the earlier). Candidates are scored in the order of the
    # failures they have at least (``fewest_failures``), so the best so far is found early; one
    # that cannot beat it is cut off as soon as that shows (``failing``'s limit: as many
    # failures as the best for an earlier candidate, fewer for a later one), and once even the
    # least a candidate must fail is too many, so is every candidate after it
    at_least, naming, serving = fewest_failures(known, found, among)
    failures: list[Failure] | None = None
    closest = 0  # the bit of the best so far
    for least, level in enumerate(at_least):
        if failures is not None and least > len(failures):
            break  # even the least a candidate of this level must fail is too many
        while level:
            if failures is not None and least == len(failures):
                level &= closest - 1  # as many failures at least: only an earlier candidate can win
                if not level:
                    break
            bit = level & -level  # the candidates of a level in their order
            level ^= bit
            rules = held_to(known, naming & bit != 0, serving & bit != 0)
            limit = None if failures is None else len(failures) - (bit > closest)
            scored = failing(known, found.found[bit.bit_length() - 1], rules, limit)
            if scored is not None:  # within the limit: the closest so far
                failures, closest = scored, bit
    assert failures is not None  # the first candidate is always scored in full
    candidate = found.found[closest.bit_length() - 1]
    if not failures:
        return Decision(Verdict.ALLOW, candidate.authorisation, candidate.flow_id, (), (), (), snapshot.version)
    reasons = _worded(failures, candidate, request, language)
    return Decision(Verdict.DENY, candidate.authorisation, candidate.flow_id, reasons, (), (), snapshot.version)


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
