"""Decision tables (``authreg test``), like ``opa test``: YAML files of requests with a fixed
day and the decision and reason codes expected, run against the policy files they name plus
the facts they record (declarations, events, fulfilments, samples, status changes), in a
throw-away registry.

    name: the AMIF decision
    policies: [../]                 # relative to this file; default: the folder above tests/
    at: 2018-01-01                  # default day of the cases
    facts:
      - declare: {authorisation: vtc-2017-amif-aii-wse, user: esf-controller-1, on: 2017-10-02}
      - sample: {authorisation: vtc-2017-amif-aii-wse, id: s1, drawn_on: 2018-03-01, subjects: [85073003328]}
      - communicate: {authorisation: vtc-2017-amif-aii-wse, id: s1, on: 2018-03-01, to: [WSE-ESF]}
        refused: true               # a fact the registry must refuse (the table fails if it is accepted)
    cases:
      - name: a controller reads a name
        request: {user: esf-controller-1, organisation: WSE-ESF, data_category: naam, purpose: amif-eligibility}
        expect: {decision: allow, authorisation: vtc-2017-amif-aii-wse, flow: aii-to-esf,
                 obligations: [onward-disclosure, retention]}

``reasons``, ``warnings`` and ``obligations`` list codes; each is compared (as a set) only when
the case states it, except ``reasons``, which is always compared (none stated: none expected).
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import Engine

from registry import migrate, recording, yamlio
from registry.applying import apply_documents
from registry.asking import DecisionService
from registry.db import make_engine
from registry.decisions import Decision, decide, parse_at, parse_request
from registry.documents import flatten_messages, read_paths
from registry.errors import Conflict, Invalid, NotFound, Problem
from registry.reports import condition_states
from registry.store import utcnow


class _Expect(Schema):
    class Meta:
        unknown = "raise"

    decision = fields.String(required=True, validate=validate.OneOf(["allow", "deny"]))
    reasons = fields.List(fields.String())
    warnings = fields.List(fields.String())
    obligations = fields.List(fields.String())
    authorisation = fields.String(allow_none=True)
    flow = fields.String(allow_none=True)


class _Case(Schema):
    class Meta:
        unknown = "raise"

    name = fields.String(required=True)
    at = fields.String()
    request = fields.Dict()
    expect = fields.Nested(_Expect)
    # authorisation id -> {condition id: expected state}, judged on the case's day
    conditions = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String()))

    @validates_schema
    def _one_question(self, data: dict[str, Any], **_: Any) -> None:
        """A case asks for a decision (request and expect) or for the state of conditions."""
        if ("conditions" in data) == ("request" in data or "expect" in data):
            raise ValidationError("either request and expect, or conditions", "request")
        if "conditions" not in data and not ("request" in data and "expect" in data):
            raise ValidationError("request and expect go together", "expect")


class _Table(Schema):
    class Meta:
        unknown = "raise"

    name = fields.String(required=True)
    policies = fields.List(fields.String())
    at = fields.String()
    facts = fields.List(fields.Dict(), load_default=list)
    cases = fields.List(fields.Nested(_Case), required=True, validate=validate.Length(min=1))


@dataclass(frozen=True)
class CaseResult:
    table: str
    case: str
    passed: bool
    expected: str
    got: str


FACTS = ("declare", "event", "fulfil", "sample", "extend", "communicate", "suspend", "reinstate", "revoke")


def _describe(decision: str, codes: list[str]) -> str:
    return f"{decision} [{', '.join(sorted(codes))}]" if codes else decision


def _day(value: Any) -> date:
    return date.fromisoformat(str(value))


def _record(db: Engine, table: str, fact: dict[str, Any], secret: str, timezone: str) -> CaseResult | None:
    """One fact of the table, recorded through the same functions the CLI and API use. A fact
    marked ``refused: true`` must be refused: it becomes a result of its own, failed if the
    registry accepts it."""
    named = {key: value for key, value in fact.items() if key != "refused"}
    if len(named) != 1 or fact.get("refused", False) not in (True, False):
        raise Invalid([Problem("", "facts", f"one of {', '.join(FACTS)} (and refused: true or false): {fact}")])
    ((kind, args),) = named.items()
    if kind not in FACTS:
        raise Invalid([Problem("", "facts", f"unknown fact {kind!r}")])
    action = _action(db, kind, args, secret, timezone)
    if not fact.get("refused"):
        action()
        return None
    try:
        action()
    except (Invalid, NotFound, Conflict) as refusal:
        return CaseResult(table, f"refused: {kind}", True, "refused", f"refused ({refusal})")
    return CaseResult(table, f"refused: {kind}", False, "refused", "accepted")


def _action(db: Engine, kind: str, args: dict[str, Any], secret: str, timezone: str) -> Callable[[], Any]:
    clock = recording.Clock.current(timezone)
    common: dict[str, Any] = {"actor": "authreg test", "clock": clock}
    actions: dict[str, Callable[[], Any]] = {
        "declare": lambda: recording.record_declaration(
            db, authorisation=args["authorisation"], user=args["user"], signed_on=_day(args["on"]), **common
        ),
        "event": lambda: recording.record_event(
            db, authorisation=args["authorisation"], event=args["event"], occurred_on=_day(args["on"]), **common
        ),
        "fulfil": lambda: recording.record_fulfilment(
            db,
            authorisation=args["authorisation"],
            condition=args["condition"],
            fulfilled_on=_day(args["on"]),
            evidence=args.get("evidence", "decision table"),
            **common,
        ),
        "sample": lambda: recording.register_sample(
            db,
            authorisation=args["authorisation"],
            sample=args["id"],
            drawn_on=_day(args["drawn_on"]),
            subjects=[str(s) for s in args["subjects"]],
            secret=secret,
            **common,
        ),
        "extend": lambda: recording.extend_sample(
            db,
            authorisation=args["authorisation"],
            sample=args["id"],
            on=_day(args["on"]),
            subjects=[str(s) for s in args["subjects"]],
            secret=secret,
            **common,
        ),
        "communicate": lambda: recording.communicate_sample(
            db, authorisation=args["authorisation"], sample=args["id"], on=_day(args["on"]), to=args["to"], **common
        ),
    }
    for change in ("suspend", "reinstate", "revoke"):
        actions[change] = lambda change=change: recording.change_status(  # type: ignore[misc]
            db, authorisation=args["authorisation"], kind=change, on=_day(args["on"]), reason=args["reason"], **common
        )
    return actions[kind]


def load_table(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = _Table().load(yamlio.load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        raise Invalid([Problem(str(path), "", f"not valid YAML: {exc}")]) from exc
    except ValidationError as exc:
        raise Invalid([Problem(str(path), p, m) for p, m in flatten_messages(exc.messages)]) from exc
    return loaded


def run_table(path: Path, *, timezone: str = "Europe/Brussels") -> list[CaseResult]:
    table = load_table(path)
    if "policies" in table:
        policies = [path.parent / p for p in table["policies"]]
    else:
        policies = [path.parent.parent if path.parent.name == "tests" else path.parent]
    secret = secrets.token_hex(32)  # the registry is thrown away with its hashes
    results: list[CaseResult] = []
    with tempfile.TemporaryDirectory(prefix="authreg-test-") as folder:
        url = f"sqlite:///{folder}/table.db"
        migrate.upgrade(url)
        db = make_engine(url)
        try:
            apply_documents(db, read_paths(policies), actor="authreg test", now=utcnow())
            for fact in table["facts"]:
                refusal = _record(db, str(path), fact, secret, timezone)
                if refusal is not None:
                    results.append(refusal)
            service = DecisionService.load(db, timezone=timezone, secret=secret)
            for case in table["cases"]:
                at = case.get("at", table.get("at"))
                if "conditions" in case:
                    results.append(
                        _judge_conditions(db, str(path), case, parse_at(at, now=utcnow(), timezone=timezone)[1])
                    )
                    continue
                request = parse_request({**case["request"], "at": at}, now=utcnow(), timezone=timezone, secret=secret)
                results.append(_judge(str(path), case, decide(service.policy, request)))
        finally:
            db.dispose()
    return results


def _judge(table: str, case: dict[str, Any], decision: Decision) -> CaseResult:
    expect = case["expect"]
    codes = [r.code for r in decision.reasons if r.code != "allowed"]
    warnings = [w.code for w in decision.warnings]
    wanted = _describe(expect["decision"], expect.get("reasons", []))
    got = _describe(decision.decision, codes)
    passed = decision.decision == expect["decision"] and sorted(codes) == sorted(expect.get("reasons", []))
    for key, actual in (("authorisation", decision.authorisation), ("flow", decision.flow)):
        if key in expect:
            passed &= expect[key] == actual
            wanted += f" {key}={expect[key]}"
            got += f" {key}={actual}"
    for key, codes_given in (("warnings", warnings), ("obligations", [o.code for o in decision.obligations])):
        if key in expect:
            passed &= sorted(expect[key]) == sorted(codes_given)
            wanted += f" {key}={sorted(expect[key])}"
            got += f" {key}={sorted(codes_given)}"
    return CaseResult(table, case["name"], passed, wanted, got)


def _judge_conditions(db: Engine, table: str, case: dict[str, Any], day: date) -> CaseResult:
    """The states a manager would see on ``day`` (``authreg conditions --at``), for the
    conditions the case names; one it names that does not exist fails the case."""
    found = {(s.authorisation, s.condition): s.state for s in condition_states(db, at=day, window_days=30)}
    wanted = {(auth, cond): state for auth, states in case["conditions"].items() for cond, state in states.items()}
    got = {key: found.get(key, "no such condition") for key in wanted}

    def describe(states: dict[tuple[str, str], str]) -> str:
        return ", ".join(f"{auth}/{cond}={state}" for (auth, cond), state in sorted(states.items()))

    return CaseResult(table, case["name"], got == wanted, describe(wanted), describe(got))
