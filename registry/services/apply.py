"""``apply``: bring the registry to what a batch of documents says, in one transaction.

A document already stored as it is stays ``unchanged`` (compared on the canonical form, so
formatting and key order do not matter); a changed authorisation becomes a new version and
its diff is reported, and so is every stored authorisation whose flows a change of the
taxonomy makes grant something else. ``dry_run`` computes the same report and writes nothing.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Engine
from sqlmodel import Session

from authreg.domain import yaml_input
from authreg.domain.documents import Document, Problem, merge
from authreg.domain.errors import Conflict, NotFound
from authreg.storage import registry_rows
from authreg.storage.sessions import transaction

Status = Literal["created", "changed", "unchanged"]


@dataclass(frozen=True)
class Change:
    """What applying one document does (or would do)."""

    kind: str
    key: str
    source: str
    status: Status
    version: int | None = None
    summary: str = ""
    diff: str = ""
    # stored authorisations that answer otherwise after this change: their flows grant something
    # else after a change of categories, "id (flows a, b)"; or this one (no longer) replaces them,
    # "id (replaced from DAY)", "id (no longer replaced)"
    affects: tuple[str, ...] = ()


@dataclass
class ApplyReport:
    changes: list[Change] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    registry_version: int | None = None
    dry_run: bool = False
    # the authorisations whose compiled policy the change alters; None: the whole registry
    touched: list[str] | None = field(default_factory=list)
    # the authorisations written and those they replace, now or before (also when ``touched``
    # is None): what must be read again besides organisations and the taxonomy
    written: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(change.status != "unchanged" for change in self.changes)


def diff_text(before: Any, after: Any, label_before: str, label_after: str) -> str:
    """A unified diff of two values as YAML: what a privacy officer reviews before applying."""
    lines = difflib.unified_diff(
        yaml_input.dump(before).splitlines(),
        yaml_input.dump(after).splitlines(),
        label_before,
        label_after,
        lineterm="",
    )
    return "\n".join(lines)


def apply_documents(
    engine: Engine,
    documents: list[Document],
    *,
    actor: str,
    now: datetime,
    dry_run: bool = False,
    expected_versions: Mapping[str, int | None] | None = None,
    rehearse: Callable[[Session, ApplyReport], None] | None = None,
) -> ApplyReport:
    """Validate the batch against the registry and write it; all or nothing.

    ``expected_versions`` (authorisation id -> the version the caller changes, None for "must
    not exist yet") makes a concurrent change a Conflict instead of a lost update.

    ``rehearse`` makes it a dry run that writes: the change is made as it would be, handed to
    ``rehearse`` in its still open transaction (to read the registry as it would be after it),
    and rolled back. The registry after a change is read by the code that reads it for real,
    not by a second rendering of what the change would do."""
    report = ApplyReport(dry_run=dry_run or rehearse is not None)
    try:
        with transaction(engine) as session:
            write = not dry_run
            _apply(session, documents, report, actor=actor, now=now, expected_versions=expected_versions, write=write)
            if rehearse is not None:
                rehearse(session, report)
                raise _Rehearsed
    except _Rehearsed:
        pass
    return report


class _Rehearsed(Exception):
    """Rolls a rehearsed change back (``transaction`` rolls back on any exception)."""


def _apply(
    session: Session,
    documents: list[Document],
    report: ApplyReport,
    *,
    actor: str,
    now: datetime,
    expected_versions: Mapping[str, int | None] | None,
    write: bool,
) -> None:
    registry_rows.lock_authorisations(session, (d.key for d in documents if d.kind == "authorisation"))
    context = registry_rows.load_context(session)
    merged = merge(context, documents)
    report.warnings = merged.warnings
    stored = registry_rows.current_documents(session, (d.key for d in documents if d.kind == "authorisation"))
    for key, expected in (expected_versions or {}).items():
        found = stored[key][0] if key in stored else None
        if found != expected:
            if expected is None:
                raise Conflict(f"authorisation {key!r} exists already (version {found})")
            if found is None:
                raise NotFound(f"no authorisation {key!r}")
            raise Conflict(f"authorisation {key!r} is at version {found}, not {expected}")
    to_write: list[Document] = []
    replaced = _replaced_ids(documents, stored)
    known = registry_rows.existing(session, replaced) | {d.key for d in documents}
    replacing = registry_rows.replacements(session, replaced)
    for document in documents:
        if document.kind == "organisations":
            entries = {entry["id"]: merged.organisations[entry["id"]] for entry in document.body["organisations"]}
            report.changes.append(_entries_change(document, entries, context.organisations, "organisation"))
        elif document.kind == "taxonomy":
            entries = {entry["id"]: merged.categories[entry["id"]] for entry in document.body["taxonomy"]}
            kinds = {entry["id"]: merged.subject_kinds[entry["id"]] for entry in document.body["data_subjects"]}
            change = _entries_change(
                document, entries, context.categories, "category", (kinds, context.subject_kinds, "data subject")
            )
            affects = _affects(session, context.categories, merged.categories, entries, besides=None)
            report.changes.append(replace(change, affects=affects))
        else:
            change = _authorisation_change(document, stored.get(document.key))
            own = [entry["id"] for entry in document.body["taxonomy"]]
            affects = _affects(session, context.categories, merged.categories, own, besides=document.key)
            before = stored.get(document.key, (0, {}))[1]
            change = replace(change, affects=affects + _replacing(document, before, replacing, known))
            report.warnings += _number_list_dropped(document, before)
            report.changes.append(change)
            if change.status != "unchanged":
                to_write.append(document)
    # Includes organisations that parties introduce and an authorisation's own categories.
    changed_orgs = _different(merged.organisations, context.organisations)
    changed_categories = _different(merged.categories, context.categories)
    changed_kinds = _different(merged.subject_kinds, context.subject_kinds)
    if not write or not (to_write or changed_orgs or changed_categories or changed_kinds):
        return
    registry_rows.write_organisations(session, changed_orgs)
    registry_rows.write_categories(session, changed_categories, merged.category_owners)
    registry_rows.write_subject_kinds(session, changed_kinds)
    for document in to_write:
        registry_rows.write_authorisation(
            session, document, actor=actor, note=f"applied from {document.source}", now=now
        )
    summary = ", ".join(f"{c.status} {c.kind} {c.key}" for c in report.changes if c.status != "unchanged")
    registry_wide = bool(changed_categories or _shaping(changed_orgs, context.organisations))
    report.written = _touched(to_write, stored)
    report.touched = None if registry_wide else report.written
    report.registry_version = registry_rows.record_change(
        session,
        actor=actor,
        summary=f"apply: {summary or 'organisations and taxonomy'}",
        now=now,
        authorisations=report.touched,
    )


def _touched(written: list[Document], stored: Mapping[str, tuple[int, dict[str, Any]]]) -> list[str]:
    """The written authorisations and those they replace, now or before the change: whether an
    authorisation is replaced, and from when, is part of its compiled policy, so a replacement
    added, moved or dropped must recompile the replaced one too (or it goes on allowing)."""
    touched: set[str] = set()
    for document in written:
        before = stored.get(document.key, (0, {}))[1]
        touched.update([document.key, *document.body["replaces"], *before.get("replaces", [])])
    return sorted(touched)


def _shaping(changed: Mapping[str, dict[str, Any]], before: Mapping[str, dict[str, Any]]) -> list[str]:
    """The changed organisations whose change reaches the policy: a contact (where reminders go)
    does not, so changing one recompiles nothing."""

    def policy_part(entry: Mapping[str, Any] | None) -> dict[str, Any]:
        return {key: value for key, value in (entry or {}).items() if key != "contact"}

    return [key for key, entry in changed.items() if policy_part(entry) != policy_part(before.get(key))]


def _different(entries: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {key: entry for key, entry in entries.items() if before.get(key) != entry}


def _affects(
    session: Session,
    before: Mapping[str, dict[str, Any]],
    after: Mapping[str, dict[str, Any]],
    declared: Iterable[str],
    *,
    besides: str | None,
) -> tuple[str, ...]:
    """The stored authorisations (other than ``besides``) whose flows grant something else once
    the ``declared`` categories are as in ``after``, as "id (flows a, b)"."""
    changed = [key for key in declared if before.get(key) != after[key]]
    granting = registry_rows.flows_granting(session, _touched_categories(before, after, changed))
    return tuple(f"{key} (flows {', '.join(flows)})" for key, flows in granting.items() if key != besides)


def _number_list_dropped(document: Document, before: Mapping[str, Any]) -> list[Problem]:
    """A warning where a change drops the list of staff who may use the national register
    number (§79-80): once no user states ``national_register_number_list``, every listed user
    may use the number. Allowed (a decision may lift the list), but never silently."""

    def keeps(users: Iterable[Mapping[str, Any]]) -> bool:
        return any(user.get("national_register_number_list") is not None for user in users)

    users = document.body["authorised_users"]
    if users and keeps(before.get("authorised_users", [])) and not keeps(users):
        message = (
            "no user states national_register_number_list any more: the list of staff who may use the national"
            " register number (§79-80) is dropped, and every listed user may use it"
        )
        return [Problem(document.source, "authorised_users", message)]
    return []


def _replaced_ids(documents: Iterable[Document], stored: Mapping[str, tuple[int, dict[str, Any]]]) -> set[str]:
    """Every id the batch's authorisations replace, or replaced before."""
    found: set[str] = set()
    for document in documents:
        if document.kind == "authorisation":
            found.update(document.body["replaces"], stored.get(document.key, (0, {}))[1].get("replaces", []))
    return found


def _replacing(
    document: Document, before: Mapping[str, Any], replacing: Mapping[str, dict[str, date]], known: set[str]
) -> tuple[str, ...]:
    """The registered authorisations (``known``) from which another day on this change makes
    them replaced: an authorisation is replaced from the earliest ``valid_from`` of all that
    replace it (``replacing``: the stored ones, by id), so a change that leaves an earlier
    replacement in force, or another one still replacing it, moves nothing and is not listed.
    Each as "id (replaced from DAY)" or "id (no longer replaced)"."""
    old, new = before.get("replaces", []), document.body["replaces"]
    lines = []
    for key in [*new, *(key for key in old if key not in new)]:
        if key not in known:
            continue
        others = [day for by, day in replacing.get(key, {}).items() if by != document.key]
        was = min([*others, *([date.fromisoformat(before["valid_from"])] if key in old else [])], default=None)
        now = min([*others, *([document.body["valid_from"]] if key in new else [])], default=None)
        if was != now:
            lines.append(f"{key} (replaced from {now})" if now is not None else f"{key} (no longer replaced)")
    return tuple(lines)


def _touched_categories(
    before: Mapping[str, dict[str, Any]], after: Mapping[str, dict[str, Any]], changed: Iterable[str]
) -> set[str]:
    """The categories whose grant decides otherwise once the ``changed`` ones are as in ``after``.

    A flow granting a category grants its descendants, and a request needs the national register
    number when the category asked for, or one below it, holds it. So a new category, or one
    moved to another parent, changes what its ancestors grant and need (above its old place and
    above its new one); a changed ``national_register_number`` or ``sensitive`` changes the
    category itself and its ancestors; a label changes nothing.
    """
    touched: set[str] = set()
    for key in changed:
        old, new = before.get(key), after[key]
        chains = _ancestors(before, key) | _ancestors(after, key)
        if old is None or old.get("parent") != new.get("parent"):
            touched |= chains
        if old is not None and any(old[flag] != new[flag] for flag in ("national_register_number", "sensitive")):
            touched |= chains | {key}
    return touched


def _ancestors(categories: Mapping[str, dict[str, Any]], key: str) -> set[str]:
    """Every category above ``key`` (not itself); a cycle, which ``merge`` refuses, ends it."""
    found: set[str] = set()
    parent = categories.get(key, {}).get("parent")
    while parent is not None and parent in categories and parent not in found:
        found.add(parent)
        parent = categories[parent].get("parent")
    return found


Entries = dict[str, dict[str, Any]]


def _entries_change(
    document: Document, entries: Entries, before: Entries, noun: str, *more: tuple[Entries, Entries, str]
) -> Change:
    """Entries added, updated and unchanged, over one or more vocabularies of the document."""
    added: list[str] = []
    updated: list[str] = []
    lines: list[str] = []
    total = 0
    for found, known, name in ((entries, before, noun), *more):
        new = [key for key in found if key not in known]
        changed = [key for key in found if key in known and known[key] != found[key]]
        added += new
        updated += changed
        total += len(found)
        lines += [f"added {', '.join(new)}"] if new else []
        lines += [diff_text({key: known[key]}, {key: found[key]}, f"{name} {key}", f"{name} {key}") for key in changed]
    status: Status = "changed" if added or updated else "unchanged"
    summary = f"{len(added)} added, {len(updated)} updated, {total - len(added) - len(updated)} unchanged"
    return Change(document.kind, document.kind, document.source, status, summary=summary, diff="\n".join(lines))


def _authorisation_change(document: Document, stored: tuple[int, dict[str, Any]] | None) -> Change:
    canonical = document.canonical()
    if stored is None:
        return Change("authorisation", document.key, document.source, "created", version=1)
    version, before = stored
    if registry_rows.digest(before) == registry_rows.digest(canonical):
        return Change("authorisation", document.key, document.source, "unchanged", version=version)
    diff = diff_text(before, canonical, f"{document.key} version {version}", f"{document.key} version {version + 1}")
    return Change("authorisation", document.key, document.source, "changed", version=version + 1, diff=diff)
