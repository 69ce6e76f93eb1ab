"""The Casbin side of decisions: the registry compiled into policy lines and role links of
``policies/model.conf``, held by a pycasbin enforcer and kept current per authorisation.

pycasbin's stock ``enforce`` compiles the matcher again on every call and scans every line;
``DecisionEnforcer.decide`` evaluates the same model with the matcher compiled once and only
the lines indexed under the request's user and organisation (pycasbin's FastPolicy index). The
stock path stays available and the tests hold the two against each other. What this works
around in pycasbin (2.8) is held by ``tests/test_casbin_workarounds.py``, which fails once
upstream changes it.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any, NamedTuple

import casbin
from casbin.model import FastModel, Model
from casbin.model.policy_fast import FastPolicy

from authreg.domain.category_roles import WideRoleManager
from authreg.domain.conditions import Interval
from authreg.domain.document_format import MAX_CATEGORY_DEPTH
from authreg.domain.lifecycle import RESULTING_STATUS
from authreg.domain.requests import DecisionRequest, needs_number
from authreg.domain.snapshot import AuthorisationView, FlowView, Snapshot, UserView

MODEL = Path(str(files("authreg.policies") / "model.conf"))
OPEN_END = date(9999, 12, 31)
_OPEN_END_TEXT = OPEN_END.isoformat()
_ALLOW_IF_ANY = "some(where (p_eft == allow))"
_DAY = timedelta(days=1)

Line = tuple[str, ...]


class _CountedPolicy(FastPolicy):  # type: ignore[misc]
    """pycasbin's FastPolicy counts its lines by listing every one, and ``Model.add_policy`` asks
    for the count after each line it adds: loading n lines cost O(n²) (10,000 authorisations,
    30,000 lines: minutes instead of seconds). This keeps the count as lines come and go.

    ``by_pair`` reaches the same sets of lines as FastPolicy's index (a dict per user of dicts
    per organisation) in one lookup by (user, organisation): at 10,000 authorisations each
    level of the nested index was a cache miss on every decision."""

    def __init__(self, cache_key_order: list[int]) -> None:
        super().__init__(cache_key_order)
        self._count = 0
        self.by_pair: dict[tuple[str, str], set[Line]] = {}

    def __len__(self) -> int:
        return self._count if self._current_filter is None else int(super().__len__())

    def append(self, item: Any) -> None:
        if item not in self:
            super().append(item)
            self._count += 1
            user, organisation = item[0], item[1]
            self.by_pair.setdefault((user, organisation), self._cache[user][organisation])

    def remove(self, policy: Any) -> bool:
        if policy in self:
            super().remove(policy)
            self._count -= 1
        return True


class _FastModel(FastModel):  # type: ignore[misc]
    """pycasbin's FastModel.add_def drops the result of Model.add_def, so a model loads only
    its first role definition (``g``) and never ``g2``; this returns it, and holds the lines in
    a ``_CountedPolicy``."""

    def add_def(self, sec: str, key: str, value: Any) -> Any:
        added = Model.add_def(self, sec, key, value)
        if sec == "p" and key == "p":
            self.model[sec][key].policy = _CountedPolicy(self._cache_key_order)
        return added


class DecisionEnforcer(casbin.FastEnforcer):  # type: ignore[misc]
    """A pycasbin enforcer for the authreg model, indexed on (user, organisation)."""

    def new_model(self, path: str = "", text: str = "") -> Any:
        model = _FastModel(self._cache_key_order)
        model.load_model(path) if path else model.load_model_from_text(text)
        return model

    def __init__(self, model: Path = MODEL, sampled: Any = None) -> None:
        super().__init__(str(model), cache_key_order=[0, 1])
        self.categories = WideRoleManager(max_hierarchy_level=MAX_CATEGORY_DEPTH)
        self.purposes = WideRoleManager()
        self.subject_kinds = WideRoleManager()
        for ptype, manager in (("g", self.categories), ("g2", self.purposes), ("g3", self.subject_kinds)):
            self.set_named_role_manager(ptype, manager)
            self.model["g"][ptype].rm = manager
        self.add_function("sampled", sampled)
        if self.model["e"]["e"].value != _ALLOW_IF_ANY:
            raise ValueError(f"decide() implements only the effect {_ALLOW_IF_ANY!r}")
        self._r_tokens = tuple(self.model["r"]["r"].tokens)
        self._p_tokens = tuple(self.model["p"]["p"].tokens)
        matcher = self.model["m"]["m"].value.replace("&&", " and ").replace("||", " or ")
        self._matcher = compile(re.sub(r"!(?!=)", " not ", matcher), str(model), "eval")
        self._functions = {
            "__builtins__": {},
            "g": self.categories.has_link,
            "g2": self.purposes.has_link,
            "g3": self.subject_kinds.has_link,
            "sampled": sampled,
        }

    def decide(self, *rvals: str) -> tuple[bool, Line]:
        """Casbin's verdict and the policy line that allowed, ``(False, ())`` for none."""
        # FastPolicy's lines of the user and organisation (its in_cache helper costs more than
        # the rest of the lookup; ``by_pair`` reaches the same set in one step)
        lines = self.model["p"]["p"].policy.by_pair.get((rvals[0], rvals[1]))
        if not lines:
            return False, ()
        parameters = dict(zip(self._r_tokens, rvals, strict=True))
        for line in lines:
            parameters.update(zip(self._p_tokens, line, strict=True))
            if eval(self._matcher, self._functions, parameters):  # the model's own matcher, compiled once
                return True, line
        return False, ()


def _subtract(intervals: list[Interval], cut: Interval) -> list[Interval]:
    start, end = cut
    kept: list[Interval] = []
    for low, high in intervals:
        high_day = high or OPEN_END
        end_day = end or OPEN_END
        if end_day < low or start > high_day:
            kept.append((low, high))
            continue
        if low < start:
            kept.append((low, start - _DAY))
        if end_day < high_day:
            kept.append((end_day + _DAY, high))
    return kept


def _inactive(view: AuthorisationView) -> list[Interval]:
    """Days the authorisation's status is not active, and from its replacement on."""
    timeline = view.timeline
    cuts: list[Interval] = []
    status, since = timeline.status, date.min
    for change in timeline.changes:
        if status != "active" and since < change.on:
            cuts.append((since, change.on - _DAY))
        status, since = RESULTING_STATUS[change.kind], change.on
    if status != "active":
        cuts.append((since, None))
    if timeline.replaced_from is not None:
        cuts.append((timeline.replaced_from, None))
    cuts.extend(
        interval
        for condition, intervals in view.overdue_days
        if condition.effect == "suspend"
        for interval in intervals
    )
    return cuts


def grant_windows(view: AuthorisationView, flow: FlowView, user: UserView) -> list[Interval]:
    """The days ``flow`` grants to ``user``: all of DESIGN §3's time-bound rules at once."""
    if user.declaration_signed_on is None:
        return []
    windows: list[Interval] = [(max(flow.valid_from, user.declaration_signed_on), flow.valid_until)]
    for cut in _inactive(view):
        windows = _subtract(windows, cut)
    return windows


def serves(flow: FlowView, organisation: str, groups: Mapping[str, frozenset[str]]) -> bool:
    return flow.to == organisation or flow.to in groups.get(organisation, frozenset())


def compile_lines(view: AuthorisationView, groups: Mapping[str, frozenset[str]]) -> list[Line]:
    gate = view.id if view.gate else ""
    lines: list[Line] = []
    for flow in view.flows:
        for user in view.users:
            if not serves(flow, user.organisation, groups):
                continue
            for start, end in grant_windows(view, flow, user):
                fields = (
                    user.id,
                    user.organisation,
                    flow.key,
                    start.isoformat(),
                    (end or OPEN_END).isoformat(),
                    "read",
                    "yes" if flow.national_register_number and view.may_use_number(user) else "no",
                    flow.source,
                    gate,
                )
                # Interned, equal strings are one object: fewer distinct objects for a decision to
                # touch, which keeps its cost flat as the registry grows.
                lines.append(tuple(sys.intern(value) for value in fields))
    return lines


@dataclass(slots=True)
class Granting:
    """What an allowing policy line leads to, in one small object: an allow then touches little
    memory, which keeps its cost flat as the registry grows. ``worded`` holds the allows through
    the flow without the day's warnings, per purpose and language, and ``last`` the one handed
    out last, for ``last_purpose`` in ``last_language`` (``decisions._allow``): written as
    decisions are made, always under ``PolicyEngine.lock``, as every decision is."""

    view: AuthorisationView
    flow: FlowView
    authorisation: str
    flow_id: str
    has_conditions: bool  # some condition is overdue on a day it may grant (so an allow may be warned)
    worded: dict[tuple[str, str], Any] = field(default_factory=dict)
    last: Any = None
    last_purpose: str = ""
    last_language: str = ""


class Grant(NamedTuple):
    """A policy line read back: who, through which flow, on which days, with what."""

    user: str
    organisation: str
    granting: Granting
    start: date
    until: date | None  # None: no end
    action: str
    numbered: bool  # the national register number may be used
    source: str
    gated: bool  # the authorisation has a sample gate (for the purposes it covers)

    def runs_on(self, day: date) -> bool:
        return self.start <= day and (self.until is None or day <= self.until)


class PolicyEngine:
    """The enforcer and the snapshot it was compiled from, changed together under one lock so
    no decision ever sees a half-applied change."""

    def __init__(self, snapshot: Snapshot, model: Path = MODEL) -> None:
        self.lock = threading.RLock()
        self.model = model
        self.reload(snapshot)

    def reload(self, snapshot: Snapshot) -> None:
        """Compile everything anew (organisations or the taxonomy changed); the same object, so
        a decision waiting on the lock uses the new policy, never the one it replaced."""
        with self.lock:
            self.snapshot = snapshot
            self.enforcer = DecisionEnforcer(self.model, sampled=self._sampled)
            self._lines: dict[str, list[Line]] = {}
            self.flows: dict[str, Granting] = {}  # flow key, as in the policy lines -> what it grants
            for category in snapshot.categories.values():
                if category.parent:
                    self.enforcer.categories.add_link(category.id, category.parent)
            self._add(snapshot.authorisations.values())

    def grant(self, request: DecisionRequest) -> Granting | None:
        """What Casbin allows the request through, or None. The request's order of fields, the
        layout of a policy line and its "yes"/"no" stay here, with the model they belong to.
        Callers hold ``lock`` so that the snapshot and the lines are of one version."""
        allowed, line = self.enforcer.decide(
            request.user,
            request.organisation,
            request.data_category,
            request.purpose,
            request.action,
            request.day_text,
            "yes" if needs_number(self.snapshot, request) else "no",
            request.source,
            request.subject,
            request.subject_kind,
        )
        return self.flows[line[2]] if allowed else None

    def _sampled(self, subject: str, purpose: str, gate: str, day: str) -> bool:
        if not gate:
            return True
        view = self.snapshot.authorisations[gate]
        assert view.gate is not None
        if not view.gate.gates(purpose):
            return True
        entry = view.sample_entry.get(subject) if subject else None
        return entry is not None and entry.isoformat() <= day

    def _add(self, views: Iterable[AuthorisationView]) -> None:
        lines: list[Line] = []
        for view in views:
            compiled = compile_lines(view, self.snapshot.groups)
            self._lines[view.id] = compiled
            lines.extend(compiled)
            # overdue on a day it may grant: a deletion due at the end of the retention period,
            # after the last valid day, can never warn an allow
            last = view.timeline.valid_until or OPEN_END
            can_be_overdue = any(low <= last for _, days in view.overdue_days for low, _ in days)
            for flow in view.flows:
                self.flows[flow.key] = Granting(view, flow, view.id, flow.id, can_be_overdue)
                for category in flow.categories:
                    self.enforcer.categories.add_link(category, flow.key)
                for purpose in flow.purposes:
                    self.enforcer.purposes.add_link(purpose, flow.key)
                for kind in flow.data_subjects:
                    self.enforcer.subject_kinds.add_link(kind, flow.key)
        if lines:
            self.enforcer.add_policies([list(line) for line in lines])

    def _remove(self, view: AuthorisationView) -> None:
        lines = self._lines.pop(view.id, [])
        if lines:
            self.enforcer.remove_policies([list(line) for line in lines])
        for flow in view.flows:
            del self.flows[flow.key]
            for category in flow.categories:
                self.enforcer.categories.delete_link(category, flow.key)
            for purpose in flow.purposes:
                self.enforcer.purposes.delete_link(purpose, flow.key)
            for kind in flow.data_subjects:
                self.enforcer.subject_kinds.delete_link(kind, flow.key)

    def replace(self, views: Mapping[str, AuthorisationView], ids: Iterable[str], version: int) -> None:
        """Swap the given authorisations for their new views (absent from ``views``: removed)."""
        with self.lock:
            for key in ids:
                old = self.snapshot.drop(key)
                if old is not None:
                    self._remove(old)
            for view in views.values():
                self.snapshot.put(view)
            self._add(views.values())
            self.snapshot.version = version

    def grants(self, user: str | None = None, organisation: str | None = None) -> Iterator[Grant]:
        """The policy lines read back, or those of one user listed for one organisation (both
        given: the same index ``decide`` reads), so that no caller needs their layout. Callers
        hold ``lock``."""
        if user is None or organisation is None:
            lines: Iterable[Line] = (line for lines in self._lines.values() for line in lines)
        else:
            lines = self.enforcer.model["p"]["p"].policy.by_pair.get((user, organisation)) or ()
        for line in lines:
            user_, organisation_, flow, start, until, action, nrn, source, gate = line
            granting = self.flows[flow]
            yield Grant(
                user_,
                organisation_,
                granting,
                date.fromisoformat(start),
                None if until == _OPEN_END_TEXT else date.fromisoformat(until),
                action,
                nrn == "yes",
                source,
                bool(gate),
            )

    def line_count(self) -> int:
        return sum(len(lines) for lines in self._lines.values())
