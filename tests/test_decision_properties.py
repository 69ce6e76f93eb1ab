"""Property tests: on thousands of generated registries and requests, Casbin's verdict (the
fast path and pycasbin's stock enforce), the reasons of the diagnostic pass and the plain
reference of DESIGN §3 all agree."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authreg.domain import denial_rules
from authreg.domain import snapshot as snapshot_module
from authreg.domain.conditions import (
    AuthorisationFacts,
    ConditionSpec,
    Event,
    Fulfilment,
    SampleRecord,
    condition_state,
)
from authreg.domain.decisions import decide
from authreg.domain.lifecycle import StatusChange, Timeline
from authreg.domain.policy_engine import PolicyEngine
from authreg.domain.requests import DecisionRequest
from authreg.domain.snapshot import AuthorisationView, Category, FlowView, Snapshot, UserView, sample_entry_days
from tests.conftest import examples
from tests.reference import RawSamples, reference_decide

START = date(2020, 1, 1)
CATEGORIES = {
    "a": Category("a", None, False),
    "a-nr": Category("a-nr", "a", True),
    "a-2": Category("a-2", "a", False),
    "b": Category("b", None, False),
    "b-1": Category("b-1", "b", False),
    "b-1-x": Category("b-1-x", "b-1", False),
    "c": Category("c", None, False),
}
GROUPS = {"O1": frozenset({"G1"}), "O2": frozenset({"G1", "G2"}), "G1": frozenset({"G2"})}
USERS, ORGS, PURPOSES, SOURCES, SUBJECTS, KINDS = (
    ["u1", "u2", "u3"],
    ["O1", "O2", "O3", "G1"],
    ["p1", "p2", "p3"],
    ["S1", "S2"],
    ["h1", "h2", "h3"],
    ["k1", "k2"],
)

days = st.integers(min_value=0, max_value=400).map(lambda n: START + timedelta(days=n))


@st.composite
def timelines(draw: st.DrawFn, key: str, valid_from: date) -> Timeline:
    valid_until = draw(st.none() | st.integers(0, 300).map(lambda n: valid_from + timedelta(days=n)))
    status = draw(st.sampled_from(["active"] * 12 + ["suspended", "revoked"]))
    changes: list[StatusChange] = []
    current, day = status, valid_from
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 0, 1, 2, 3]))):
        day = day + timedelta(days=draw(st.integers(0, 60)))
        kind = {"active": draw(st.sampled_from(["suspend", "revoke"])), "suspended": "reinstate"}.get(current)
        if kind is None:
            break
        changes.append(StatusChange(kind, day, "generated"))  # type: ignore[arg-type]
        current = {"suspend": "suspended", "revoke": "revoked", "reinstate": "active"}[kind]
    replaced_from = draw(days) if draw(st.integers(0, 5)) == 0 else None
    return Timeline(
        key,
        valid_from,
        valid_from,
        valid_until,
        status,
        tuple(changes),
        replaced_from,
        ("other",) if replaced_from else (),
    )


@st.composite
def authorisations(
    draw: st.DrawFn, key: str
) -> tuple[AuthorisationView, list[tuple[str, str, date]], list[tuple[str, date]]]:
    valid_from = draw(days)
    timeline = draw(timelines(key, valid_from))
    flows = []
    for index in range(draw(st.integers(1, 2))):
        own_from = draw(st.none() | st.integers(0, 30).map(lambda n: valid_from + timedelta(days=n)))
        until = timeline.valid_until
        # a flow's own window lies inside its authorisation's, as the document schema demands
        # (tests/test_documents.py: a flow starting after the authorisation ends is refused)
        start = own_from if own_from and (until is None or own_from <= until) else valid_from
        flows.append(
            FlowView(
                authorisation=key,
                id=f"f{index}",
                source=draw(st.sampled_from(SOURCES)),
                to=draw(st.sampled_from(ORGS)),
                valid_from=start,
                valid_until=until,
                purposes=tuple(sorted(draw(st.sets(st.sampled_from(PURPOSES), min_size=1)))),
                categories=tuple(sorted(draw(st.sets(st.sampled_from(sorted(CATEGORIES)), min_size=1, max_size=3)))),
                national_register_number=draw(st.booleans()),
                data_subjects=tuple(sorted(draw(st.sets(st.sampled_from(KINDS))))),
            )
        )
    served_organisations = sorted(
        {"O3"} | {org for flow in flows for org in ("O1", "O2", "O3") if flow.to in (org, *GROUPS.get(org, ()))}
    )
    keeps_number_list = draw(st.integers(0, 2)) == 0
    users = tuple(
        UserView(
            user,
            draw(st.sampled_from(served_organisations)),
            valid_from + timedelta(days=draw(st.integers(-60, 30))) if draw(st.integers(0, 4)) else None,
            draw(st.sampled_from([None, True, False])) if keeps_number_list else None,
        )
        for user in draw(st.sets(st.sampled_from(USERS), min_size=1))
    )
    conditions = []
    for index in range(draw(st.integers(0, 2))):
        # a deletion is what the registry derives at the end of the retention period (effect flag)
        kind = draw(st.sampled_from(["deadline", "recurring", "standing", "on-event", "deletion"]))
        every = draw(st.sampled_from(["P30D", "P2M", "P1Y"]))
        conditions.append(
            ConditionSpec(
                f"c{index}",
                kind,
                "generated",
                ("S1",),
                "flag" if kind == "deletion" else draw(st.sampled_from(["flag", "flag", "suspend"])),
                (index + 1,),
                due_on=draw(days) if kind in ("deadline", "deletion") else None,
                every=every if kind == "recurring" or (kind == "standing" and draw(st.booleans())) else None,
                within=draw(st.sampled_from(["P0D", "P10D", "P1M"])) if kind == "on-event" else None,
                trigger=draw(st.sampled_from(["e1", "e2"])) if kind == "on-event" else None,
            )
        )
    gated = draw(st.booleans())
    if gated:
        gated_purposes = tuple(sorted(draw(st.sets(st.sampled_from(PURPOSES), max_size=2))))
        conditions.append(
            ConditionSpec("gate", "sample-gate", "samples", ("O1",), "gate", (100,), purposes=gated_purposes)
        )
    events = tuple(Event(draw(st.sampled_from(["e1", "e2"])), draw(days)) for _ in range(draw(st.integers(0, 3))))
    fulfilments = tuple(
        Fulfilment(n + 1, draw(st.sampled_from([c.id for c in conditions])), draw(days), "e", "t")
        for n in range(draw(st.integers(0, 3) if conditions else st.just(0)))
    )
    subjects: list[tuple[str, str, date]] = []
    communications: list[tuple[str, date]] = []
    samples = []
    for index in range(draw(st.integers(0, 2) if gated else st.just(0))):
        drawn = draw(days)
        added = [
            (f"s{index}", who, drawn + timedelta(days=draw(st.integers(0, 20))))
            for who in draw(st.sets(st.sampled_from(SUBJECTS), min_size=1))
        ]
        sent = [(f"s{index}", drawn + timedelta(days=draw(st.integers(0, 40)))) for _ in range(draw(st.integers(0, 2)))]
        subjects += added
        communications += sent
        samples.append(
            SampleRecord(f"s{index}", drawn, tuple(sorted({a for _, _, a in added})), tuple(sorted(d for _, d in sent)))
        )
    facts = AuthorisationFacts(timeline, tuple(conditions), fulfilments, tuple(samples), events)
    roles: dict[str, set[str]] = {}
    for flow in flows:
        roles.setdefault(flow.source, set()).add("discloser")
        roles.setdefault(flow.to, set()).add("recipient")
    if draw(st.booleans()):
        roles.setdefault("P1", set()).add("processor")
    view = AuthorisationView(
        id=key,
        facts=facts,
        flows=tuple(flows),
        users=users,
        roles={k: frozenset(v) for k, v in roles.items()},
        party_paragraphs={},
        purpose_paragraphs={},
        paragraphs={},
        sample_entry=sample_entry_days(facts, subjects),
    )
    return view, subjects, communications


@st.composite
def registries(draw: st.DrawFn) -> tuple[Snapshot, RawSamples]:
    views, raw = {}, {}
    for index in range(draw(st.integers(1, 3))):
        view, subjects, communications = draw(authorisations(f"auth-{index}"))
        views[view.id] = view
        raw[view.id] = (subjects, communications)
    return Snapshot(1, views, dict(GROUPS), dict(CATEGORIES)), raw


requests = st.builds(
    DecisionRequest,
    user=st.sampled_from([*USERS, "ux"]),
    organisation=st.sampled_from(["O1", "O2", "O3", "P1", "S1", "OX"]),
    data_category=st.sampled_from([*CATEGORIES, "unknown"]),
    purpose=st.sampled_from([*PURPOSES, "px"]),
    action=st.sampled_from(["read", "read", "read", "write"]),
    at=st.just(""),
    day=days,
    source=st.sampled_from(["", "", "S1", "S2"]),
    subject=st.sampled_from(["", "", *SUBJECTS, "hx"]),
    subject_kind=st.sampled_from(["", "", "", *KINDS, "kx"]),
)


@st.composite
def near_misses(draw: st.DrawFn, snapshot: Snapshot) -> DecisionRequest:
    """A request a listed user could make through one of the flows, then (mostly) one field
    changed: where the interesting boundaries are."""
    view = draw(st.sampled_from(sorted(snapshot.authorisations.values(), key=lambda v: v.id)))
    flow = draw(st.sampled_from(view.flows))
    served = [u for u in view.users if flow.to in (u.organisation, *GROUPS.get(u.organisation, ()))]
    user = draw(st.sampled_from(served or list(view.users)))
    low = flow.valid_from
    high = flow.valid_until or low + timedelta(days=200)
    exact = DecisionRequest(
        user=user.id,
        organisation=user.organisation,
        data_category=draw(st.sampled_from(flow.categories)),
        purpose=draw(st.sampled_from(flow.purposes)),
        action="read",
        at="",
        day=draw(st.integers(-3, (high - low).days + 3).map(lambda n: low + timedelta(days=n))),
        source=draw(st.sampled_from(["", flow.source])),
        subject=draw(st.sampled_from(["", "", "", "", *SUBJECTS])),
        subject_kind=draw(st.sampled_from(["", "", *flow.data_subjects])),
    )
    changed = draw(
        st.sampled_from(
            ["none", "none", "user", "organisation", "data_category", "purpose", "action", "source", "subject_kind"]
        )
    )
    if changed == "none":
        return exact
    other = draw(requests)
    return DecisionRequest(**{**exact.__dict__, changed: getattr(other, changed)})


@settings(max_examples=examples(1500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), registries(), st.lists(requests, max_size=4))
def test_casbin_diagnostics_and_reference_agree(
    data: st.DataObject, registry: tuple[Snapshot, RawSamples], random_requests: list[DecisionRequest]
) -> None:
    snapshot, raw = registry
    engine = PolicyEngine(snapshot)
    asked = random_requests + data.draw(st.lists(near_misses(snapshot), min_size=4, max_size=8))
    for request in asked:
        decision = decide(engine, request)
        expected = reference_decide(snapshot, raw, request)
        assert decision.decision == expected.decision, (request, expected)
        rvals = _rvals(snapshot, request)
        assert engine.enforcer.enforce(*rvals) == decision.allowed  # pycasbin's own evaluation of the model
        if decision.allowed:
            view = snapshot.authorisations[decision.authorisation]  # type: ignore[index]
            flow = next(f for f in view.flows if f.id == decision.flow)
            assert reference_decide(_only(snapshot, view, flow), raw, request).decision == "allow"
        else:
            assert [r.code for r in decision.reasons] == list(expected.codes), (request, expected)
            assert (decision.authorisation, decision.flow) == (expected.authorisation, expected.flow)


def _rvals(snapshot: Snapshot, r: DecisionRequest) -> tuple[str, ...]:
    nrn = "yes" if r.subject or snapshot.needs_national_register_number(r.data_category) else "no"
    day = r.day.isoformat()
    return (r.user, r.organisation, r.data_category, r.purpose, r.action, day, nrn, r.source, r.subject, r.subject_kind)


def _only(snapshot: Snapshot, view: AuthorisationView, flow: FlowView) -> Snapshot:
    """The registry with just the flow that allowed, to check it passes every rule on its own."""
    return Snapshot(snapshot.version, {view.id: _with_flows(view, (flow,))}, snapshot.groups, snapshot.categories)


def _with_flows(view: AuthorisationView, flows: tuple[FlowView, ...]) -> AuthorisationView:
    fields: dict[str, Any] = {name: getattr(view, name) for name in view.__dataclass_fields__}
    return AuthorisationView(**{**fields, "flows": flows})


@settings(max_examples=examples(300), deadline=None)
@given(registries(), days)
def test_compiled_overdue_days_match_the_condition_states(registry: tuple[Snapshot, RawSamples], day: date) -> None:
    """The windows compiled into the policy agree with ``conditions.condition_state`` day by day."""
    snapshot, _ = registry
    for view in snapshot.authorisations.values():
        if day < view.timeline.valid_from:
            continue  # before validity a condition is never reported overdue; windows start later anyway
        for condition, intervals in view.overdue_days:
            inside = any(low <= day and (high is None or day <= high) for low, high in intervals)
            raw_state = condition_state(_in_force(view.facts), condition, day, 30).state
            assert inside == (raw_state == "overdue"), (condition, day, intervals)


def _in_force(facts: AuthorisationFacts) -> AuthorisationFacts:
    timeline = facts.timeline
    always = Timeline(timeline.authorisation, timeline.decided_on, timeline.valid_from, None, "active")
    return AuthorisationFacts(always, facts.conditions, facts.fulfilments, facts.samples, facts.events)


@settings(max_examples=examples(200), deadline=None)
@given(registries())
def test_a_candidates_category_bits_are_the_sets_they_stand_for(registry: tuple[Snapshot, RawSamples]) -> None:
    """``fewest_failures`` asks the category with bits; they must answer what the sets would:
    the request's category or one above it among the flow's, for every category and flow."""
    snapshot, _ = registry
    for view in snapshot.authorisations.values():
        for flow in view.flows:
            bits = snapshot.candidate(view, flow, "O1").categories
            for category in [*CATEGORIES, "unknown"]:
                above, node = set(), category
                while node in CATEGORIES and node not in above:
                    above.add(node)
                    node = CATEGORIES[node].parent  # type: ignore[assignment]
                request = DecisionRequest("u", "O1", category, "p", "read", "", date(2020, 1, 1), "", "", "")
                named = bool(denial_rules.asked(snapshot, request).category_bits & bits)
                assert named == bool(above & set(flow.categories)), (category, flow.categories)


@settings(max_examples=examples(100), deadline=None)
@given(registries(), st.lists(requests, min_size=1, max_size=6))
def test_the_candidates_cache_is_bounded_and_shares_what_members_of_a_group_share(
    registry: tuple[Snapshot, RawSamples], asked: list[DecisionRequest]
) -> None:
    """Denials answer the same whether the candidates cache is kept or starts over on every
    organisation (its bound); a flow's bits and purposes are one object for every organisation."""
    snapshot, _ = registry
    engine = PolicyEngine(snapshot)
    kept = [decide(engine, request) for request in asked]
    original = snapshot_module.CANDIDATES_KEPT
    snapshot_module.CANDIDATES_KEPT = 1
    try:
        engine.snapshot._forget_candidates()
        assert [decide(engine, request) for request in asked] == kept
        assert len(engine.snapshot._candidates) <= 1  # each organisation asked about started it over
    finally:
        snapshot_module.CANDIDATES_KEPT = original
    for view in snapshot.authorisations.values():
        for flow in view.flows:
            one, other = snapshot.candidate(view, flow, "O1"), snapshot.candidate(view, flow, "O2")
            assert one.categories is other.categories and one.purposes is other.purposes
