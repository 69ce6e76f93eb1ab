"""Who may read what on a day: the policy lines Casbin decides by, read the other way round.

A decision asks "may this user read this?"; a privacy officer also asks "what may this user
read?" and "who may read this?". Both are answered from the compiled policy lines themselves
(``PolicyEngine.grants``), not from the documents, so a listing cannot say more or less than the
decisions do: ``tests/test_access_map.py`` holds every listed row against Casbin's verdict and
every allowed request of a generated registry against the listing.

A line grants a user, on the days of its window, the flow's categories and everything below
them in the taxonomy, for each of the flow's purposes, from the flow's discloser. Two things
narrow a row rather than remove it, and each row says so:

- ``national_register_number``: without it (the flow does not allow the number, or the
  authorisation keeps a list of staff who may use it and the user is not on it) a category that
  holds the number is not listed, and no request may name a person;
- ``sample_gate``: for a purpose under the sample gate, only a request naming a person inside a
  communicated sample is allowed (so without the number, or before anyone is sampled, such a
  purpose is not listed at all).

Complete, never truncated: the CLI prints every row; the HTTP API pages only where the caller
asks it to (AuthZEN search).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from authreg.domain.document_format import MAX_CATEGORY_DEPTH
from authreg.domain.policy_engine import Grant, PolicyEngine
from authreg.domain.requests import READ
from authreg.domain.snapshot import Snapshot


@dataclass(frozen=True, order=True)
class Access:
    """One thing one user may read on the day asked, and through what."""

    organisation: str
    user: str
    category: str
    purpose: str
    source: str
    authorisation: str
    flow: str
    granted_as: str  # the flow's category that covers ``category`` (itself or an ancestor)
    national_register_number: bool
    sample_gate: str | None  # the gate's condition id, when only sampled persons may be named
    subject_kinds: tuple[str, ...]  # the kinds of person the flow is about; empty: none stated
    until: date | None  # the last day of the line's window; None: no end
    action: str = READ

    def as_dict(self) -> dict[str, object]:
        return {
            "organisation": self.organisation,
            "user": self.user,
            "data_category": self.category,
            "purpose": self.purpose,
            "source": self.source,
            "action": self.action,
            "authorisation": self.authorisation,
            "flow": self.flow,
            "granted_as": self.granted_as,
            "national_register_number": self.national_register_number,
            "sample_gate": self.sample_gate,
            "subject_kinds": list(self.subject_kinds),
            "until": self.until.isoformat() if self.until else None,
        }


def for_user(engine: PolicyEngine, user: str, organisation: str, day: date) -> list[Access]:
    """Everything ``user``, listed for ``organisation``, may read on ``day``."""
    with engine.lock:
        return sorted(_rows(engine, engine.grants(user, organisation), day))


def for_category(engine: PolicyEngine, category: str, day: date, source: str | None = None) -> list[Access]:
    """Every user (and so organisation) that may read ``category`` on ``day``, from ``source``
    when given."""
    with engine.lock:
        # only the lines of flows granting the category or one above it: a row is made for every
        # category a line covers, and a listing must not hold the engine's lock for long
        above = engine.snapshot.ancestors_or_self(category) or frozenset((category,))
        grants = (
            grant
            for grant in engine.grants()
            if source in (None, grant.source) and not above.isdisjoint(grant.granting.flow.categories)
        )
        return sorted(_rows(engine, grants, day, only=category))


def _rows(engine: PolicyEngine, grants: Iterable[Grant], day: date, only: str | None = None) -> Iterator[Access]:
    """The rows of the grants that run on ``day``: of every category they cover, or of ``only``."""
    snapshot = engine.snapshot
    for grant in grants:
        if not grant.runs_on(day):
            continue
        flow, view = grant.granting.flow, grant.granting.view
        covered = {
            category: granted
            for granted in flow.categories
            for category in snapshot.below.get(granted, frozenset({granted}))
            if only in (None, category)
            and (grant.numbered or not snapshot.needs_national_register_number(category))
            and _within_reach(snapshot, category, granted)
        }
        for purpose in flow.purposes:
            gated = grant.gated and view.gate is not None and view.gate.gates(purpose)
            if gated and not (grant.numbered and view.sampled_on(day)):
                continue  # only a named person inside a communicated sample, and none may be named or is
            for category, granted in covered.items():
                yield Access(
                    organisation=grant.organisation,
                    user=grant.user,
                    category=category,
                    purpose=purpose,
                    source=grant.source,
                    authorisation=flow.authorisation,
                    flow=flow.id,
                    granted_as=granted,
                    national_register_number=grant.numbered,
                    sample_gate=view.gate.id if gated and view.gate is not None else None,
                    subject_kinds=flow.data_subjects,
                    until=grant.until,
                    action=grant.action,
                )


def _within_reach(snapshot: Snapshot, category: str, granted: str) -> bool:
    """Whether a decision follows the links from ``category`` up to ``granted`` and on to the
    flow: at most ``MAX_CATEGORY_DEPTH`` of them. A taxonomy is refused deeper than that when
    applied; one stored before the limit may be deeper, and is listed as decided."""
    levels = len(snapshot.ancestry.get(category, ())) - len(snapshot.ancestry.get(granted, ()))
    return levels < MAX_CATEGORY_DEPTH
