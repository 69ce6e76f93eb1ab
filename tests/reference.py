"""A plain reference of the decision procedure (docs/decisions.md), written from the text and
nothing else of the engine: no Casbin, no compiled windows, no precomputed sample entries, no
derived user rights. The property tests hold the real decision path against it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from authreg.domain.conditions import condition_state
from authreg.domain.requests import DecisionRequest
from authreg.domain.snapshot import AuthorisationView, FlowView, Snapshot

# (sample id, subject hash, day added), and (sample id, day communicated), per authorisation
RawSamples = dict[str, tuple[list[tuple[str, str, date]], list[tuple[str, date]]]]


@dataclass(frozen=True)
class Verdict:
    decision: str
    codes: tuple[str, ...]
    authorisation: str | None = None
    flow: str | None = None


def _inside_sample(raw: RawSamples, authorisation: str, subject: str, day: date) -> bool:
    subjects, communications = raw.get(authorisation, ([], []))
    for sample, who, added in subjects:
        if who == subject and any(s == sample and added <= when <= day for s, when in communications):
            return True
    return False


def _covers(snapshot: Snapshot, granted: tuple[str, ...], category: str) -> bool:
    node: str | None = category
    while node is not None and node in snapshot.categories:
        if node in granted:
            return True
        node = snapshot.categories[node].parent
    return False


def _needs_number(snapshot: Snapshot, category: str, subject: str) -> bool:
    if subject:
        return True
    stack = [category] if category in snapshot.categories else []
    while stack:
        node = stack.pop()
        if snapshot.categories[node].national_register_number:
            return True
        stack.extend(c.id for c in snapshot.categories.values() if c.parent == node)
    return False


def failing_codes(
    snapshot: Snapshot, raw: RawSamples, view: AuthorisationView, flow: FlowView, r: DecisionRequest
) -> list[str]:
    codes = []
    listed = [u for u in view.users if u.id == r.user and u.organisation == r.organisation]
    if not listed:
        codes.append("user-not-authorised")
    elif not any(u.declaration_signed_on and u.declaration_signed_on <= r.day for u in listed):
        codes.append("declaration-missing")
    if not _covers(snapshot, flow.categories, r.data_category):
        codes.append("data-category-not-authorised")
    if r.purpose not in flow.purposes:
        codes.append("purpose-not-authorised")
    if r.action != "read":
        codes.append("action-not-authorised")
    needs_number = _needs_number(snapshot, r.data_category, r.subject)
    number_list = [u for u in view.users if u.national_register_number_list is not None]
    off_the_list = bool(number_list) and not any(u.national_register_number_list is True for u in listed)
    if needs_number and (not flow.national_register_number or (listed and off_the_list)):
        codes.append("national-register-number-not-authorised")
    if r.subject_kind and r.subject_kind not in flow.data_subjects:
        codes.append("data-subject-kind-not-authorised")
    if r.day < flow.valid_from:
        codes.append("not-yet-valid")
    elif flow.valid_until and r.day > flow.valid_until:
        codes.append("expired")
    timeline = view.timeline
    status = timeline.status_on(r.day)
    if status == "suspended":
        codes.append("authorisation-suspended")
    if status == "revoked":
        codes.append("authorisation-revoked")
    if timeline.replaced_from is not None and r.day >= timeline.replaced_from:
        codes.append("authorisation-replaced")
    for condition in view.facts.conditions:
        if condition.effect == "suspend" and condition_state(view.facts, condition, r.day, 30).state == "overdue":
            codes.append("condition-overdue")
    gates = [
        c for c in view.facts.conditions if c.kind == "sample-gate" and (not c.purposes or r.purpose in c.purposes)
    ]
    if gates and not r.subject:
        codes.append("data-subject-required")
    elif gates and not _inside_sample(raw, view.id, r.subject, r.day):
        codes.append("subject-not-in-communicated-sample")
    return codes


def reference_decide(snapshot: Snapshot, raw: RawSamples, r: DecisionRequest) -> Verdict:
    served = {r.organisation, *snapshot.groups.get(r.organisation, ())}
    found = [
        (view, flow)
        for view in snapshot.authorisations.values()
        for flow in view.flows
        if flow.to in served and (not r.source or flow.source == r.source)
    ]
    if not found:
        roles = [
            held
            for view in snapshot.authorisations.values()
            for org, held in view.roles.items()
            if org == r.organisation
        ]
        if any("processor" in held for held in roles):
            return Verdict("deny", ("processor-no-data-access",))
        return Verdict("deny", ("organisation-not-recipient",) if roles else ("no-authorisation",))
    scored = sorted(
        ((failing_codes(snapshot, raw, view, flow, r), view, flow) for view, flow in found),
        key=lambda s: (len(s[0]), -s[2].valid_from.toordinal(), s[1].id, s[2].id),
    )
    codes, view, flow = scored[0]
    return Verdict("deny" if codes else "allow", tuple(codes), view.id, flow.id)
