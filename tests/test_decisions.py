"""Decisions through the CLI and the decision service on a real database: the seed's decision
tables, the JSON shape, exit codes, the audit entry written before the answer, and the
policy kept current per authorisation."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from authreg.domain import denial_rules
from authreg.domain.clock import Clock
from authreg.domain.decisions import Decision, decide
from authreg.domain.errors import Invalid
from authreg.domain.requests import DecisionRequest, load_request, request_from
from authreg.domain.subjects import subject_hash
from authreg.services import record_facts
from authreg.services.decision_service import DecisionService
from authreg.storage.models import AuditEntry
from tests.conftest import POLICIES, SEED_ID, SEED_SUBJECT, TEST_SECRET, check_args, dump_tables, sqlite_only
from tests.conftest import SEED_ASK as ASK

Cli = Callable[..., Any]
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def loaded(db: Engine) -> DecisionService:
    return DecisionService.load(db, timezone="Europe/Brussels", secret=TEST_SECRET)


def decided(service: DecisionService, asked: dict[str, str], language: str = "en") -> Decision:
    """The seed's first controller asking ``asked`` on top of ``ASK``, decided by the service's
    engine (nothing logged)."""
    request = request_from(load_request({**ASK, **asked}), now=NOW, timezone="Europe/Brussels", secret=TEST_SECRET)
    return decide(service.policy, request, language)


def check(run_cli: Cli, at: str, *more: str) -> Any:
    """``authreg check`` for the seed's first controller reading a name of the sampled person."""
    return run_cli(*check_args({**ASK, "at": at}), *more)


@sqlite_only
def test_the_seed_decision_tables_pass(run_cli: Cli) -> None:
    result = run_cli("test", str(POLICIES / "tests"))
    assert result.exit_code == 0, result.stdout
    passed, failed = result.stdout.splitlines()[-1].split(", ")
    assert failed == "0 failed" and int(passed.split()[0]) >= 40


@sqlite_only
def test_a_failing_table_case_is_reported(run_cli: Cli, tmp_path: Any) -> None:
    (tmp_path / "tests").mkdir()
    table = tmp_path / "tests" / "wrong.yaml"
    table.write_text(
        f"name: wrong on purpose\npolicies: [{POLICIES}]\nat: 2024-01-01\ncases:\n"
        "  - name: expecting an allow after expiry\n"
        "    request: {user: esf-controller-1, organisation: WSE-ESF, data_category: naam, purpose: amif-eligibility}\n"
        "    expect: {decision: allow}\n",
        encoding="utf-8",
    )
    result = run_cli("test", str(tmp_path / "tests"))
    assert result.exit_code == 1
    assert (
        "FAIL" in result.stdout
        and "got      deny [data-subject-required, declaration-missing, expired]" in result.stdout
    )
    assert result.stdout.splitlines()[-1] == "0 passed, 1 failed"


@sqlite_only
def test_a_table_request_is_decided_on_its_own_day_first(run_cli: Cli, tmp_path: Any) -> None:
    """The most specific day wins: the request's ``at``, then the case's, then the table's; a
    request's own day is never overridden silently by the table's."""
    (tmp_path / "tests").mkdir()
    ask = "user: esf-controller-1, organisation: WSE-ESF, data_category: naam, purpose: amif-eligibility"
    (tmp_path / "tests" / "days.yaml").write_text(
        f"name: days\npolicies: [{POLICIES}]\nat: 2018-01-01\ncases:\n"
        f"  - name: the request's day\n    request: {{{ask}, at: '2024-01-01'}}\n"
        "    expect: {decision: deny, reasons: [data-subject-required, declaration-missing, expired]}\n"
        f"  - name: the case's day\n    at: 2024-01-01\n    request: {{{ask}}}\n"
        "    expect: {decision: deny, reasons: [data-subject-required, declaration-missing, expired]}\n"
        f"  - name: the table's day\n    request: {{{ask}}}\n"
        "    expect: {decision: deny, reasons: [data-subject-required, declaration-missing]}\n",
        encoding="utf-8",
    )
    result = run_cli("test", str(tmp_path / "tests"))
    assert result.stdout.splitlines()[-1] == "3 passed, 0 failed", result.stdout


def test_check_json_is_logged_before_it_is_answered(seeded: Engine, run_cli: Cli) -> None:
    result = check(run_cli, "2018-01-01", "--format", "json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"decision", "authorisation", "flow", "reasons", "warnings", "obligations", "decision_id"}
    assert (answer["decision"], answer["authorisation"], answer["flow"]) == ("allow", SEED_ID, "aii-to-esf")
    assert [w["code"] for w in answer["warnings"]] == ["condition-overdue"]
    assert [o["code"] for o in answer["obligations"]] == [
        "onward-disclosure",
        "onward-disclosure-exception",
        "retention",
    ]
    assert answer["obligations"][0]["paragraphs"] == answer["obligations"][1]["paragraphs"] == [76]
    assert answer["obligations"][1]["message"].startswith("except: Europese controleorganen: ")
    with Session(seeded) as session:
        entry = session.exec(select(AuditEntry)).one()
    assert (entry.decision_id, entry.decision, entry.asked_by, entry.evaluated_at) == (
        answer["decision_id"],
        "allow",
        "tester",
        "2018-01-01",
    )


def test_check_deny_exits_1_and_tells_why_in_dutch(seeded: Engine, run_cli: Cli) -> None:
    result = check(run_cli, "2023-07-01", "--lang", "nl")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[1] == (
        "  expired: vtc-2017-amif-aii-wse (gegevensstroom aii-to-esf) gold tot 2023-06-30 (§73, §74, §99)"
    )


@sqlite_only
def test_a_fact_a_table_expects_refused_fails_the_table_when_accepted(run_cli: Cli, tmp_path: Any) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "refusals.yaml").write_text(
        f"name: refusals\npolicies: [{POLICIES}]\nat: 2018-01-01\nfacts:\n"
        f"  - declare: {{authorisation: {SEED_ID}, user: esf-controller-1, on: 2017-10-02}}\n    refused: true\n"
        f"  - declare: {{authorisation: {SEED_ID}, user: esf-stagiair, on: 2017-10-02}}\n    refused: true\n"
        "cases:\n  - name: the security plan is overdue\n"
        f"    conditions: {{{SEED_ID}: {{security-plan: overdue, no-such-duty: open}}}}\n",
        encoding="utf-8",
    )
    result = run_cli("test", str(tmp_path / "tests"))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].endswith("refusals.yaml: refused: declare") and lines[1:3] == [
        "     expected refused",
        "     got      accepted",
    ]
    assert lines[3].endswith("refusals.yaml: the security plan is overdue")
    assert lines[5] == f"     got      {SEED_ID}/no-such-duty=no such condition, {SEED_ID}/security-plan=overdue"
    assert lines[-1] == "1 passed, 2 failed"  # the unknown user's declaration was refused, as expected


@sqlite_only
def test_a_case_asks_one_question(run_cli: Cli, tmp_path: Any) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "both.yaml").write_text(
        f"name: both\npolicies: [{POLICIES}]\ncases:\n  - name: two questions\n"
        "    request: {user: u, organisation: O, data_category: naam, purpose: p}\n"
        "    expect: {decision: deny}\n"
        f"    conditions: {{{SEED_ID}: {{security-plan: overdue}}}}\n",
        encoding="utf-8",
    )
    result = run_cli("test", str(tmp_path / "tests"))
    assert result.exit_code == 2
    assert "cases[0].request: either request and expect, or conditions" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--at", "2023-02-30"), "at: not an ISO 8601 date or datetime: '2023-02-30'"),
        (("--subject", "85073003329"), "data_subject: not an INSZ: the check digits do not match"),
    ],
)
def test_check_malformed_input_is_an_error_not_a_decision(
    seeded: Engine, run_cli: Cli, args: tuple[str, ...], message: str
) -> None:
    result = run_cli("check", "--user", "u", "--organisation", "WSE-ESF", "--category", "naam", "--purpose", "p", *args)
    assert result.exit_code == 2
    assert f"error: {message}" in result.stderr
    with Session(seeded) as session:
        assert session.exec(select(AuditEntry)).all() == []


def test_a_data_subject_is_logged_only_as_its_keyed_hash(seeded: Engine) -> None:
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    answer = service.ask(
        load_request({**ASK, "at": "2018-03-01", "data_subject": "85.07.30-033.28"}), asked_by="app", now=NOW
    )
    assert [r["code"] for r in answer["reasons"]] == ["subject-not-in-communicated-sample"]
    with Session(seeded) as session:
        entry = session.exec(select(AuditEntry)).one()
    assert "85073003328" not in json.dumps(entry.request) and "data_subject" not in entry.request
    assert len(entry.request["data_subject_hash"]) == 64


def test_batch_problems_name_the_request(seeded: Engine) -> None:
    """The schema names a field as it loads it (``load_request``; the API's batch schema says
    ``requests[i].field``); what only building the request finds, the service names the same way."""
    with pytest.raises(Invalid) as caught:
        load_request({"user": "x", "purpose": 3})
    assert sorted(str(p) for p in caught.value.problems) == [
        "data_category: required",
        "organisation: required",
        "purpose: not a text",
    ]
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    asked = [ASK, {**ASK, "at": "the first of May"}, {**ASK, "data_subject": "12345678901"}]
    before = dump_tables(seeded)
    with pytest.raises(Invalid) as caught:
        service.ask_many([load_request(r) for r in asked], asked_by="app", now=NOW)
    assert [p.path for p in caught.value.problems] == ["requests[1].at", "requests[2].data_subject"]
    assert dump_tables(seeded) == before  # nothing decided, nothing logged


def test_a_change_refreshes_only_that_authorisation_and_no_stale_allow_is_given(seeded: Engine, run_cli: Cli) -> None:
    run_cli("apply", str(POLICIES / "tests" / "fixtures" / "gemeenten.yaml"))
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    other_lines = service.policy._lines["vtc-2018-voorbeeld-gemeenten"]
    version = service.policy.snapshot.version
    assert service.ask(load_request({**ASK, "at": "2019-01-01"}), asked_by="app", now=NOW)["decision"] == "allow"
    clock = Clock(now=NOW, today=NOW.date())
    with service.changing():
        record_facts.change_status(
            seeded,
            authorisation=SEED_ID,
            kind="suspend",
            on=datetime(2018, 12, 1).date(),
            reason="r",
            actor="dpo",
            clock=clock,
        )
    answer = service.ask(load_request({**ASK, "at": "2019-01-01"}), asked_by="app", now=NOW)
    assert [r["code"] for r in answer["reasons"]] == ["authorisation-suspended"]
    assert service.policy._lines["vtc-2018-voorbeeld-gemeenten"] is other_lines  # untouched, not rebuilt
    assert service.policy.snapshot.version == version + 1


def test_a_denial_after_a_change_is_explained_by_the_authorisation_as_changed(seeded: Engine) -> None:
    """A denial scores the organisation's candidate flows, which the snapshot keeps until the
    registry changes: one explained before a change must be explained anew after it."""
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    unlisted = load_request({**ASK, "at": "2019-01-01", "data_category": "gezondheid"})
    before = service.ask(unlisted, asked_by="app", now=NOW)
    assert [r["code"] for r in before["reasons"]] == ["data-category-not-authorised"]
    clock = Clock(now=NOW, today=NOW.date())
    with service.changing():
        record_facts.change_status(
            seeded, authorisation=SEED_ID, kind="suspend", on=date(2018, 12, 1), reason="r", actor="dpo", clock=clock
        )
    after = service.ask(unlisted, asked_by="app", now=NOW)
    assert [r["code"] for r in after["reasons"]] == ["data-category-not-authorised", "authorisation-suspended"]


def test_the_fast_path_and_pycasbins_stock_enforce_agree_on_the_seed(seeded: Engine) -> None:
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    enforcer = service.policy.enforcer
    sampled = subject_hash(SEED_SUBJECT, TEST_SECRET)
    allowed = 0
    for day in ("2017-10-01", "2017-10-02", "2023-06-30", "2023-07-01"):
        for category in ("naam", "officiele-personalia", "insz", "gezondheid"):
            for subject, kind in (("", ""), (sampled, ""), (sampled, "gezinslid"), (sampled, "inburgeraar")):
                nrn = "yes" if subject or category in ("insz", "officiele-personalia") else "no"
                rvals = (
                    "esf-controller-1",
                    "WSE-ESF",
                    category,
                    "amif-eligibility",
                    "read",
                    day,
                    nrn,
                    "",
                    subject,
                    kind,
                )
                verdict = enforcer.decide(*rvals)[0]
                assert verdict == enforcer.enforce(*rvals)
                allowed += verdict
    assert allowed == 2 * 3 * 2  # two valid days, three categories granted, with and without a granted kind


def test_an_allow_is_made_anew_for_another_purpose_language_or_version(seeded: Engine, run_cli: Cli) -> None:
    """An allow through a flow is kept once made (``decisions._allow``). Asked again in any order
    for another purpose or language, each is the allow a fresh engine makes; after a change to
    another authorisation it names the registry's new version."""
    asks = [(purpose, language) for purpose in ("amif-eligibility", "amif-indicators") for language in ("en", "nl")]

    def made(service: DecisionService, purpose: str, language: str) -> Decision:
        return decided(service, {"purpose": purpose, "at": "2019-01-01"}, language)

    expected = {ask: made(loaded(seeded), *ask) for ask in asks}
    assert all(decision.allowed for decision in expected.values())
    assert expected[asks[0]].reasons[0].paragraphs != expected[asks[2]].reasons[0].paragraphs  # per purpose
    assert expected[asks[0]].reasons[0].message != expected[asks[1]].reasons[0].message  # per language
    run_cli("apply", str(POLICIES / "tests" / "fixtures" / "gemeenten.yaml"))
    service = loaded(seeded)
    for ask in asks + asks[::-1] + asks[::2] + asks:
        assert made(service, *ask) == expected[ask]._replace(registry_version=service.policy.snapshot.version)
    version = service.policy.snapshot.version
    kept = dict(service.policy.flows)
    run_cli("suspend", "vtc-2018-voorbeeld-gemeenten", "--on", "2019-01-01", "--reason", "elders beslist")
    assert service.sync() is True
    # that authorisation recompiled alone: the seed's flow keeps what it granted, and its allows
    assert [key for key, granting in service.policy.flows.items() if kept.get(key) is granting] == [
        "vtc-2017-amif-aii-wse/aii-to-esf"
    ]
    for ask in asks[::-1]:  # the last asked first
        assert made(service, *ask) == expected[ask]._replace(registry_version=version + 1)


@sqlite_only
def test_allows_day_after_day_in_one_engine_are_a_fresh_engines(seeded: Engine, run_cli: Cli) -> None:
    """An allow is kept without the day's warnings (an overdue condition that flags): asked day
    after day, forward and back, one engine answers each day as a fresh one does."""
    run_cli("fulfil", SEED_ID, "security-plan", "--on", "2018-03-01", "--evidence", "the plan")
    days = ["2017-10-01", "2018-01-01", "2018-06-01", "2019-01-01", "2020-06-01", "2023-01-01"]
    fresh = {day: decided(loaded(seeded), {"at": day}) for day in days}
    assert len({decision.warnings for decision in fresh.values() if decision.allowed}) > 1  # days differ
    service = loaded(seeded)
    for day in days + days[::-1] + days:
        assert decided(service, {"at": day}) == fresh[day], day


def test_a_candidate_copies_what_its_authorisation_and_flow_say(seeded: Engine, run_cli: Cli) -> None:
    """A denial reads a candidate's copies, not the authorisation and the flow: each equals what
    they say. A variant of a flow under the same key is made afresh and never kept."""
    run_cli("apply", str(POLICIES / "tests" / "fixtures" / "gemeenten.yaml"))
    snapshot = loaded(seeded).policy.snapshot
    organisations = {flow.to for view in snapshot.authorisations.values() for flow in view.flows} | set(snapshot.groups)
    found = [candidate for name in sorted(organisations) for candidate in snapshot.candidates(name).found]
    assert {candidate.authorisation for candidate in found} == set(snapshot.authorisations)
    for candidate in found:
        view, flow = candidate.view, candidate.flow
        assert (candidate.authorisation, candidate.flow_id) == (view.id, flow.id)
        assert (candidate.valid_from, candidate.valid_until) == (flow.valid_from, flow.valid_until)
        assert candidate.valid_from_text == flow.valid_from.isoformat()
        assert candidate.valid_until_text == (flow.valid_until.isoformat() if flow.valid_until else None)
        assert (candidate.numbered, candidate.paragraphs) == (flow.national_register_number, flow.paragraphs)
        assert (candidate.keeps_number_list, candidate.can_lapse) == (view.keeps_number_list, view.can_lapse)
        assert candidate.users_cited == view.cites("authorised_users")
        assert candidate.purposes_cited == (view.cites("purposes") or flow.paragraphs)
        assert (candidate.valid_from_cited, candidate.valid_until_cited) == (
            view.cites("valid_from"),
            view.cites("valid_until"),
        )
    view = snapshot.authorisations[SEED_ID]
    variant = dataclasses.replace(view.flows[0], valid_from=date(2024, 1, 1))
    assert snapshot.candidate(view, variant, ASK["organisation"]).valid_from == date(2024, 1, 1)
    assert snapshot.candidate(view, view.flows[0], ASK["organisation"]).valid_from == view.flows[0].valid_from


GENT = {"user": "gent-ambtenaar-1", "organisation": "GEM-GENT", "purpose": "lokaal-inburgeringsbeleid"}
GENT |= {"data_category": "naam", "at": "2019-06-01"}


@pytest.mark.parametrize(
    ("asked", "cited"),
    [
        ({**ASK, "at": "2019-06-01", "purpose": "nope"}, [("purpose-not-authorised", [45, 53, 57, 58])]),
        (
            {**ASK, "at": "2019-06-01", "data_category": "gezondheid"},
            [("data-category-not-authorised", [61, 62, 63, 64, 65, 67, 98])],
        ),
        ({**GENT, "purpose": "nope"}, [("purpose-not-authorised", [20])]),  # no paragraphs on purposes: the flow's
        (
            {**GENT, "data_category": "insz"},
            [("data-category-not-authorised", [20]), ("national-register-number-not-authorised", [21])],
        ),
        ({**GENT, "at": "2023-01-01"}, [("expired", [40])]),
        ({**GENT, "at": "2017-01-01"}, [("declaration-missing", []), ("not-yet-valid", [41])]),
    ],
)
def test_a_denial_cites_the_paragraphs_of_the_rules_it_breaks(
    seeded: Engine, run_cli: Cli, tmp_path: Any, asked: dict[str, str], cited: list[Any]
) -> None:
    """Each rule cites its own paragraphs, or the flow's where the decision has none for it (the
    seed and a document that cites fewer: no paragraphs on its purposes, its start cited)."""
    text = (POLICIES / "tests" / "fixtures" / "gemeenten.yaml").read_text(encoding="utf-8")
    assert "\n  valid_until: [40]" in text
    (tmp_path / "gemeenten.yaml").write_text(
        text.replace("\n  valid_until: [40]", "\n  valid_from: [41]\n  valid_until: [40]")
    )
    run_cli("apply", str(tmp_path / "gemeenten.yaml"))
    answer = loaded(seeded).ask(load_request(asked), asked_by="app", now=NOW)
    assert answer["decision"] == "deny"
    assert [(reason["code"], reason["paragraphs"]) for reason in answer["reasons"]] == cited


def test_a_registry_wide_change_recompiles_in_place(seeded: Engine, run_cli: Cli) -> None:
    """Organisations or taxonomy changed: everything is recompiled, in the same engine object,
    so a decision that was waiting for the lock cannot use the policy it replaced."""
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    engine = service.policy
    gent = {"user": "gent-ambtenaar-1", "organisation": "GEM-GENT", "purpose": "lokaal-inburgeringsbeleid"}
    gent |= {"data_category": "naam"}
    assert service.ask(load_request({**gent, "at": "2019-01-01"}), asked_by="app", now=NOW)["decision"] == "deny"
    run_cli("apply", str(POLICIES / "tests" / "fixtures" / "gemeenten.yaml"))
    service.refresh(None)
    assert service.policy is engine
    assert service.ask(load_request({**gent, "at": "2019-01-01"}), asked_by="app", now=NOW)["decision"] == "allow"
    assert service.sync() is False  # already at the registry's version


def test_sync_catches_up_with_another_process(seeded: Engine, run_cli: Cli) -> None:
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    assert service.sync() is False
    run_cli("suspend", SEED_ID, "--on", "2019-01-01", "--reason", "elders beslist")
    assert (
        service.ask(load_request({**ASK, "at": "2019-06-01"}), asked_by="app", now=NOW)["decision"] == "allow"
    )  # not synced yet
    assert service.sync() is True
    answer = service.ask(load_request({**ASK, "at": "2019-06-01"}), asked_by="app", now=NOW)
    assert [r["code"] for r in answer["reasons"]] == ["authorisation-suspended"]


def test_a_day_before_a_flows_start_and_after_its_end_is_only_not_yet_valid(seeded: Engine) -> None:
    """A flow stored before its start had to lie inside the authorisation's window can start after
    the authorisation ends; a day in that gap is one reason (not-yet-valid), as before the rules
    became one function per code."""
    snapshot = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET).policy.snapshot
    view = snapshot.authorisations[SEED_ID]
    flow = dataclasses.replace(view.flows[0], valid_from=date(2024, 1, 1))
    asked = {**ASK, "at": "2023-10-01"}
    request = request_from(load_request(asked), now=NOW, timezone="Europe/Brussels", secret=TEST_SECRET)
    candidate = snapshot.candidate(view, flow, ASK["organisation"])

    def codes(request: DecisionRequest) -> list[str]:
        known = denial_rules.asked(snapshot, request)
        every_rule = denial_rules.held_to(known, names_category=False, serves_purpose=False)
        return [failure.code for failure in denial_rules.failing(known, candidate, every_rule) or ()]

    assert "not-yet-valid" in codes(request) and "expired" not in codes(request)
    later = request_from(
        load_request({**ASK, "at": "2024-02-01"}), now=NOW, timezone="Europe/Brussels", secret=TEST_SECRET
    )
    assert "expired" in codes(later) and "not-yet-valid" not in codes(later)


SEED_FLOW = "vtc-2017-amif-aii-wse (flow aii-to-esf)"
SEED_STROOM = "vtc-2017-amif-aii-wse (gegevensstroom aii-to-esf)"


@pytest.mark.parametrize(
    ("change", "english", "dutch"),
    [
        (  # the flow's window, as text
            {"at": "2024-01-01"},
            [("expired", f"{SEED_FLOW} was valid until 2023-06-30", [73, 74, 99])],
            [("expired", f"{SEED_STROOM} gold tot 2023-06-30", [73, 74, 99])],
        ),
        (  # three failures of the one candidate, the request's day in two of them
            {"at": "2015-01-01"},
            [
                (
                    "declaration-missing",
                    "user esf-controller-1 has no declaration of honour signed on or before 2015-01-01",
                    [75, 78, 79, 80],
                ),
                ("not-yet-valid", f"{SEED_FLOW} is valid only from 2017-09-13", []),
                (
                    "subject-not-in-communicated-sample",
                    "the person is not in a sample of vtc-2017-amif-aii-wse communicated to the security"
                    " consultants by 2015-01-01",
                    [90, 91, 92, 100],
                ),
            ],
            [
                (
                    "declaration-missing",
                    "gebruiker esf-controller-1 heeft geen verklaring op eer ondertekend op of voor 2015-01-01",
                    [75, 78, 79, 80],
                ),
                ("not-yet-valid", f"{SEED_STROOM} geldt pas vanaf 2017-09-13", []),
                (
                    "subject-not-in-communicated-sample",
                    "de persoon zit niet in een steekproef van vtc-2017-amif-aii-wse die uiterlijk 2015-01-01 aan de"
                    " veiligheidsconsulenten werd meegedeeld",
                    [90, 91, 92, 100],
                ),
            ],
        ),
        (  # a failure with a field of its own (the kind asked)
            {"at": "2019-06-01", "subject_kind": "nobody-kind"},
            [
                (
                    "data-subject-kind-not-authorised",
                    "flow aii-to-esf is not about persons of kind nobody-kind",
                    [61, 62, 63, 64, 65, 67, 98],
                )
            ],
            [
                (
                    "data-subject-kind-not-authorised",
                    "gegevensstroom aii-to-esf betreft geen personen van de soort nobody-kind",
                    [61, 62, 63, 64, 65, 67, 98],
                )
            ],
        ),
    ],
)
def test_a_denials_reasons_are_worded_and_cited_in_each_language(
    seeded: Engine, change: dict[str, str], english: list[Any], dutch: list[Any]
) -> None:
    """The property tests hold the codes and the closest flow against the reference; this holds
    the words and the paragraphs cited, which the denial's own wording makes."""
    service = DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)
    for language, expected in (("en", english), ("nl", dutch)):
        answer = service.ask(load_request({**ASK, **change}), asked_by="app", now=NOW, language=language)
        assert [(r["code"], r["message"], r["paragraphs"]) for r in answer["reasons"]] == expected
