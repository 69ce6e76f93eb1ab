"""Why a flow does not grant a request: one rule per reason code (DESIGN §3; two codes that
exclude each other, such as ``not-yet-valid`` and ``expired``, are one rule, as they are one rule
number in docs/decisions.md), beside the compiler (``policy_engine``) that puts the same rules
into Casbin's policy lines.

Casbin decides; these rules explain. The diagnostic pass (``decisions.explain``) holds the
candidate flows to the rules and words the failures of the closest one, so changing what a code
means is a change to its rule here and to its column in ``policy_engine.compile_lines``; the
property tests hold the two against each other and against ``tests/reference.py``. A rule that
cannot fail is not run: for a request, the rules of another action than read, of the number and
of a kind of person (``asked``; each begins by checking what that selection checks); for a
candidate, the category's and the purpose's rules where its masks say it names the category and
serves the purpose (``fewest_failures``); and for an authorisation that cannot lapse
(``AuthorisationView.can_lapse``, which checks what each of ``LAPSES`` needs to find anything),
the rules after the flow's window.

A rule takes the request (``Asked``), the candidate flow (``Candidate``: what the rules read on
their common paths, in one record, with the authorisation and the flow at hand for the rest),
and the asking user's entry there (None when the authorisation does not list the user), and
returns the failures it finds (most find one or none): a tuple, cheaper than a generator on the
path every denial takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from authreg.domain.lifecycle import IN_FORCE
from authreg.domain.messages import Code
from authreg.domain.requests import READ, DecisionRequest, needs_number
from authreg.domain.snapshot import Candidate, Candidates, Snapshot, UserView


class Failure(NamedTuple):
    """A broken rule, not yet put into words: the diagnostic pass scores every candidate by
    its failures and words only those of the closest."""

    code: Code
    paragraphs: tuple[int, ...] = ()
    fields: tuple[tuple[str, Any], ...] = ()
    wording: str = ""  # the message template, when not the code's own


class Asked(NamedTuple):
    """What the rules need to know of a request once, not once per candidate (a named tuple:
    made on every denial, several times faster than a frozen dataclass)."""

    request: DecisionRequest
    category_bits: int  # the category and its ancestors, as bits of ``Snapshot.category_bits``
    needs_number: bool
    # what a candidate is held to, by whether it names the category (2) and serves the purpose
    # (1): ``held_to``; ``failing`` adds ``LAPSES`` for some
    rules: tuple[tuple[Rule, ...], ...]


def asked(snapshot: Snapshot, request: DecisionRequest) -> Asked:
    numbered = needs_number(snapshot, request)
    rules = _HELD_TO[(request.action != READ) << 2 | numbered << 1 | bool(request.subject_kind)]
    return Asked(request, snapshot.ancestry_bits.get(request.data_category, 0), numbered, rules)


Found = tuple[Failure, ...]
NONE: Found = ()
Rule = Callable[["Asked", Candidate, UserView | None], Found]


def user_not_authorised(asked: Asked, candidate: Candidate, user: UserView | None) -> Found:
    """``user-not-authorised``: the authorisation does not list the user for the organisation;
    else ``declaration-missing``: a listed user may look only from the day of their declaration
    of honour (§78-79)."""
    if user is None:
        return (Failure(Code.USER_NOT_AUTHORISED, candidate.users_cited),)
    signed = user.declaration_signed_on
    if signed is None or signed > asked.request.day:
        return (Failure(Code.DECLARATION_MISSING, candidate.users_cited),)
    return NONE


def data_category_not_authorised(asked: Asked, candidate: Candidate, user: UserView | None) -> Found:
    """The category, or a broader one it falls under, must be one the flow names (the bits of
    the category and its ancestors against the flow's)."""
    if not asked.category_bits & candidate.categories:
        return (Failure(Code.DATA_CATEGORY_NOT_AUTHORISED, candidate.paragraphs),)
    return NONE


def purpose_not_authorised(asked: Asked, candidate: Candidate, user: UserView | None) -> Found:
    if asked.request.purpose not in candidate.purposes:
        return (Failure(Code.PURPOSE_NOT_AUTHORISED, candidate.purposes_cited),)
    return NONE


Bounds = tuple[tuple[int, int, int, int], int, int]


def fewest_failures(asked: Asked, found: Candidates, among: int) -> Bounds:
    """Masks over an organisation's candidates ``among`` (``Candidates``): those for which
    ``failing`` will find at least 0, 1, 2 and 3 failures, from the three rules that cost a
    lookup each (the user is not listed, the category and the purpose are not the flow's), each
    of which fails once; then which candidates name the category, and which serve the purpose,
    whose rules need not run. The diagnostic pass scores candidates in that order and stops
    where the least a candidate must fail exceeds the closest one's failures. (A plain tuple:
    made on every denial.)"""
    request = asked.request
    listing = found.by_user.get(request.user, 0)
    naming = found.naming(request.data_category, asked.category_bits)
    serving = found.by_purpose.get(request.purpose, 0)
    three = listing & naming & serving
    two = (listing & naming) | (listing & serving) | (naming & serving)
    one = listing | naming | serving
    return (three & among, two & ~three & among, one & ~two & among, among & ~one), naming, serving


def held_to(asked: Asked, names_category: bool, serves_purpose: bool) -> tuple[Rule, ...]:
    """The rules a candidate is held to (see ``Asked.rules``)."""
    return asked.rules[names_category << 1 | serves_purpose]


def action_not_authorised(asked: Asked, candidate: Candidate, user: UserView | None) -> Found:
    if asked.request.action != READ:
        return (Failure(Code.ACTION_NOT_AUTHORISED, candidate.paragraphs),)
    return NONE


def national_register_number_not_authorised(asked: Asked, candidate: Candidate, user: UserView | None) -> Found:
    """A request about a person, or for a number category, needs a flow that may use the number
    and, where the authorisation keeps a list of who may (§79-80), a user on it."""
    if not asked.needs_number:
        return NONE
    if not candidate.numbered:
        cited = candidate.flow.national_register_number_paragraphs or candidate.paragraphs
        return (Failure(Code.NATIONAL_REGISTER_NUMBER_NOT_AUTHORISED, cited),)
    if user is not None and candidate.keeps_number_list and not candidate.view.may_use_number(user):
        wording = "national-register-number-not-listed"
        return (Failure(Code.NATIONAL_REGISTER_NUMBER_NOT_AUTHORISED, candidate.users_cited, wording=wording),)
    return NONE


def data_subject_kind_not_authorised(asked: Asked, candidate: Candidate, user: UserView | None) -> Found:
    kind = asked.request.subject_kind
    if kind and kind not in candidate.flow.data_subjects:
        return (Failure(Code.DATA_SUBJECT_KIND_NOT_AUTHORISED, candidate.paragraphs, (("kind", kind),)),)
    return NONE


def not_yet_valid_or_expired(asked: Asked, candidate: Candidate, user: UserView | None) -> Found:
    """``not-yet-valid`` before the flow's start, else ``expired`` after its end (a flow stored
    before it had to start within its authorisation's window can have both; the day is then
    only not yet valid)."""
    day = asked.request.day
    if day < candidate.valid_from:
        return (Failure(Code.NOT_YET_VALID, candidate.valid_from_cited),)
    if candidate.valid_until is not None and day > candidate.valid_until:
        return (Failure(Code.EXPIRED, candidate.valid_until_cited),)
    return NONE


def authorisation_suspended_or_revoked(asked: Asked, candidate: Candidate, user: UserView | None) -> Found:
    """The status on the day, after the recorded suspensions, reinstatements and revocations."""
    status = candidate.view.timeline.status_on(asked.request.day)
    if status == "suspended":
        return (Failure(Code.AUTHORISATION_SUSPENDED),)
    if status == "revoked":
        return (Failure(Code.AUTHORISATION_REVOKED),)
    return NONE


def authorisation_replaced(asked: Asked, candidate: Candidate, user: UserView | None) -> Found:
    timeline = candidate.view.timeline
    if timeline.replaced_from is not None and asked.request.day >= timeline.replaced_from:
        replaced = (("replaced_by", ", ".join(timeline.replaced_by)), ("replaced_from", timeline.replaced_from))
        return (Failure(Code.AUTHORISATION_REPLACED, (), replaced),)
    return NONE


def condition_overdue(asked: Asked, candidate: Candidate, user: UserView | None) -> Found:
    """An overdue condition whose consequence is ``suspend`` denies while the authorisation is
    otherwise in force (one failure per such condition, naming the day it was due)."""
    day, view = asked.request.day, candidate.view
    if view.timeline.state_on(day) != IN_FORCE:
        return NONE
    return tuple(
        Failure(Code.CONDITION_OVERDUE, condition.paragraphs, (("condition", condition.id), ("due_on", due)))
        for condition, due in view.overdue_on(day, "suspend")
    )


def sample_gate(asked: Asked, candidate: Candidate, user: UserView | None) -> Found:
    """Under a sample-gate (§90-92, §100), for a gated purpose: ``data-subject-required`` when
    the request names no person, else ``subject-not-in-communicated-sample`` unless that person
    is in a sample communicated to the consultants by the day."""
    view, request = candidate.view, asked.request
    gate = view.gate
    if gate is None or not gate.gates(request.purpose):
        return NONE
    if not request.subject:
        return (Failure(Code.DATA_SUBJECT_REQUIRED, gate.paragraphs),)
    entry = view.sample_entry.get(request.subject)
    if entry is None or entry > request.day:
        return (Failure(Code.SUBJECT_NOT_IN_COMMUNICATED_SAMPLE, gate.paragraphs),)
    return NONE


# In the order their reasons are listed in a denial (the rule numbers of docs/decisions.md): the
# rules of the request and the flow, then those that find nothing unless the authorisation
# ``can_lapse``.
FLOW_RULES: tuple[Rule, ...] = (
    user_not_authorised,
    data_category_not_authorised,
    purpose_not_authorised,
    action_not_authorised,
    national_register_number_not_authorised,
    data_subject_kind_not_authorised,
    not_yet_valid_or_expired,
)
LAPSES: tuple[Rule, ...] = (authorisation_suspended_or_revoked, authorisation_replaced, condition_overdue, sample_gate)
# The flow rules a request is held to, by whether it asks another action than read, needs the
# number, names a kind of person, and then for a candidate by whether it names the category and
# serves the purpose: a rule left out finds nothing for such a request and candidate (each
# begins by checking that). Indexed by the three as bits, from the first (4) to the last (1).
_HELD_TO = tuple(
    tuple(
        tuple(
            rule
            for rule in FLOW_RULES
            if (rule is not action_not_authorised or other_action)
            and (rule is not national_register_number_not_authorised or numbered)
            and (rule is not data_subject_kind_not_authorised or kind)
            and (rule is not data_category_not_authorised or not names_category)
            and (rule is not purpose_not_authorised or not serves_purpose)
        )
        for names_category in (False, True)
        for serves_purpose in (False, True)
    )
    for other_action in (False, True)
    for numbered in (False, True)
    for kind in (False, True)
)


def failing(
    asked: Asked, candidate: Candidate, rules: tuple[Rule, ...], limit: int | None = None
) -> list[Failure] | None:
    """Every rule of DESIGN §3 that this candidate breaks for the request, of ``rules`` (what
    ``held_to`` says it is held to) and ``LAPSES``; None as soon as it breaks more than
    ``limit`` (the diagnostic pass looks for the candidate that breaks the fewest, so one that
    breaks more than the best so far need not be scored to the end). A plain loop: the
    diagnostic pass runs it for the candidates of every denial."""
    user = candidate.users.get(asked.request.user)
    failures: list[Failure] = []
    for rule in (rules + LAPSES) if candidate.can_lapse else rules:
        found = rule(asked, candidate, user)
        if found:
            failures.extend(found)
            if limit is not None and len(failures) > limit:
                return None
    return failures
