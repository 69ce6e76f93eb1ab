"""The public transparency register: the authorisations in force on a day, who discloses to
whom, for which purposes, which kinds of data, until when, and how long the data may be kept.

The model decision's §81-85 hold that the people whose data are exchanged must be able to know
it, even where the law exempts the bodies from telling each of them: the register is what
anyone may read, without a token. It is made only of what describes public bodies and their
exchange: never the authorised users, their declarations, samples or data subjects, remarks
or the decision's paragraphs. Categories are given at the top of the taxonomy (the kinds of
data, not the register's fine-grained ids).
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlmodel import select

from authreg.domain.conditions import AuthorisationFacts, condition_state
from authreg.domain.documents import flow_window
from authreg.domain.lifecycle import IN_FORCE
from authreg.storage import fact_rows, registry_rows
from authreg.storage.models import Organisation
from authreg.storage.sessions import reading

FIELDS = (
    "authorisation",
    "reference",
    "title",
    "authority",
    "disclosers",
    "recipients",
    "purposes",
    "categories",
    "valid_from",
    "valid_until",
    "retention_until",
)


@dataclass(frozen=True)
class PublicEntry:
    """One authorisation as the public sees it: organisations and categories by name."""

    authorisation: str
    reference: str
    title: str
    authority: str
    disclosers: tuple[str, ...]
    recipients: tuple[str, ...]
    purposes: tuple[str, ...]  # their descriptions, as the decision words them
    categories: tuple[str, ...]  # the labels of the taxonomy's top-level categories covered
    valid_from: date
    valid_until: date | None
    retention_until: date | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "authorisation": self.authorisation,
            "reference": self.reference,
            "title": self.title,
            "authority": self.authority,
            "disclosers": list(self.disclosers),
            "recipients": list(self.recipients),
            "purposes": list(self.purposes),
            "categories": list(self.categories),
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "retention_until": self.retention_until.isoformat() if self.retention_until else None,
        }


def entries(engine: Engine, *, at: date) -> list[PublicEntry]:
    """The authorisations in force on ``at``, by reference, each with the flows that run that
    day. In force as a decision sees it: after the recorded suspensions, revocations and
    replacements, and not while an overdue condition suspends it. Anyone may ask, so an answer
    is kept per registry version and day (``KEPT`` of them): asking again costs one query."""
    with _KEEPING:
        kept = _KEPT.setdefault(engine, {})
    with reading(engine) as session:
        key = (registry_rows.registry_version(session), at)
        if key in kept:
            return kept[key]
        gathered = fact_rows.facts(session)
        in_force = [facts.timeline.authorisation for facts in gathered if _in_force(facts, at)]
        documents = registry_rows.current_documents(session, in_force)
        taxonomy = registry_rows.categories(session)
        names = {org.id: org.name for org in session.exec(select(Organisation))}
    found = [entry for _, body in documents.values() if (entry := _entry(body, names, taxonomy, at)) is not None]
    found.sort(key=lambda entry: (entry.reference, entry.authorisation))
    with _KEEPING:
        while len(kept) >= KEPT:
            kept.pop(next(iter(kept)))
        kept[key] = found
    return found


KEPT = 16  # answers kept per engine: (registry version, day) -> the register
_KEEPING = threading.Lock()  # a server's threads share what is kept
_KEPT: WeakKeyDictionary[Engine, dict[tuple[int, date], list[PublicEntry]]] = WeakKeyDictionary()


def _in_force(facts: AuthorisationFacts, at: date) -> bool:
    if facts.timeline.state_on(at) != IN_FORCE:
        return False
    suspending = (condition for condition in facts.conditions if condition.effect == "suspend")
    return not any(condition_state(facts, condition, at, 0).state == "overdue" for condition in suspending)


def _entry(
    body: Mapping[str, Any], names: Mapping[str, str], taxonomy: Mapping[str, dict[str, Any]], at: date
) -> PublicEntry | None:
    """The authorisation as the public sees it on ``at``: the flows that run that day (a flow may
    have a window of its own); None when none does."""
    flows = [flow for flow in body["flows"] if _runs(flow, body, at)]
    if not flows:
        return None
    described = {purpose["id"]: purpose["description"] for purpose in body["purposes"]}
    purposes = sorted({described.get(key, key) for flow in flows for key in flow["purposes"]})
    tops = {_top(key, taxonomy) for flow in flows for key in flow["data_categories"]}
    return PublicEntry(
        authorisation=body["id"],
        reference=body["reference"],
        title=body["title"],
        authority=names.get(body["authority"], body["authority"]),
        disclosers=_named((flow["from"] for flow in flows), names),
        recipients=_named((flow["to"] for flow in flows), names),
        purposes=tuple(purposes),
        categories=tuple(sorted(taxonomy[key]["label"] if key in taxonomy else key for key in tops)),
        valid_from=date.fromisoformat(str(body["valid_from"])),
        valid_until=_day(body.get("valid_until")),
        retention_until=_day(body.get("retention_until")),
    )


def _runs(flow: Mapping[str, Any], body: Mapping[str, Any], at: date) -> bool:
    start, end = flow_window(body, flow)
    return start <= at and (end is None or at <= end)


def _top(category: str, taxonomy: Mapping[str, dict[str, Any]]) -> str:
    seen = {category}
    while (parent := taxonomy.get(category, {}).get("parent")) and parent not in seen:
        category = parent
        seen.add(parent)
    return category


def _named(ids: Iterable[str], names: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(sorted({names.get(key, key) for key in ids}))


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def csv_text(found: Iterable[PublicEntry]) -> str:
    """One row per authorisation; a field of several names joins them with "; "."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for entry in found:
        writer.writerow({key: _cell(value) for key, value in entry.as_dict().items()})
    return out.getvalue()


def _cell(value: Any) -> str:
    text = "; ".join(value) if isinstance(value, list) else str(value or "")
    # a spreadsheet would run a cell that begins like a formula, in a file anyone may download
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
