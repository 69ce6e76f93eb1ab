"""``authreg access`` and its HTTP twins: who may read what on a day, asked one way or the other.

One entry for the CLI, the native API and AuthZEN's search: the question is checked here (which
fields go together), answered by ``domain.access_map`` from the policy lines of the process's
engine, so a listing and a decision made at the same moment read the same lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from authreg.domain.access_map import Access, for_category, for_user
from authreg.domain.errors import Invalid, Problem
from authreg.domain.policy_engine import PolicyEngine
from authreg.domain.requests import READ, DecisionRequest


def access(
    policy: PolicyEngine,
    day: date,
    *,
    user: str | None = None,
    organisation: str | None = None,
    category: str | None = None,
    source: str | None = None,
) -> list[Access]:
    """What ``user`` of ``organisation`` may read, or who may read ``category`` (from
    ``source``): one question or the other, refused naming the field otherwise."""
    problems = _problems(user, organisation, category, source)
    if problems:
        raise Invalid(problems)
    if category is not None:
        return for_category(policy, category, day, source)
    assert user is not None and organisation is not None
    return for_user(policy, user, organisation, day)


def _problems(user: str | None, organisation: str | None, category: str | None, source: str | None) -> list[Problem]:
    if category is not None and (user is not None or organisation is not None):
        return [Problem("", "category", "ask by user and organisation, or by category, not both")]
    if category is None:
        if source is not None:
            return [Problem("", "source", "only with category")]
        missing = [name for name, value in (("user", user), ("organisation", organisation)) if value is None]
        if len(missing) == 2:
            return [Problem("", "user", "required (with organisation), or ask by category")]
        other = {"user": "organisation", "organisation": "user"}
        return [Problem("", name, f"required with {other[name]}") for name in missing]
    return []


@dataclass(frozen=True)
class Search:
    """What an AuthZEN search fixes beside the part it looks for: the day, and optionally the
    action, purpose, discloser and kind of person a request would name. Never a person: whether
    one may be looked at is an evaluation, which is logged; a search is not."""

    day: date
    action: str | None = READ  # None: any
    purpose: str | None = None
    source: str | None = None
    subject_kind: str = ""


def subjects(policy: PolicyEngine, search: Search, category: str, organisation: str | None) -> list[Access]:
    """The rows through which a user may read ``category`` as searched (of ``organisation``)."""
    with policy.lock:
        rows = for_category(policy, category, search.day, search.source)
        return _allowed(policy, search, [row for row in rows if organisation in (None, row.organisation)])


def resources(policy: PolicyEngine, search: Search, user: str, organisation: str) -> list[Access]:
    """The rows through which ``user`` of ``organisation`` may read as searched."""
    with policy.lock:
        rows = for_user(policy, user, organisation, search.day)
        return _allowed(policy, search, [row for row in rows if search.source in (None, row.source)])


def _allowed(policy: PolicyEngine, search: Search, rows: list[Access]) -> list[Access]:
    """The rows whose request, as the search would make it, Casbin allows: a row lists what a
    line grants, and a search may name a kind of person, which only the decision weighs. A row
    under a sample gate is asked for a person inside a communicated sample that day (its hash,
    as the registry keeps it): kept when there is one whom Casbin allows, so a result under a
    gate means "for a sampled person". Asked of the engine, not logged: nothing is read."""
    return [
        row
        for row in rows
        if search.action in (None, row.action)
        and search.purpose in (None, row.purpose)
        and policy.grant(_request(row, search, _sampled(policy, row, search.day))) is not None
    ]


def _sampled(policy: PolicyEngine, row: Access, day: date) -> str:
    """For a row under a sample gate, a person inside a communicated sample of its
    authorisation on the day ("" for none, or for a row without a gate)."""
    return "" if row.sample_gate is None else policy.snapshot.authorisations[row.authorisation].sampled_on(day)


def _request(row: Access, search: Search, subject: str) -> DecisionRequest:
    return DecisionRequest(
        user=row.user,
        organisation=row.organisation,
        data_category=row.category,
        purpose=row.purpose,
        action=row.action,
        at=search.day.isoformat(),
        day=search.day,
        source=search.source or "",
        subject=subject,
        subject_kind=search.subject_kind,
    )
