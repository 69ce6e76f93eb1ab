"""A decision request (DESIGN §3): the input every surface takes, checked once, and the
``DecisionRequest`` the engine decides, with the day it is about and the data subject hashed.

A surface loads its input with ``RequestSchema`` (the HTTP API through flask-smorest, the CLI
through ``load_request``, the decision tables as a nested field of a case) and hands the loaded
fields to the decision service, which builds the request with ``request_from``;
malformed input is an error (``Invalid``, naming the field), never a decision.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any

from marshmallow import Schema, ValidationError

from authreg.domain.clock import local_day
from authreg.domain.document_format import MAX_ID_LENGTH, MAX_MOMENT_LENGTH, AnyId, BoundedText
from authreg.domain.documents import flatten_messages
from authreg.domain.errors import Invalid, Problem
from authreg.domain.insz import InvalidInsz
from authreg.domain.snapshot import Snapshot
from authreg.domain.subjects import SecretUnusable, subject_hash

READ = "read"


class RequestSchema(Schema):
    """A decision request (DESIGN §3), as the CLI and the HTTP API take it. Every field but
    ``at`` and ``data_subject`` names an id, so it is bounded as ids are; what is asked is logged."""

    class Meta:
        unknown = "raise"

    user = AnyId(required=True)
    organisation = AnyId(required=True)
    action = AnyId(load_default=READ)
    data_category = AnyId(required=True)
    purpose = AnyId(required=True)
    at = BoundedText(MAX_MOMENT_LENGTH, load_default=None)
    source = BoundedText(MAX_ID_LENGTH, load_default=None)
    data_subject = BoundedText(MAX_ID_LENGTH, load_default=None)
    subject_kind = AnyId(load_default=None)


_REQUEST = RequestSchema()


@dataclass(frozen=True)
class DecisionRequest:
    user: str
    organisation: str
    data_category: str
    purpose: str
    action: str
    at: str  # as asked (ISO date or datetime), for the audit log
    day: date  # the calendar day in the legal time zone
    source: str = ""
    subject: str = ""  # keyed hash of the INSZ, never the INSZ itself
    subject_kind: str = ""  # the kind of person (a data-subjects id), when the caller says

    @cached_property
    def day_text(self) -> str:
        return self.day.isoformat()

    def as_logged(self) -> dict[str, str]:
        logged = {
            "user": self.user,
            "organisation": self.organisation,
            "action": self.action,
            "data_category": self.data_category,
            "purpose": self.purpose,
            "at": self.at,
        }
        if self.source:
            logged["source"] = self.source
        if self.subject:
            logged["data_subject_hash"] = self.subject
        if self.subject_kind:
            logged["subject_kind"] = self.subject_kind
        return logged

    @classmethod
    def from_logged(cls, logged: Any, day: date) -> DecisionRequest:
        """``as_logged`` read back, on the day it was evaluated (a replay asks it again); a
        TypeError, KeyError or ValueError for anything else (an entry tampered with)."""
        if not isinstance(logged, dict):
            raise TypeError("not a JSON object")
        texts = {key: value for key, value in logged.items() if isinstance(value, str)}
        if len(texts) != len(logged):
            raise ValueError("a field is not a text")
        return cls(
            user=texts["user"],
            organisation=texts["organisation"],
            data_category=texts["data_category"],
            purpose=texts["purpose"],
            action=texts["action"],
            at=texts["at"],
            day=day,
            source=texts.get("source", ""),
            subject=texts.get("data_subject_hash", ""),
            subject_kind=texts.get("subject_kind", ""),
        )


def parse_at(text: str | None, *, now: datetime, timezone: str) -> tuple[str, date]:
    """A date is that day; a datetime (UTC when it has no offset) is converted to the legal
    time zone and its calendar date is used."""
    if text is None:
        return now.isoformat(), local_day(now, timezone)
    try:
        if len(text) == 10:
            return text, date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid([Problem("", "at", f"not an ISO 8601 date or datetime: {text!r}")]) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return text, local_day(moment, timezone)
    except OverflowError as exc:  # 9999-12-31T23:59:59-12:00 is a day past the last date there is
        raise Invalid([Problem("", "at", f"outside the calendar in {timezone}: {text!r}")]) from exc


def load_request(data: Any) -> dict[str, Any]:
    """Check input against ``RequestSchema``: the loaded fields, defaults filled in."""
    try:
        loaded: dict[str, Any] = _REQUEST.load(data)
    except ValidationError as exc:
        raise Invalid([Problem("", path, msg) for path, msg in flatten_messages(exc.messages)]) from exc
    return loaded


def request_from(loaded: dict[str, Any], *, now: datetime, timezone: str, secret: str | None) -> DecisionRequest:
    """The request to decide, from fields ``RequestSchema`` loaded: the day it is about (``at``)
    and the subject's keyed hash, each refused with its field's name."""
    at, day = parse_at(loaded["at"], now=now, timezone=timezone)
    subject = ""
    if loaded["data_subject"] is not None:
        if secret is None:
            raise SecretUnusable("no usable secret key to hash the data subject with; see AUTHREG_SECRET_KEY")
        try:
            subject = subject_hash(loaded["data_subject"], secret)
        except InvalidInsz as exc:
            raise Invalid([Problem("", "data_subject", str(exc))]) from exc
    # The names are interned, as the policy lines' are: the index and Casbin's matcher then find
    # them equal by identity, without reading either string (at 10,000 authorisations each read
    # of a line's string is a cache miss)
    return DecisionRequest(
        user=sys.intern(loaded["user"]),
        organisation=sys.intern(loaded["organisation"]),
        data_category=sys.intern(loaded["data_category"]),
        purpose=sys.intern(loaded["purpose"]),
        action=sys.intern(loaded["action"]),
        at=at,
        day=day,
        source=sys.intern(loaded["source"] or ""),
        subject=subject,
        subject_kind=sys.intern(loaded["subject_kind"] or ""),
    )


def needs_number(snapshot: Snapshot, request: DecisionRequest) -> bool:
    """A request about a named person, or for a category holding the national register number."""
    return bool(request.subject) or snapshot.needs_national_register_number(request.data_category)
