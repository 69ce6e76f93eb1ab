"""The read model decisions work on: the registry in memory, loaded in one go from the store
and replaced per authorisation when it changes. Plain frozen data, and for denials a bounded
cache of each organisation's candidate flows, emptied by every change; no SQL, no Casbin."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any, NamedTuple

from authreg.domain.conditions import AuthorisationFacts, ConditionSpec, Interval, overdue_intervals
from authreg.domain.lifecycle import Timeline


@dataclass(frozen=True)
class FlowView:
    authorisation: str
    id: str
    source: str
    to: str
    valid_from: date  # the flow's own window, else the authorisation's
    valid_until: date | None
    purposes: tuple[str, ...]
    categories: tuple[str, ...]
    national_register_number: bool
    national_register_number_paragraphs: tuple[int, ...] = ()
    paragraphs: tuple[int, ...] = ()
    data_subjects: tuple[str, ...] = ()  # the kinds of person it is about; empty: none stated

    @cached_property
    def key(self) -> str:
        """``authorisation/flow`` as one interned string: the policy lines, the role links and
        the engine's index of flows hold the same object, compared by identity."""
        return sys.intern(f"{self.authorisation}/{self.id}")


@dataclass(frozen=True)
class DisclosureException:
    """Who may receive more than the onward-disclosure rule allows (§76)."""

    to: str
    description: str
    paragraphs: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class UserView:
    """(Slots: a denial reads a user's fields in one object, not two.)"""

    id: str
    organisation: str
    declaration_signed_on: date | None  # the earlier of the document's day and a recorded one
    national_register_number_list: bool | None = None  # as the document states it, if it does


@dataclass(frozen=True)
class AuthorisationView:
    id: str
    facts: AuthorisationFacts
    flows: tuple[FlowView, ...]
    users: tuple[UserView, ...]
    roles: Mapping[str, frozenset[str]]  # party id -> roles
    party_paragraphs: Mapping[str, tuple[int, ...]]
    purpose_paragraphs: Mapping[str, tuple[int, ...]]
    paragraphs: Mapping[str, tuple[int, ...]]  # the document's top-level ``paragraphs``
    max_users: int | None = None
    onward_disclosure: str | None = None
    onward_exceptions: tuple[DisclosureException, ...] = ()
    retention_until: date | None = None
    # subject hash -> the first day it is inside a communicated sample of this authorisation
    sample_entry: Mapping[str, date] = field(default_factory=dict)

    @property
    def timeline(self) -> Timeline:
        return self.facts.timeline

    @cached_property
    def gate(self) -> ConditionSpec | None:
        """The sample-gate, if any (a document has at most one); asked by every gated policy line."""
        return next((c for c in self.facts.conditions if c.kind == "sample-gate"), None)

    def cites(self, key: str) -> tuple[int, ...]:
        return tuple(self.paragraphs.get(key, ()))

    def sampled_on(self, day: date) -> str:
        """A person (the hash) inside a communicated sample of this authorisation on ``day``, the
        same one each time; "" for none: under its gate nobody may be looked at before."""
        return min((person for person, first in self.sample_entry.items() if first <= day), default="")

    @cached_property
    def keeps_number_list(self) -> bool:
        """Whether any user carries ``national_register_number_list`` (§79-80)."""
        return any(user.national_register_number_list is not None for user in self.users)

    def may_use_number(self, user: UserView) -> bool:
        """Where the authorisation keeps a list of staff who use the national register number,
        only those on it may; where it keeps none, nothing restricts a user."""
        return user.national_register_number_list is True or not self.keeps_number_list

    @cached_property
    def can_lapse(self) -> bool:
        """Whether anything but the flows' own windows can stop it granting on some day: a status
        other than active, a status change, a replacement, an overdue condition that suspends, or
        a sample gate. The diagnostic pass runs those rules only for an authorisation that can."""
        timeline = self.timeline
        return (
            timeline.status != "active"
            or bool(timeline.changes)
            or timeline.replaced_from is not None
            or self.gate is not None
            or any(days for condition, days in self.overdue_days if condition.effect == "suspend")
        )

    @cached_property
    def overdue_days(self) -> tuple[tuple[ConditionSpec, tuple[Interval, ...]], ...]:
        """Conditions but the sample-gate with the days each is overdue, computed once."""
        return tuple(
            (condition, tuple(overdue_intervals(self.facts, condition)))
            for condition in self.facts.conditions
            if condition.kind != "sample-gate"
        )

    def overdue_on(self, day: date, effect: str) -> list[tuple[ConditionSpec, date]]:
        """The conditions with ``effect`` overdue on ``day``, each with the day it was due (the
        day before its overdue days began; for a duty due again and again, the one missed first)."""
        found = []
        for condition, intervals in self.overdue_days:
            if condition.effect == effect:
                began = [low for low, high in intervals if low <= day and (high is None or day <= high)]
                if began:
                    found.append((condition, min(began) - timedelta(days=1)))
        return found


@dataclass(frozen=True)
class Category:
    id: str
    parent: str | None
    national_register_number: bool


class Candidate(NamedTuple):
    """A flow an organisation may be asking through, as a denial reads it. What the three rules
    that cost a lookup each ask of it (``denial_rules.fewest_failures``), and what the rules and
    the wording read on their common paths, are copied out of the authorisation and the flow
    into this one record: at 10,000 authorisations each object a denial reads is a cache miss,
    and the view, the flow, their attributes and paragraphs were most of a denial's time. The
    view and the flow stay at hand for the rules that seldom run (lapses, the number list,
    kinds of person)."""

    view: AuthorisationView
    flow: FlowView
    users: Mapping[str, UserView]  # id -> the user, of those the authorisation lists for the organisation
    categories: int  # the flow's categories, as the bits of ``Snapshot.category_bits``
    purposes: frozenset[str]
    authorisation: str
    flow_id: str
    valid_from: date  # the flow's window
    valid_until: date | None
    valid_from_text: str  # the same as ISO dates, as denials word them
    valid_until_text: str | None
    numbered: bool  # the flow may use the national register number
    keeps_number_list: bool  # ``AuthorisationView.keeps_number_list``
    can_lapse: bool  # ``AuthorisationView.can_lapse``
    paragraphs: tuple[int, ...]  # the flow's
    users_cited: tuple[int, ...]  # the authorisation's paragraphs on its users
    purposes_cited: tuple[int, ...]  # on its purposes, else the flow's
    valid_from_cited: tuple[int, ...]
    valid_until_cited: tuple[int, ...]


def _masks(found: tuple[Candidate, ...], key: Callable[[Candidate], Iterable[str]]) -> dict[str, int]:
    masks: dict[str, int] = {}
    for place, candidate in enumerate(found):
        for name in key(candidate):
            masks[name] = masks.get(name, 0) | 1 << place
    return masks


def _tie_break(candidate: Candidate) -> tuple[int, str, str]:
    """Between candidates that fail as often, the closest is the latest flow, then by
    authorisation and flow id (DESIGN §3): ``Candidates.found`` is in this order."""
    return -candidate.valid_from.toordinal(), candidate.authorisation, candidate.flow_id


class Candidates:
    """An organisation's candidate flows, in the order ``_tie_break`` puts them, and, as bit
    masks over them (bit i: ``found[i]``), which list a user, serve a purpose, come from a
    source, name a category or one above it: a denial finds which candidates break the fewest
    rules from a few lookups, and touches only those it then scores (at 10,000 authorisations,
    touching each candidate was most of a denial's time, and slowed the allows around it by
    pushing them out of the caches)."""

    __slots__ = ("_by_category", "by_purpose", "by_source", "by_user", "every", "found")

    def __init__(self, found: tuple[Candidate, ...]) -> None:
        self.found = found
        self.every = (1 << len(found)) - 1
        self.by_user = _masks(found, lambda candidate: candidate.users)
        self.by_purpose = _masks(found, lambda candidate: candidate.purposes)
        self.by_source = _masks(found, lambda candidate: (candidate.flow.source,))
        self._by_category: dict[str, int] = {}  # filled as categories are asked

    def naming(self, category: str, bits: int) -> int:
        """The candidates whose flow names ``category`` (given with its ancestry's ``bits``), or a
        category above it; kept per category of the taxonomy (0 bits: not one, not kept)."""
        found = self._by_category.get(category)
        if found is None:
            found = sum(1 << place for place, candidate in enumerate(self.found) if candidate.categories & bits)
            if bits and self.found:  # not for NO_CANDIDATES, which every snapshot shares
                self._by_category[category] = found
        return found


NO_CANDIDATES = Candidates(())
CANDIDATES_KEPT = 200_000  # about 38 MB of ``Candidate`` records (192 bytes each; their parts are shared)


@dataclass
class Snapshot:
    """Everything a decision reads. ``groups`` is transitive; ``below`` holds each category's
    descendants and itself."""

    version: int
    authorisations: dict[str, AuthorisationView]
    groups: dict[str, frozenset[str]]
    categories: dict[str, Category]
    below: dict[str, frozenset[str]] = field(init=False)
    ancestry: dict[str, frozenset[str]] = field(init=False)  # category -> itself and above
    numbered: frozenset[str] = field(init=False)  # categories that hold the number, or hold one that does
    category_bits: dict[str, int] = field(init=False)  # category -> a bit of its own
    ancestry_bits: dict[str, int] = field(init=False)  # category -> its and its ancestors' bits
    flows_to: dict[str, list[FlowView]] = field(default_factory=dict)  # organisation -> flows to it
    parties: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)  # org -> auth -> roles
    # ``candidates``' cache: per organisation, and what its records share (a flow's parts, an
    # authorisation's users of an organisation), so that many members of a group do not each
    # copy the group's flows; at most CANDIDATES_KEPT records
    _candidates: dict[str, Candidates] = field(init=False, repr=False, compare=False)
    _flow_parts: dict[str, tuple[Any, ...]] = field(init=False, repr=False, compare=False)
    _users: dict[tuple[str, str], dict[str, UserView]] = field(init=False, repr=False, compare=False)
    _kept: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # the taxonomy does not change within a snapshot (a change reloads): each decision reads
        # these instead of walking the tree
        self.ancestry = {key: frozenset(self._chain(key)) for key in self.categories}
        self.below = descendants(self.ancestry)
        self.numbered = frozenset(
            key for key, below in self.below.items() if any(self.categories[c].national_register_number for c in below)
        )
        self.category_bits = {key: 1 << place for place, key in enumerate(sorted(self.categories))}
        self.ancestry_bits = {key: self._bits(above) for key, above in self.ancestry.items()}
        self._forget_candidates()
        for view in self.authorisations.values():
            self._index(view)

    def _index(self, view: AuthorisationView) -> None:
        for flow in view.flows:
            self.flows_to.setdefault(flow.to, []).append(flow)
        for org, roles in view.roles.items():
            self.parties.setdefault(org, {})[view.id] = roles

    def _bits(self, categories: Iterable[str]) -> int:
        return sum(self.category_bits[key] for key in set(categories) if key in self.category_bits)

    def candidates(self, organisation: str) -> Candidates:
        """Every flow to the organisation or a group it belongs to, kept until the registry
        changes for an organisation that has any (an unknown name is not kept: it would grow
        without end), and at most CANDIDATES_KEPT of them in all: beyond, the cache starts over."""
        kept = self._candidates.get(organisation)
        if kept is None:
            found = tuple(
                sorted(
                    (
                        self.candidate(self.authorisations[flow.authorisation], flow, organisation)
                        for target in (organisation, *sorted(self.groups.get(organisation, ())))
                        for flow in self.flows_to.get(target, ())
                    ),
                    key=_tie_break,
                )
            )
            if not found:
                return NO_CANDIDATES
            if self._kept + len(found) > CANDIDATES_KEPT:
                self._forget_candidates()
            kept = self._candidates[organisation] = Candidates(found)
            self._kept += len(found)
        return kept

    def candidate(self, view: AuthorisationView, flow: FlowView, organisation: str) -> Candidate:
        """The record of one flow for one organisation. What it copies is kept per flow (and the
        users per authorisation and organisation) only for the snapshot's own view and flow
        objects: a variant of them (a test's, say) under the same key is made afresh and never
        kept, so it cannot stand in for the real one in later denials."""
        own = self.authorisations.get(view.id) is view and any(mine is flow for mine in view.flows)
        parts = self._flow_parts.get(flow.key) if own else None
        if parts is None:
            parts = (
                self._bits(flow.categories),
                frozenset(flow.purposes),
                view.id,
                flow.id,
                flow.valid_from,
                flow.valid_until,
                flow.valid_from.isoformat(),
                flow.valid_until.isoformat() if flow.valid_until else None,
                flow.national_register_number,
                view.keeps_number_list,
                view.can_lapse,
                flow.paragraphs,
                view.cites("authorised_users"),
                view.cites("purposes") or flow.paragraphs,
                view.cites("valid_from"),
                view.cites("valid_until"),
            )
            if own:
                self._flow_parts[flow.key] = parts
        users = self._users.get((view.id, organisation)) if own else None
        if users is None:  # a plain dict, which nothing changes once made: one object less to read
            users = {user.id: user for user in view.users if user.organisation == organisation}
            if own:
                self._users[view.id, organisation] = users
        return Candidate(view, flow, users, *parts)

    def _forget_candidates(self) -> None:
        self._candidates, self._flow_parts, self._users, self._kept = {}, {}, {}, 0

    def put(self, view: AuthorisationView) -> None:
        self.drop(view.id)
        self.authorisations[view.id] = view
        self._index(view)

    def drop(self, authorisation: str) -> AuthorisationView | None:
        view = self.authorisations.pop(authorisation, None)
        self._forget_candidates()
        if view is not None:
            for flow in view.flows:
                self.flows_to[flow.to].remove(flow)
            for org in view.roles:
                del self.parties[org][view.id]
        return view

    def needs_national_register_number(self, category: str) -> bool:
        return category in self.numbered

    def ancestors_or_self(self, category: str) -> frozenset[str]:
        return self.ancestry.get(category, frozenset())

    def _chain(self, category: str) -> list[str]:
        chain: list[str] = []
        current: str | None = category
        while current is not None and current in self.categories and current not in chain:
            chain.append(current)
            current = self.categories[current].parent
        return chain


def descendants(ancestry: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Each category with everything below it: its ancestry read the other way round (walked
    up by ``Snapshot._chain`` without recursion, so however a stored taxonomy came to be,
    loading it does not exhaust the stack of every process)."""
    below: dict[str, set[str]] = {key: {key} for key in ancestry}
    for key, above in ancestry.items():
        for ancestor in above:
            below[ancestor].add(key)
    return {key: frozenset(found) for key, found in below.items()}


def sample_entry_days(facts: AuthorisationFacts, subjects: Iterable[tuple[str, str, date]]) -> dict[str, date]:
    """For each subject hash, the first day a communication covers it: a communication of its
    sample on or after the day it was added (DESIGN §4, extensions included)."""
    communications = {sample.id: sorted(sample.communicated_on) for sample in facts.samples}
    entry: dict[str, date] = {}
    for sample_id, subject, added_on in subjects:
        day = next((d for d in communications.get(sample_id, ()) if d >= added_on), None)
        if day is not None and (subject not in entry or day < entry[subject]):
            entry[subject] = day
    return entry
