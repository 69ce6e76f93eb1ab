"""Issue 9, legal model v2, through the CLI and the HTTP API on both databases: declarations
and events as recorded facts, standing and on-event duties, several responsible parties and to
whom a duty is owed, onward disclosure with exceptions, related decisions, the kinds of data
subject, documents of the old form, and migration 0007 carrying stored data over."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, inspect, text

from authreg.domain.documents import read_paths
from authreg.storage import migrate, registry_rows
from authreg.storage.sessions import make_engine
from tests.conftest import POLICIES, SEED_ASK, SEED_ID, SEED_SUBJECT, check_args, dump_tables, write_yaml

Cli = Callable[..., Any]
Headers = dict[str, dict[str, str]]
ASK = (*check_args(SEED_ASK), "--format", "json")
UNNAMED = {key: value for key, value in SEED_ASK.items() if key != "data_subject"}  # the seed's ask, nobody named


def codes(run_cli: Cli, at: str, *more: str) -> tuple[str, list[str]]:
    answer = json.loads(run_cli(*ASK, "--at", at, *more).stdout)
    return answer["decision"], [reason["code"] for reason in answer["reasons"]]


def states(run_cli: Cli, at: str) -> dict[str, dict[str, Any]]:
    rows = json.loads(run_cli("conditions", "--at", at, "--format", "json").stdout)
    return {row["condition"]: row for row in rows}


# -- declarations (§78) -----------------------------------------------------------------------


def test_a_declaration_counts_from_the_day_recorded_and_never_before(engine: Engine, run_cli: Cli) -> None:
    """The seed states no declaration day: nobody reads until one is recorded."""
    assert run_cli("apply", str(POLICIES)).exit_code == 0
    run_cli("sample", "add", SEED_ID, "s1", SEED_SUBJECT, "--drawn-on", "2017-10-02")
    run_cli("sample", "communicate", SEED_ID, "s1", "--on", "2017-10-02", "--to", "KBI-SC")
    assert codes(run_cli, "2018-01-01") == ("deny", ["declaration-missing"])

    declared = run_cli("declare", SEED_ID, "esf-controller-1", "--on", "2017-12-01", "--evidence", "map AMIF/2017")
    assert declared.exit_code == 0, declared.stderr
    assert declared.stdout == f"declaration 1 of {SEED_ID}/esf-controller-1 signed on 2017-12-01\n"
    assert codes(run_cli, "2017-11-30") == ("deny", ["declaration-missing"])
    assert codes(run_cli, "2017-12-01")[0] == "allow"
    # a declaration found later, signed earlier, counts from its own day
    assert run_cli("declare", SEED_ID, "esf-controller-1", "--on", "2017-10-05").exit_code == 0
    assert codes(run_cli, "2017-10-05")[0] == "allow"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("esf-stagiair", "--on", "2017-10-02"), "authorisation vtc-2017-amif-aii-wse lists no user 'esf-stagiair'"),
        (("esf-controller-1", "--on", "2999-01-01"), "signed_on: 2999-01-01 is in the future"),
        (("esf-controller-1", "--on", "2017-09-12"), "signed_on: before the decision of 2017-09-13"),
        (  # the seeded registry holds this one already
            ("esf-controller-1", "--on", "2017-10-02"),
            "a declaration of vtc-2017-amif-aii-wse/esf-controller-1 signed on 2017-10-02 is recorded already",
        ),
    ],
    ids=["not listed", "future", "before the decision", "twice"],
)
def test_a_declaration_that_cannot_be_is_refused_and_writes_nothing(
    seeded: Engine, run_cli: Cli, args: tuple[str, ...], message: str
) -> None:
    before = dump_tables(seeded)
    result = run_cli("declare", SEED_ID, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert dump_tables(seeded) == before


def test_declarations_over_http(api: Flask, bearer: Headers, seeded: Engine) -> None:
    client = api.test_client()
    path = f"/api/v1/authorisations/{SEED_ID}/users/esf-controller-2/declarations"
    created = client.post(path, json={"signed_on": "2017-09-20", "evidence": "map"}, headers=bearer["privacy-officer"])
    assert created.status_code == 201, created.get_json()
    assert created.get_json() == {
        "id": 3,
        "authorisation": SEED_ID,
        "user": "esf-controller-2",
        "signed_on": "2017-09-20",
    }
    again = client.post(path, json={"signed_on": "2017-09-20"}, headers=bearer["privacy-officer"])
    assert again.status_code == 409
    for role in ("manager", "application", "auditor"):
        assert client.post(path, json={"signed_on": "2017-09-21"}, headers=bearer[role]).status_code == 403
    bad = client.post(path, json={"signed_on": "gisteren"}, headers=bearer["privacy-officer"])
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["path"] == "signed_on"
    nobody = client.post(
        f"/api/v1/authorisations/{SEED_ID}/users/esf-stagiair/declarations",
        json={"signed_on": "2017-09-20"},
        headers=bearer["privacy-officer"],
    )
    assert nobody.status_code == 404
    asked = {"user": "esf-controller-2", "organisation": "WSE-ESF", "data_category": "naam"}
    asked |= {"purpose": "amif-eligibility", "data_subject": SEED_SUBJECT, "at": "2017-10-01"}
    answer = client.post("/api/v1/decisions", json=asked, headers=bearer["application"]).get_json()
    # allowed from the declaration of 2017-09-20 on; the sample was communicated on 2017-10-02
    assert [r["code"] for r in answer["reasons"]] == ["subject-not-in-communicated-sample"]


def test_a_mistyped_declaration_is_corrected_not_kept(seeded: Engine, run_cli: Cli) -> None:
    """The seed's template holds declaration 1 of esf-controller-1, signed 2017-10-02."""
    assert codes(run_cli, "2017-10-02")[0] == "allow"
    corrected = run_cli("declare", SEED_ID, "esf-controller-1", "--on", "2017-11-15", "--supersedes", "1")
    assert corrected.exit_code == 0, corrected.stderr
    assert corrected.stdout == f"declaration 3 of {SEED_ID}/esf-controller-1 signed on 2017-11-15, superseding 1\n"
    assert codes(run_cli, "2017-11-14") == ("deny", ["declaration-missing"])
    assert codes(run_cli, "2017-11-15")[0] == "allow"
    again = run_cli("declare", SEED_ID, "esf-controller-1", "--on", "2017-11-16", "--supersedes", "1")
    assert again.exit_code == 2 and "declaration 1 is already superseded; correct the latest one" in again.stderr
    other = run_cli("declare", SEED_ID, "esf-controller-2", "--on", "2017-11-16", "--supersedes", "3")
    assert other.exit_code == 2 and f"no declaration 3 of {SEED_ID}/esf-controller-2" in other.stderr


def test_a_declaration_is_the_signature_of_the_person_the_entry_named(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any], tmp_path: Path
) -> None:
    """A post handed to someone else (a new name) needs a new declaration; the old one is the
    previous holder's. Handed back, it counts again."""
    assert codes(run_cli, "2018-01-01")[0] == "allow"
    seed_document["authorised_users"][0]["name"] = "Personeelslid 3 van afdeling ESF"
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    assert codes(run_cli, "2018-01-01") == ("deny", ["declaration-missing"])
    assert run_cli("declare", SEED_ID, "esf-controller-1", "--on", "2017-12-20").exit_code == 0
    assert codes(run_cli, "2017-12-20")[0] == "allow"
    assert run_cli("apply", str(POLICIES / "authorisations")).exit_code == 0
    assert codes(run_cli, "2017-10-02")[0] == "allow"


# -- duties: standing, on-event, several responsible parties, owed_to -------------------------


def test_an_event_starts_the_clock_of_the_duty_it_triggers(seeded: Engine, run_cli: Cli) -> None:
    assert states(run_cli, "2018-05-01")["processor-agreement-hbplus"]["state"] == "not-triggered"
    recorded = run_cli("event", SEED_ID, "hbplus-engaged", "--on", "2018-05-01", "--evidence", "contract HBplus")
    assert recorded.exit_code == 0, recorded.stderr
    assert recorded.stdout == f"event hbplus-engaged of {SEED_ID} on 2018-05-01\n"
    duty = states(run_cli, "2018-05-01")["processor-agreement-hbplus"]
    assert (duty["state"], duty["due_on"], duty["trigger"]) == ("due-soon", "2018-05-01", "hbplus-engaged")
    assert duty["responsible"] == ["WSE-ESF"]
    assert states(run_cli, "2018-05-02")["processor-agreement-realdolmen"]["state"] == "not-triggered"  # its own event
    assert states(run_cli, "2018-05-02")["processor-agreement-hbplus"]["state"] == "overdue"
    assert codes(run_cli, "2018-05-02")[0] == "allow"  # effect flag: a warning, not a denial
    warnings = [w["message"] for w in json.loads(run_cli(*ASK, "--at", "2018-05-02").stdout)["warnings"]]
    assert f"condition processor-agreement-hbplus of {SEED_ID} is overdue (due 2018-05-01)" in warnings
    run_cli("fulfil", SEED_ID, "processor-agreement-hbplus", "--on", "2018-05-01", "--evidence", "overeenkomst art. 16")
    assert states(run_cli, "2018-05-02")["processor-agreement-hbplus"]["state"] == "fulfilled"
    # a second engagement starts a new clock: the agreement of the first does not cover it
    run_cli("event", SEED_ID, "hbplus-engaged", "--on", "2018-09-01")
    assert states(run_cli, "2018-09-02")["processor-agreement-hbplus"]["state"] == "overdue"


def test_an_event_no_duty_waits_for_is_refused(seeded: Engine, run_cli: Cli) -> None:
    before = dump_tables(seeded)
    result = run_cli("event", SEED_ID, "processor-hired", "--on", "2018-05-01")
    assert result.exit_code == 2
    assert "event: no on-event condition of vtc-2017-amif-aii-wse waits for 'processor-hired'" in result.stderr
    assert "(it waits for: hbplus-engaged, realdolmen-engaged)" in result.stderr
    assert dump_tables(seeded) == before


def test_events_over_http(api: Flask, bearer: Headers) -> None:
    client = api.test_client()
    path = f"/api/v1/authorisations/{SEED_ID}/events"
    body = {"event": "hbplus-engaged", "occurred_on": "2018-05-01"}
    created = client.post(path, json=body, headers=bearer["privacy-officer"])
    assert created.status_code == 201
    assert created.get_json() == {"authorisation": SEED_ID, "event": "hbplus-engaged", "occurred_on": "2018-05-01"}
    again = client.post(path, json=body, headers=bearer["privacy-officer"])
    assert again.status_code == 409
    assert again.get_json()["detail"] == f"event hbplus-engaged of {SEED_ID} on 2018-05-01 is recorded already"
    assert client.post(path, json=body, headers=bearer["manager"]).status_code == 403
    unknown = client.post(path, json={**body, "event": "nope"}, headers=bearer["privacy-officer"])
    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["path"] == "event"
    rows = client.get(f"/api/v1/conditions?at=2018-05-02&authorisation={SEED_ID}", headers=bearer["manager"])
    duty = next(c for c in rows.get_json()["conditions"] if c["condition"] == "processor-agreement-hbplus")
    assert (duty["state"], duty["owed_to"]) == ("overdue", [])


def test_standing_duties_are_in_effect_and_have_no_due_day(seeded: Engine, run_cli: Cli) -> None:
    rows = states(run_cli, "2018-01-01")
    for duty in ("rrn-user-list", "notice-art9", "art16-security", "processor-no-access"):
        assert (rows[duty]["state"], rows[duty]["due_on"]) == ("in-effect", None)
    assert rows["rrn-user-list"]["owed_to"] == [
        "Sectoraal comité van het Rijksregister",
        "Commissie voor de Bescherming van de Persoonlijke Levenssfeer",
    ]
    assert states(run_cli, "2023-07-01")["rrn-user-list"]["state"] == "expired"
    refused = run_cli("fulfil", SEED_ID, "rrn-user-list", "--on", "2018-01-01", "--evidence", "lijst")
    assert refused.exit_code == 2 and "a standing condition without every is in effect, not fulfilled" in refused.stderr
    table = run_cli("conditions", "--at", "2018-01-01").stdout
    assert "Sectoraal comité van het Rijksregister" in table and "WSE-ESF, AII" in table


def test_a_standing_duty_with_a_period_is_attested_each_period(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any], tmp_path: Path
) -> None:
    rrn = next(c for c in seed_document["conditions"] if c["id"] == "rrn-user-list")
    rrn["every"] = "P1Y"
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    assert states(run_cli, "2018-09-13")["rrn-user-list"]["state"] == "due-soon"
    assert states(run_cli, "2018-09-14")["rrn-user-list"]["state"] == "overdue"
    run_cli("fulfil", SEED_ID, "rrn-user-list", "--on", "2018-09-20", "--evidence", "lijst bijgewerkt")
    row = states(run_cli, "2018-10-01")["rrn-user-list"]
    assert (row["state"], row["due_on"]) == ("fulfilled-late", "2019-09-20")


def test_samples_go_to_the_consultants_the_gate_is_owed_to(api: Flask, bearer: Headers) -> None:
    client = api.test_client()
    path = f"/api/v1/authorisations/{SEED_ID}/samples/controle-2017/communications"
    for to, message in (
        ("WSE-ESF", "'WSE-ESF' is not a security-consultant party of vtc-2017-amif-aii-wse"),
        ("WSE-SC", "'WSE-SC' is not one the sample-gate is owed to (AII-SC, KBI-SC)"),
    ):
        answer = client.post(
            path, json={"communicated_on": "2018-01-01", "to": [to]}, headers=bearer["privacy-officer"]
        )
        assert answer.status_code == 422
        error = answer.get_json()["errors"][0]
        assert (error["path"], error["message"]) == ("to[0]", message)
    sent = {"communicated_on": "2018-01-01", "to": ["AII-SC", "KBI-SC"]}
    assert client.post(path, json=sent, headers=bearer["privacy-officer"]).status_code == 201


# -- what a decision says ---------------------------------------------------------------------


def test_onward_disclosure_lists_its_exceptions_in_both_languages(seeded: Engine, run_cli: Cli) -> None:
    answer = json.loads(run_cli(*ASK, "--at", "2018-01-01", "--lang", "nl").stdout)
    assert [(o["code"], o["message"], o["paragraphs"]) for o in answer["obligations"][:2]] == [
        ("onward-disclosure", "verdere mededeling: aggregated-only", [76]),
        (
            "onward-disclosure-exception",
            "uitzondering: Europese controleorganen: krijgen toegang tot de controles die de afdeling ESF uitvoerde",
            [76],
        ),
    ]


def test_the_kind_of_person_is_checked_against_the_flow_and_logged(api: Flask, bearer: Headers) -> None:
    client = api.test_client()
    asked = {"user": "esf-controller-1", "organisation": "WSE-ESF", "data_category": "naam"}
    asked |= {"purpose": "amif-eligibility", "data_subject": SEED_SUBJECT, "at": "2018-01-01"}
    allowed = client.post(
        "/api/v1/decisions", json={**asked, "subject_kind": "amif-deelnemer"}, headers=bearer["application"]
    )
    assert allowed.get_json()["decision"] == "allow"
    denied = client.post(
        "/api/v1/decisions", json={**asked, "subject_kind": "inburgeraar"}, headers=bearer["application"]
    )
    reason = denied.get_json()["reasons"][0]
    assert (reason["code"], reason["message"]) == (
        "data-subject-kind-not-authorised",
        "flow aii-to-esf is not about persons of kind inburgeraar",
    )
    logged = client.get("/api/v1/audit", headers=bearer["auditor"]).get_json()
    assert [entry["request"].get("subject_kind") for entry in logged["entries"]][-2:] == [
        "amif-deelnemer",
        "inburgeraar",
    ]


def test_the_gate_requires_a_named_person_only_for_the_purposes_it_gates(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any], tmp_path: Path
) -> None:
    without = (*check_args({**UNNAMED, "at": "2018-01-01"}), "--format", "json")
    denied = json.loads(run_cli(*without, "--purpose", "amif-eligibility").stdout)
    assert [(r["code"], r["paragraphs"]) for r in denied["reasons"]] == [("data-subject-required", [90, 91, 92, 100])]
    gate = next(c for c in seed_document["conditions"] if c["kind"] == "sample-gate")
    gate["purposes"] = ["amif-eligibility"]
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    assert json.loads(run_cli(*without, "--purpose", "amif-indicators").stdout)["decision"] == "allow"
    assert json.loads(run_cli(*without, "--purpose", "amif-eligibility").stdout)["decision"] == "deny"


def test_a_user_not_on_the_number_list_is_told_so(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any], tmp_path: Path
) -> None:
    seed_document["authorised_users"][1]["national_register_number_list"] = False
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    unnamed = {**UNNAMED, "user": "esf-controller-2", "purpose": "amif-indicators", "at": "2018-01-01"}
    second = {**unnamed, "data_subject": SEED_SUBJECT}
    for category in ("insz", "loopbaan"):  # a person named by the number is the number too
        answer = json.loads(run_cli(*check_args({**second, "data_category": category}), "--format", "json").stdout)
        assert [(r["code"], r["message"], r["paragraphs"]) for r in answer["reasons"]] == [
            (
                "national-register-number-not-authorised",
                f"user esf-controller-2 is not on the list of staff of {SEED_ID} who may use the national register "
                "number",
                [75, 78, 79, 80],
            )
        ]
    # so under the seed's gate, which wants every request to name the person, that user reads nothing
    assert (
        json.loads(run_cli(*check_args({**unnamed, "data_category": "loopbaan"}), "--format", "json").stdout)[
            "reasons"
        ][0]["code"]
        == "data-subject-required"
    )


# -- documents ----------------------------------------------------------------------------------


OLD_FORM = Path(__file__).parent / "fixtures" / "old-form-seed.yaml"
OLD_DIGEST = "402773d287179c77593b7e8432e6c264c5da291b0e756e4aba28d165b1a8c635"  # as 78f31b6 computed it


def test_a_document_of_the_old_form_applies_unchanged(engine: Engine, run_cli: Cli) -> None:
    """The seed as it was before issue 9 (a plain-string onward_disclosure, one responsible party
    per condition, declaration days the document states): the same canonical form and digest as
    the code of then computed, so it is "unchanged" where it is stored, and it decides as then."""
    (document,) = read_paths([OLD_FORM])
    canonical = document.canonical()
    assert registry_rows.digest(canonical) == OLD_DIGEST
    assert canonical["onward_disclosure"] == "aggregated-only"
    assert {c["responsible"] for c in canonical["conditions"]} == {"AII", "WSE-ESF"}
    applied = run_cli("apply", str(POLICIES / "taxonomy.yaml"), str(OLD_FORM))
    assert applied.exit_code == 0, applied.stderr
    assert json.loads(run_cli("show", SEED_ID, "--format", "json").stdout) == canonical
    run_cli("sample", "add", SEED_ID, "s1", SEED_SUBJECT, "--drawn-on", "2017-09-20")
    run_cli("sample", "communicate", SEED_ID, "s1", "--on", "2017-09-20", "--to", "AII-SC")
    assert codes(run_cli, "2017-10-01") == ("deny", ["declaration-missing"])  # the day the document states
    assert codes(run_cli, "2017-10-02")[0] == "allow"


def test_show_reads_the_new_fields(seeded: Engine, run_cli: Cli) -> None:
    text_ = run_cli("show", SEED_ID).stdout
    for line in (
        "  onward      aggregated-only (§76)",
        "    except Europese controleorganen: krijgen toegang tot de controles die de afdeling ESF uitvoerde (§76)",
        "  processor-agreement-hbplus on-event    P0D after hbplus-engaged flag    WSE-ESF (§86, §88)",
        "  notice-art9            standing               flag    WSE-ESF, AII (§84, §85)",
        "    owed to VTC",
        "related decisions",
        "  pending-transfer Beraadslaging van het sectoraal comité van het Rijksregister nr. 39/2012 (§38)",
    ):
        assert line in text_.splitlines(), line
    assert "declaration not stated (recorded with authreg declare), on the number's user list" in text_


def test_the_kinds_of_data_subject_are_a_vocabulary(seeded: Engine, run_cli: Cli, tmp_path: Path) -> None:
    only_kinds = write_yaml(tmp_path, "kinds.yaml", {"data_subjects": [{"id": "gezinslid", "label": "Gezinslid"}]})
    result = run_cli("apply", str(only_kinds))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"changed   taxonomy (0 added, 1 updated, 0 unchanged) {only_kinds}")
    assert "    +  label: Gezinslid" in result.stdout
    with seeded.connect() as connection:
        assert connection.execute(text("SELECT label FROM data_subject_kind WHERE id = 'gezinslid'")).scalar_one() == (
            "Gezinslid"
        )


# -- migration 0007 -----------------------------------------------------------------------------


def test_migration_0007_carries_stored_data_over(database_url: str) -> None:
    migrate.upgrade(database_url, "0006")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        for org in ("VTC", "AII", "WSE-ESF"):
            connection.execute(
                text("INSERT INTO organisation (id, name, kind) VALUES (:id, :id, 'organisation')"), {"id": org}
            )
        for key in ("keeps-a-list", "keeps-none"):
            connection.execute(
                text(
                    "INSERT INTO authorisation (id, reference, title, authority_id, decided_on, valid_from, status, "
                    "sensitive, version, updated_at, paragraphs, onward_disclosure) VALUES (:id, 'r', 't', 'VTC', "
                    "'2017-09-13', '2017-09-13', 'active', false, 1, '2017-09-13 00:00:00', '{}', 'aggregated-only')"
                ),
                {"id": key},
            )
            connection.execute(
                text(
                    "INSERT INTO flow (authorisation_id, id, from_id, to_id, national_register_number, "
                    "national_register_number_paragraphs, data_subjects, paragraphs) "
                    "VALUES (:id, 'f', 'AII', 'WSE-ESF', true, '[]', :kinds, '[]')"
                ),
                {"id": key, "kinds": json.dumps(["inburgeraar", "gezinslid"] if key == "keeps-a-list" else ["ouder"])},
            )
            connection.execute(
                text(
                    "INSERT INTO condition (authorisation_id, id, kind, description, responsible_id, due_on, effect, "
                    "paragraphs) VALUES (:id, 'plan', 'deadline', 'd', 'AII', '2017-11-30', 'flag', '[101]')"
                ),
                {"id": key},
            )
            users = [{"id": "u1", "national_register_number_list": key == "keeps-a-list"}]
            users.append({"id": "u2", "national_register_number_list": False})
            connection.execute(
                text(
                    "INSERT INTO authorisation_version (authorisation_id, version, document, digest, created_at, "
                    "created_by, note) VALUES (:id, 1, :document, 'old', '2017-09-13 00:00:00', 'me', 'n')"
                ),
                {"id": key, "document": json.dumps({"id": key, "authorised_users": users})},
            )
            for user, listed in (("u1", key == "keeps-a-list"), ("u2", False)):
                connection.execute(
                    text(
                        "INSERT INTO authorised_user (authorisation_id, id, name, organisation_id, "
                        "national_register_number_list) VALUES (:id, :user, 'n', 'WSE-ESF', :listed)"
                    ),
                    {"id": key, "user": user, "listed": listed},
                )

    migrate.upgrade(database_url)
    with engine.connect() as connection:
        conditions = connection.execute(text("SELECT authorisation_id, responsible, owed_to, purposes FROM condition"))
        assert sorted(
            (key, *(json.loads(v) if isinstance(v, str) else v for v in rest)) for key, *rest in conditions
        ) == [
            ("keeps-a-list", ["AII"], [], []),
            ("keeps-none", ["AII"], [], []),
        ]
        listed = connection.execute(
            text("SELECT authorisation_id, id, national_register_number_list FROM authorised_user")
        ).all()
        assert sorted((key, user, None if value is None else bool(value)) for key, user, value in listed) == [
            ("keeps-a-list", "u1", True),
            ("keeps-a-list", "u2", False),  # now held to the list the authorisation keeps
            ("keeps-none", "u1", None),  # nobody was on a list: no restriction, as before
            ("keeps-none", "u2", None),
        ]
        kinds = connection.execute(text("SELECT id, label FROM data_subject_kind ORDER BY id")).all()
        assert [tuple(row) for row in kinds] == [
            ("gezinslid", "gezinslid"),
            ("inburgeraar", "inburgeraar"),
            ("ouder", "ouder"),
        ]
        documents = {
            key: (json.loads(document) if isinstance(document, str) else document, digest)
            for key, document, digest in connection.execute(
                text("SELECT authorisation_id, document, digest FROM authorisation_version")
            )
        }
        assert documents["keeps-a-list"] == (  # as it was
            {
                "id": "keeps-a-list",
                "authorised_users": [
                    {"id": "u1", "national_register_number_list": True},
                    {"id": "u2", "national_register_number_list": False},
                ],
            },
            "old",
        )
        unstated = {"id": "keeps-none", "authorised_users": [{"id": "u1"}, {"id": "u2"}]}
        assert documents["keeps-none"] == (unstated, registry_rows.digest(unstated))  # the filled-in false is gone
        exceptions = connection.execute(text("SELECT onward_disclosure_exceptions FROM authorisation")).scalars().all()
        assert [json.loads(e) if isinstance(e, str) else e for e in exceptions] == [[], []]

    migrate.downgrade(database_url, "0006")
    assert "responsible_id" in {column["name"] for column in inspect(engine).get_columns("condition")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT DISTINCT responsible_id FROM condition")).scalars().all() == ["AII"]
        assert (
            connection.execute(
                text("SELECT count(*) FROM authorised_user WHERE national_register_number_list IS NULL")
            ).scalar_one()
            == 0
        )
    engine.dispose()


def test_a_request_that_names_nobody_under_the_gate_is_one_to_review(seeded: Engine, run_cli: Cli) -> None:
    """§100: the consultants check access against the samples; a request that tried the gate
    without naming the person is shown to them, beside those outside the samples."""
    run_cli(*check_args({**UNNAMED, "at": "2018-01-01"}))
    run_cli(*check_args({**SEED_ASK, "at": "2018-01-01"}))
    records = [json.loads(line) for line in run_cli("audit", "report", "--format", "jsonl").stdout.splitlines()]
    assert [[r["code"] for r in record["reasons"]] for record in records] == [["data-subject-required"]]


def test_no_flow_from_another_source_in_dutch(seeded: Engine, run_cli: Cli) -> None:
    answer = run_cli(*check_args({**UNNAMED, "source": "VTC"}), "--lang", "nl", "--format", "json")
    assert (
        json.loads(answer.stdout)["reasons"][0]["message"]
        == "geen gemachtigde gegevensstroom gaat naar WSE-ESF vanuit VTC"
    )


def test_a_correction_is_of_the_same_person_and_may_keep_the_day(
    seeded: Engine, run_cli: Cli, seed_document: dict[str, Any], tmp_path: Path
) -> None:
    """Declaration 1 (esf-controller-1, 2017-10-02) is the previous holder's once the post changes
    hands: it cannot be corrected into the new holder's, who may sign on that same day too."""
    fixed = run_cli(
        "declare", SEED_ID, "esf-controller-1", "--on", "2017-10-02", "--supersedes", "1", "--evidence", "map 2"
    )
    assert fixed.exit_code == 0, fixed.stderr  # the same day, other evidence
    seed_document["authorised_users"][0]["name"] = "Personeelslid 3 van afdeling ESF"
    assert run_cli("apply", str(write_yaml(tmp_path, "seed.yaml", seed_document))).exit_code == 0
    crossed = run_cli("declare", SEED_ID, "esf-controller-1", "--on", "2017-10-03", "--supersedes", "3")
    assert crossed.exit_code == 2 and f"no declaration 3 of {SEED_ID}/esf-controller-1" in crossed.stderr
    assert run_cli("declare", SEED_ID, "esf-controller-1", "--on", "2017-10-02").exit_code == 0
    assert codes(run_cli, "2017-10-02")[0] == "allow"
