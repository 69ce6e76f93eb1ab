"""Why a flow does not grant a request: one rule per reason code (DESIGN §3), beside the compiler
(``policy_engine``) that puts the same rules into Casbin's policy lines.

Casbin decides; these rules explain. The diagnostic pass (``decisions.explain``) runs every rule
over every candidate flow and words the failures of the closest one, so changing what a code
means is a change to its rule here and to its column in ``policy_engine.compile_lines``; the
property tests hold the two against each other and against ``tests/reference.py``.

A rule returns the failures it finds (most find one or none): a tuple, cheaper than a generator
on the path every denial takes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authreg.domain.lifecycle import IN_FORCE
from authreg.domain.messages import Code
from authreg.domain.requests import READ, DecisionRequest, needs_number
from authreg.domain.snapshot import AuthorisationView, FlowView, Snapshot, UserView


@dataclass(frozen=True)
class Failure:
    """A broken rule, not yet put into words: the diagnostic pass scores every candidate by
    its failures and words only those of the closest."""

    code: Code
    paragraphs: tuple[int, ...] = ()
    fields: tuple[tuple[str, Any], ...] = ()
    wording: str = ""  # the message template, when not the code's own


@dataclass(frozen=True)
class Asked:
    """What the rules need to know of a request once, not once per candidate."""

    request: DecisionRequest
    categories: frozenset[str]  # the category and its ancestors
    needs_number: bool


def asked(snapshot: Snapshot, request: DecisionRequest) -> Asked:
    ancestors = frozenset(snapshot.ancestors_or_self(request.data_category))
    return Asked(request, ancestors, needs_number(snapshot, request))


@dataclass(frozen=True)
class Candidate:
    """A flow held against a request: its authorisation, and the asking user's entry there."""

    view: AuthorisationView
    flow: FlowView
    user: UserView | None


Found = tuple[Failure, ...]
NONE: Found = ()


def user_not_authorised(asked: Asked, candidate: Candidate) -> Found:
    if candidate.user is None:
        return (Failure(Code.USER_NOT_AUTHORISED, candidate.view.cites("authorised_users")),)
    return NONE


def declaration_missing(asked: Asked, candidate: Candidate) -> Found:
    """A listed user may look only from the day of their declaration of honour (§79)."""
    user = candidate.user
    if user is not None and (user.declaration_signed_on is None or user.declaration_signed_on > asked.request.day):
        return (Failure(Code.DECLARATION_MISSING, candidate.view.cites("authorised_users")),)
    return NONE


def data_category_not_authorised(asked: Asked, candidate: Candidate) -> Found:
    """The category, or a broader one it falls under, must be one the flow names."""
    if not asked.categories.intersection(candidate.flow.categories):
        return (Failure(Code.DATA_CATEGORY_NOT_AUTHORISED, candidate.flow.paragraphs),)
    return NONE


def purpose_not_authorised(asked: Asked, candidate: Candidate) -> Found:
    if asked.request.purpose not in candidate.flow.purposes:
        return (Failure(Code.PURPOSE_NOT_AUTHORISED, candidate.view.cites("purposes") or candidate.flow.paragraphs),)
    return NONE


def action_not_authorised(asked: Asked, candidate: Candidate) -> Found:
    if asked.request.action != READ:
        return (Failure(Code.ACTION_NOT_AUTHORISED, candidate.flow.paragraphs),)
    return NONE


def national_register_number_not_authorised(asked: Asked, candidate: Candidate) -> Found:
    """A request about a person, or for a number category, needs a flow that may use the number
    and, where the authorisation keeps a list of who may (§79-80), a user on it."""
    if not asked.needs_number:
        return NONE
    flow, view, user = candidate.flow, candidate.view, candidate.user
    if not flow.national_register_number:
        cited = flow.national_register_number_paragraphs or flow.paragraphs
        return (Failure(Code.NATIONAL_REGISTER_NUMBER_NOT_AUTHORISED, cited),)
    if user is not None and not view.may_use_number(user):
        wording = "national-register-number-not-listed"
        cited = view.cites("authorised_users")
        return (Failure(Code.NATIONAL_REGISTER_NUMBER_NOT_AUTHORISED, cited, wording=wording),)
    return NONE


def data_subject_kind_not_authorised(asked: Asked, candidate: Candidate) -> Found:
    kind = asked.request.subject_kind
    if kind and kind not in candidate.flow.data_subjects:
        return (Failure(Code.DATA_SUBJECT_KIND_NOT_AUTHORISED, candidate.flow.paragraphs, (("kind", kind),)),)
    return NONE


def not_yet_valid(asked: Asked, candidate: Candidate) -> Found:
    if asked.request.day < candidate.flow.valid_from:
        return (Failure(Code.NOT_YET_VALID, candidate.view.cites("valid_from")),)
    return NONE


def expired(asked: Asked, candidate: Candidate) -> Found:
    """Past the flow's end; a day also before its start is only ``not-yet-valid`` (documents
    stored before a flow had to start within its authorisation's window can hold such a flow)."""
    flow, day = candidate.flow, asked.request.day
    if flow.valid_until is not None and day > flow.valid_until and day >= flow.valid_from:
        return (Failure(Code.EXPIRED, candidate.view.cites("valid_until")),)
    return NONE


def authorisation_suspended(asked: Asked, candidate: Candidate) -> Found:
    if candidate.view.timeline.status_on(asked.request.day) == "suspended":
        return (Failure(Code.AUTHORISATION_SUSPENDED),)
    return NONE


def authorisation_revoked(asked: Asked, candidate: Candidate) -> Found:
    if candidate.view.timeline.status_on(asked.request.day) == "revoked":
        return (Failure(Code.AUTHORISATION_REVOKED),)
    return NONE


def authorisation_replaced(asked: Asked, candidate: Candidate) -> Found:
    timeline = candidate.view.timeline
    if timeline.replaced_from is not None and asked.request.day >= timeline.replaced_from:
        replaced = (("replaced_by", ", ".join(timeline.replaced_by)), ("replaced_from", timeline.replaced_from))
        return (Failure(Code.AUTHORISATION_REPLACED, (), replaced),)
    return NONE


def condition_overdue(asked: Asked, candidate: Candidate) -> Found:
    """An overdue condition whose consequence is ``suspend`` denies while the authorisation is
    otherwise in force (one failure per such condition, naming the day it was due)."""
    view, day = candidate.view, asked.request.day
    if view.timeline.state_on(day) != IN_FORCE:
        return NONE
    return tuple(
        Failure(Code.CONDITION_OVERDUE, condition.paragraphs, (("condition", condition.id), ("due_on", due)))
        for condition, due in view.overdue_on(day, "suspend")
    )


def data_subject_required(asked: Asked, candidate: Candidate) -> Found:
    """Under a sample-gate (§90-92) a request for a gated purpose must name the person."""
    gate = candidate.view.gate
    if gate is not None and gate.gates(asked.request.purpose) and not asked.request.subject:
        return (Failure(Code.DATA_SUBJECT_REQUIRED, gate.paragraphs),)
    return NONE


def subject_not_in_communicated_sample(asked: Asked, candidate: Candidate) -> Found:
    """... and that person must be in a sample communicated to the consultants by that day."""
    gate, request = candidate.view.gate, asked.request
    if gate is None or not gate.gates(request.purpose) or not request.subject:
        return NONE
    entry = candidate.view.sample_entry.get(request.subject)
    if entry is None or entry > request.day:
        return (Failure(Code.SUBJECT_NOT_IN_COMMUNICATED_SAMPLE, gate.paragraphs),)
    return NONE


# In the order their reasons are listed in a denial.
RULES: tuple[Callable[[Asked, Candidate], Found], ...] = (
    user_not_authorised,
    declaration_missing,
    data_category_not_authorised,
    purpose_not_authorised,
    action_not_authorised,
    national_register_number_not_authorised,
    data_subject_kind_not_authorised,
    not_yet_valid,
    expired,
    authorisation_suspended,
    authorisation_revoked,
    authorisation_replaced,
    condition_overdue,
    data_subject_required,
    subject_not_in_communicated_sample,
)


def failing(asked: Asked, view: AuthorisationView, flow: FlowView) -> list[Failure]:
    """Every rule of DESIGN §3 that this candidate breaks for the request."""
    request = asked.request
    candidate = Candidate(view, flow, view.user_index.get((request.user, request.organisation)))
    return [failure for rule in RULES for failure in rule(asked, candidate)]
