"""Decision tables (``authreg test``), like ``opa test``: YAML files of requests with a fixed
day and the decision and reason codes expected, run against the policy files they name plus
the facts they record (declarations, events, fulfilments, samples, status changes), in a
throw-away registry.

    name: the AMIF decision
    policies: [../]                 # relative to this file; default: the folder above tests/
    at: 2018-01-01                  # default day of the cases
    facts:
      - declare: {authorisation: vtc-2017-amif-aii-wse, user: esf-controller-1, on: 2017-10-02}
      - sample: {authorisation: vtc-2017-amif-aii-wse, id: s1, drawn_on: 2017-12-01, subjects: ["85073003328"]}
      - communicate: {authorisation: vtc-2017-amif-aii-wse, id: s1, on: 2017-12-01, to: [WSE-ESF]}
        refused: true               # a fact the registry must refuse (the table fails if it is accepted)
      - communicate: {authorisation: vtc-2017-amif-aii-wse, id: s1, on: 2017-12-01, to: [KBI-SC]}
    cases:
      - name: a controller reads the name of a sampled person
        request: {user: esf-controller-1, organisation: WSE-ESF, data_category: naam, purpose: amif-eligibility,
                  data_subject: "85073003328"}
        expect: {decision: allow, authorisation: vtc-2017-amif-aii-wse, flow: aii-to-esf,
                 obligations: [onward-disclosure, onward-disclosure-exception, retention]}
      - name: the security plan is overdue
        conditions: {vtc-2017-amif-aii-wse: {security-plan: overdue}}

``reasons``, ``warnings`` and ``obligations`` list codes, compared in any order (a code given
twice is expected twice); each only when the case states it, except ``reasons``, which is always
compared (none stated: none expected).
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
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import Engine

from authreg.domain import yaml_input
from authreg.domain.clock import Clock, utcnow
from authreg.domain.decisions import Verdict
from authreg.domain.documents import flatten_messages, read_paths
from authreg.domain.errors import Conflict, Invalid, NotFound, Problem
from authreg.domain.lifecycle import ChangeKind
from authreg.domain.requests import RequestSchema, parse_at
from authreg.services import record_facts
from authreg.services.apply import apply_documents
from authreg.services.decision_service import DecisionService
from authreg.services.reports import condition_states
from authreg.storage import migrate
from authreg.storage.sessions import make_engine


class _Expect(Schema):
    class Meta:
        unknown = "raise"

    decision = fields.String(required=True, validate=validate.OneOf(list(Verdict)))
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
    request = fields.Nested(RequestSchema)  # checked when the table is read, named cases[i].request.field
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


def _describe(decision: str, codes: list[str]) -> str:
    return f"{decision} [{', '.join(sorted(codes))}]" if codes else decision


def _record(db: Engine, table: str, index: int, fact: Any, secret: str, timezone: str) -> CaseResult | None:
    """One fact of the table, checked field by field and recorded through the same functions the
    CLI and API use. A fact marked ``refused: true`` must be refused: it becomes a result of its
    own, failed if the registry accepts it."""
    where = f"facts[{index}]"
    named = {key: value for key, value in fact.items() if key != "refused"} if isinstance(fact, dict) else {}
    if len(named) != 1 or fact.get("refused", False) not in (True, False):
        raise Invalid([Problem(table, where, f"one of {', '.join(FACTS)}, and refused: true or false")])
    ((kind, args),) = named.items()
    if kind not in FACTS:
        raise Invalid([Problem(table, where, f"unknown fact {kind!r}: one of {', '.join(FACTS)}")])
    record, schema = FACTS[kind]
    try:
        given = schema.load(args)
    except ValidationError as exc:
        raise Invalid(
            [Problem(table, f"{where}.{kind}.{p}".rstrip("."), m) for p, m in flatten_messages(exc.messages)]
        ) from exc
    if kind in ("sample", "extend"):
        given["secret"] = secret
    clock = Clock.current(timezone)
    if not fact.get("refused"):
        record(db, **given, actor="authreg test", clock=clock)
        return None
    try:
        record(db, **given, actor="authreg test", clock=clock)
    except (Invalid, NotFound, Conflict) as refusal:
        return CaseResult(table, f"refused: {kind}", True, "refused", f"refused ({refusal})")
    return CaseResult(table, f"refused: {kind}", False, "refused", "accepted")


class _Text(fields.String):
    """A YAML scalar as text: an INSZ written without quotes is read as a number."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        text: str = super()._deserialize(value, attr, data, **kwargs)
        return text


def _fact(**given: fields.Field) -> Schema:
    """The fields of one kind of fact (YAML keys by ``data_key``, loaded as the recording
    function's parameters); unknown keys are refused."""
    schema: Schema = Schema.from_dict({"authorisation": _Text(required=True), **given})(unknown=RAISE)
    return schema


def _on(name: str = "on") -> fields.Date:
    return fields.Date(required=True, data_key=name)


def _status(kind: ChangeKind) -> Callable[..., Any]:
    return lambda db, **given: record_facts.change_status(db, kind=kind, **given)


_SUBJECTS = fields.List(_Text(), required=True)
_EVIDENCE = _Text(load_default=None)
FACTS: dict[str, tuple[Callable[..., Any], Schema]] = {
    "declare": (
        record_facts.record_declaration,
        _fact(
            user=_Text(required=True),
            signed_on=_on(),
            evidence=_EVIDENCE,
            supersedes=fields.Integer(strict=True, load_default=None),
        ),
    ),
    "event": (record_facts.record_event, _fact(event=_Text(required=True), occurred_on=_on(), evidence=_EVIDENCE)),
    "fulfil": (
        record_facts.record_fulfilment,
        _fact(
            condition=_Text(required=True),
            fulfilled_on=_on(),
            evidence=_Text(load_default="decision table"),
            link=_Text(load_default=None),
        ),
    ),
    "sample": (
        record_facts.register_sample,
        _fact(sample=_Text(required=True, data_key="id"), drawn_on=_on("drawn_on"), subjects=_SUBJECTS),
    ),
    "extend": (
        record_facts.extend_sample,
        _fact(sample=_Text(required=True, data_key="id"), on=_on(), subjects=_SUBJECTS),
    ),
    "communicate": (
        record_facts.communicate_sample,
        _fact(sample=_Text(required=True, data_key="id"), on=_on(), to=fields.List(_Text(), required=True)),
    ),
    **{
        kind: (_status(kind), _fact(on=_on(), reason=_Text(required=True)))
        for kind in ("suspend", "reinstate", "revoke")
    },
}


def load_table(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = _Table().load(yaml_input.load(path.read_text(encoding="utf-8")))
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
            for index, fact in enumerate(table["facts"]):
                refusal = _record(db, str(path), index, fact, secret, timezone)
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
                asked = {**case["request"], "at": case["request"]["at"] or at}  # the request's own day first
                answer = service.ask(asked, asked_by="authreg test", now=utcnow())
                results.append(_judge(str(path), case, answer))
        finally:
            db.dispose()
    return results


def _judge(table: str, case: dict[str, Any], answer: dict[str, Any]) -> CaseResult:
    """The answer held against what the case expects (the answer as the API gives it)."""
    expect = case["expect"]
    codes = [r["code"] for r in answer["reasons"] if r["code"] != "allowed"]
    wanted = _describe(expect["decision"], expect.get("reasons", []))
    got = _describe(answer["decision"], codes)
    passed = answer["decision"] == expect["decision"] and sorted(codes) == sorted(expect.get("reasons", []))
    for key in ("authorisation", "flow"):
        if key in expect:
            passed &= expect[key] == answer[key]
            wanted += f" {key}={expect[key]}"
            got += f" {key}={answer[key]}"
    for key in ("warnings", "obligations"):
        if key in expect:
            given = sorted(item["code"] for item in answer[key])
            passed &= sorted(expect[key]) == given
            wanted += f" {key}={sorted(expect[key])}"
            got += f" {key}={given}"
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
