"""Conditions, fulfilments, samples, the iCalendar feed and the audit log over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from icalendar import Calendar
from sqlalchemy import Engine

from tests.conftest import SEED_ASK as ASK
from tests.conftest import SEED_ID, dump_tables

Headers = dict[str, dict[str, str]]


def states(api: Flask, bearer: Headers, query: str) -> dict[str, str]:
    response = api.test_client().get(f"/api/v1/conditions?{query}", headers=bearer["manager"])
    assert response.status_code == 200
    return {c["condition"]: c["state"] for c in response.get_json()["conditions"]}


def test_conditions_as_of_a_day_and_by_state(api: Flask, bearer: Headers) -> None:
    assert states(api, bearer, "at=2017-12-01")["security-plan"] == "overdue"
    assert states(api, bearer, "at=2017-12-01&status=overdue") == {"security-plan": "overdue"}
    assert states(api, bearer, f"at=2023-07-01&authorisation={SEED_ID}") == dict.fromkeys(
        [
            "art16-security",
            "notice-art9",
            "processor-agreement-hbplus",
            "processor-agreement-realdolmen",
            "processor-no-access",
            "rrn-user-list",
            "samples-communicated",
            "security-plan",
            "validity-end",
        ],
        "expired",
    ) | {"retention-end": "open"}  # the deletion outlives the authorisation, due 2029-12-31
    unknown = api.test_client().get("/api/v1/conditions?authorisation=nope", headers=bearer["manager"])
    assert unknown.status_code == 404
    bad = api.test_client().get("/api/v1/conditions?status=late", headers=bearer["manager"])
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["path"] == "status"


def test_fulfilment_then_fulfilled_late(api: Flask, bearer: Headers) -> None:
    path = f"/api/v1/authorisations/{SEED_ID}/conditions/security-plan/fulfilments"
    body = {"fulfilled_on": "2018-01-15", "evidence": "brief aan de VTC", "link": "https://example.org/brief"}
    created = api.test_client().post(path, json=body, headers=bearer["privacy-officer"])
    assert created.status_code == 201
    assert created.get_json() == {"id": 1, "condition": "security-plan", "fulfilled_on": "2018-01-15"}
    assert states(api, bearer, "at=2018-02-01")["security-plan"] == "fulfilled-late"
    future = api.test_client().post(
        path, json={**body, "fulfilled_on": "2999-01-01"}, headers=bearer["privacy-officer"]
    )
    assert future.status_code == 422 and future.get_json()["errors"][0]["path"] == "fulfilled_on"
    unknown = api.test_client().post(
        f"/api/v1/authorisations/{SEED_ID}/conditions/nope/fulfilments", json=body, headers=bearer["privacy-officer"]
    )
    assert unknown.status_code == 404
    huge = api.test_client().post(path, json={**body, "supersedes": 2**70}, headers=bearer["privacy-officer"])
    assert huge.status_code == 422 and huge.get_json()["errors"][0]["path"] == "supersedes"


def test_samples_gate_decisions_at_once(api: Flask, bearer: Headers, seeded: Engine) -> None:
    client = api.test_client()
    officer, app = bearer["privacy-officer"], bearer["application"]
    asked = {**ASK, "at": "2018-03-05", "data_subject": "85073003328"}
    assert client.post("/api/v1/decisions", json=asked, headers=app).get_json()["decision"] == "deny"
    sample = {"id": "s1", "drawn_on": "2018-03-01", "subjects": ["85.07.30-033.28"]}
    assert client.post(f"/api/v1/authorisations/{SEED_ID}/samples", json=sample, headers=officer).status_code == 201
    assert states(api, bearer, "at=2018-03-02")["samples-communicated"] == "overdue"
    sent = {"communicated_on": "2018-03-02", "to": ["AII-SC"]}
    path = f"/api/v1/authorisations/{SEED_ID}/samples/s1"
    assert client.post(f"{path}/communications", json=sent, headers=officer).status_code == 201
    assert client.post("/api/v1/decisions", json=asked, headers=app).get_json()["decision"] == "allow"
    extended = client.post(f"{path}/subjects", json={"subjects": ["00010100105"], "on": "2018-03-10"}, headers=officer)
    assert extended.get_json() == {"id": "s1", "on": "2018-03-10", "added": 1}
    before = dump_tables(seeded)
    wrong = client.post(f"{path}/communications", json={**sent, "to": ["HBPLUS"]}, headers=officer)
    assert wrong.status_code == 422 and wrong.get_json()["errors"][0]["path"] == "to[0]"
    bad = client.post(
        f"/api/v1/authorisations/{SEED_ID}/samples", json={**sample, "id": "s2", "subjects": ["123"]}, headers=officer
    )
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["path"] == "subjects[0]"
    assert dump_tables(seeded) == before
    assert "85073003328" not in repr(dump_tables(seeded))


def test_the_ics_feed(api: Flask, bearer: Headers) -> None:
    response = api.test_client().get("/api/v1/conditions.ics?at=2017-12-01", headers=bearer["manager"])
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    events = [str(e["summary"]) for e in Calendar.from_ical(response.data).walk("VEVENT")]
    assert f"[overdue] {SEED_ID}: security-plan" in events


def test_audit_pages_and_verify(api: Flask, bearer: Headers) -> None:
    client = api.test_client()
    client.post(
        "/api/v1/decisions/batch",
        json={"requests": [{**ASK, "at": f"2018-01-0{d}"} for d in range(1, 6)]},
        headers=bearer["application"],
    )
    first = client.get("/api/v1/audit?limit=2", headers=bearer["auditor"]).get_json()
    assert [e["seq"] for e in first["entries"]] == [1, 2] and first["next"] == 2
    second = client.get(f"/api/v1/audit?limit=2&after={first['next']}", headers=bearer["auditor"]).get_json()
    assert [e["seq"] for e in second["entries"]] == [3, 4]
    last = client.get("/api/v1/audit?after=4", headers=bearer["auditor"]).get_json()
    assert ([e["seq"] for e in last["entries"]], last["next"]) == ([5], None)
    assert all(e["asked_by"] == "application-token" for e in first["entries"])
    denied = client.get("/api/v1/audit?decision=deny", headers=bearer["auditor"]).get_json()
    assert denied["entries"] == []
    verified = client.get("/api/v1/audit/verify", headers=bearer["auditor"]).get_json()
    assert verified == {
        "intact": True,
        "entries": 5,
        "broken_at": None,
        "problem": "",
        "legacy": 0,
        "anchored_at": None,  # no checkpoint yet in this server's folder
    }


@pytest.mark.parametrize(
    "query", ["from=someday", "limit=0", "limit=5000", "decision=maybe", "after=-1", f"after={2**70}"]
)
def test_audit_query_errors(api: Flask, bearer: Headers, query: str) -> None:
    response = api.test_client().get(f"/api/v1/audit?{query}", headers=bearer["auditor"])
    assert response.status_code == 422
    problem: dict[str, Any] = response.get_json()
    assert problem["errors"]
