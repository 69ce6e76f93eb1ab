"""Plain-text renderings for the terminal; no decisions are made here."""

from __future__ import annotations

from datetime import date
from typing import Any

from authreg.domain.conditions import ConditionState
from authreg.domain.lifecycle import Timeline
from authreg.services.apply import ApplyReport
from authreg.services.impact import ImpactReport

_TITLE_WIDTH = 60


def persons(count: int) -> str:
    return f"{count} person" if count == 1 else f"{count} persons"


def apply_report(report: ApplyReport) -> str:
    """Per document its outcome, the stored authorisations it affects, then its diff."""
    lines: list[str] = []
    for change in report.changes:
        what = f"{change.kind} {change.key}" if change.kind == "authorisation" else change.kind
        detail = f"version {change.version}" if change.version else change.summary
        lines.append(f"{change.status:<9} {what} ({detail}) {change.source}")
        lines.extend(f"    affects {affected}" for affected in change.affects)
        if change.diff:
            lines.extend("    " + line for line in change.diff.splitlines())
    if report.dry_run:
        lines.append("dry run: nothing written")
    elif report.registry_version is not None:
        lines.append(f"registry version {report.registry_version}")
    return "\n".join(lines)


def impact_text(report: ImpactReport) -> str:
    """How many logged decisions were replayed, how many would flip, and by whom and what."""
    since = f" since {report.since}" if report.since else ""
    counts = report.counts()
    lines = [
        f"replayed {report.replayed} logged decisions{since}: {len(report.flips)} would flip"
        f" ({counts['allow_to_deny']} allow -> deny, {counts['deny_to_allow']} deny -> allow)"
    ]
    if report.unreadable:
        lines.append(f"{report.unreadable} entries could not be read back and were not replayed")
    if report.drifted:
        lines.append(
            f"{report.drifted} logged answers differ today already, whatever the change (facts recorded since)"
        )
    for grouping, rows in report.groups().items():
        if rows:
            lines += ["", table(rows, [grouping, "allow_to_deny", "deny_to_allow"])]
    return "\n".join(lines)


def conditions_table(states: list[ConditionState]) -> str:
    rows = [
        {
            "authorisation": state.authorisation,
            "condition": state.condition,
            "kind": state.kind,
            "state": state.state,
            "due_on": state.due_on,
            "responsible": ", ".join(state.responsible),
            "owed_to": ", ".join(state.owed_to) or None,
            "paragraphs": ", ".join(f"§{n}" for n in state.paragraphs),
        }
        for state in states
    ]
    columns = ["authorisation", "condition", "kind", "state", "due_on", "responsible", "owed_to", "paragraphs"]
    return table(rows, columns)


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(value: Any) -> str:
        text = "-" if value is None else str(value)
        return text if len(text) <= _TITLE_WIDTH else text[: _TITLE_WIDTH - 1] + "…"

    cells = [[cell(row[column]) for column in columns] for row in rows]
    widths = [max([len(column), *(len(row[i]) for row in cells)]) for i, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def access_table(rows: list[dict[str, Any]], by_category: bool) -> str:
    """Access rows as a table, the purposes of otherwise equal rows in one cell (a flow serves
    its purposes alike); ``--format json`` gives one row per purpose."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        shown = {
            **row,
            "flow": f"{row['authorisation']}/{row['flow']}",
            "restricted": _restrictions(row),
            "purpose": [row["purpose"]],
        }
        key = tuple(str(value) for name, value in shown.items() if name != "purpose")
        if key in merged:
            merged[key]["purpose"].append(row["purpose"])
        else:
            merged[key] = shown
    lines = [{**row, "purpose": ", ".join(row["purpose"])} for row in merged.values()]
    who = ["organisation", "user"] if by_category else ["data_category"]
    return table(lines, [*who, "purpose", "source", "flow", "until", "restricted"])


def _restrictions(row: dict[str, Any]) -> str | None:
    """What narrows an access row, in a few words: no national register number (so no named
    person either), a sample gate (its id is in the JSON), the kinds of person the flow is about."""
    said = [] if row["national_register_number"] else ["no number"]
    if row["sample_gate"]:
        said.append("sampled persons only")
    if row["subject_kinds"]:
        said.append("about " + ", ".join(row["subject_kinds"]))
    return "; ".join(said) or None


def _paragraphs(numbers: list[int] | None) -> str:
    return f" (§{', §'.join(map(str, numbers))})" if numbers else ""


def authorisation_text(doc: dict[str, Any], timeline: Timeline, today: date) -> str:
    """A reading of one authorisation for a person: who, what, why, until when, on what terms."""
    cites = doc.get("paragraphs", {})
    lines = [
        f"{doc['id']}: {doc['title']}",
        f"  reference   {doc['reference']}",
        f"  decided     {doc['decided_on']} by {doc['authority']}{_paragraphs(cites.get('decided_on'))}",
        f"  valid       {doc['valid_from']} to {doc.get('valid_until', 'no end date')}"
        f"{_paragraphs(cites.get('valid_until'))}",
        f"  status      {timeline.status_on(today)} ({timeline.state_on(today)} on {today})",
    ]
    lines += [f"    {c.kind} from {c.on}: {c.reason}" for c in timeline.changes]
    if timeline.replaced_by:
        lines.append(f"    replaced from {timeline.replaced_from} by {', '.join(timeline.replaced_by)}")
    for key in ("frequency", "retention_until", "max_users"):
        if key in doc:
            lines.append(f"  {key.replace('_', ' '):<11} {doc[key]}{_paragraphs(cites.get(key))}")
    onward = doc.get("onward_disclosure")
    if onward is not None:
        rule = onward if isinstance(onward, str) else onward["rule"]
        lines.append(f"  onward      {rule}{_paragraphs(cites.get('onward_disclosure'))}")
        for exception in [] if isinstance(onward, str) else onward["exceptions"]:
            lines.append(
                f"    except {exception['to']}: {exception['description']}{_paragraphs(exception.get('paragraphs'))}"
            )
    if doc.get("sensitive"):
        lines.append(f"  sensitive   yes{_paragraphs(cites.get('sensitive'))}")
    lines.append("parties")
    for party in doc["parties"]:
        roles = party.get("roles") or [party["role"]]
        acting = f", for {party['acts_for']}" if "acts_for" in party else ""
        lines.append(f"  {party['id']:<12} {'/'.join(roles)}{acting}  {party.get('name', '')}".rstrip())
    lines.append("purposes")
    lines += [f"  {p['id']}: {p['description']}{_paragraphs(p.get('paragraphs'))}" for p in doc["purposes"]]
    lines.append("flows")
    for flow in doc["flows"]:
        nrn = flow.get("national_register_number", {})
        lines.append(f"  {flow['id']}: {flow['from']} → {flow['to']}{_paragraphs(flow.get('paragraphs'))}")
        lines.append(f"    purposes    {', '.join(flow['purposes'])}")
        lines.append(f"    categories  {', '.join(flow['data_categories'])}")
        if flow.get("data_subjects"):
            lines.append(f"    subjects    {', '.join(flow['data_subjects'])}")
        allowed = "allowed" if nrn.get("allowed") else "not allowed"
        lines.append(f"    national register number {allowed}{_paragraphs(nrn.get('paragraphs'))}")
    if doc.get("authorised_users"):
        lines.append(f"authorised users{_paragraphs(cites.get('authorised_users'))}")
        for user in doc["authorised_users"]:
            signed = user.get("declaration_signed_on", "not stated (recorded with authreg declare)")
            number = {True: ", on the number's user list", False: ", not on the number's user list"}
            lines.append(
                f"  {user['id']:<18} {user['organisation']:<10} declaration {signed}"
                f"{number.get(user.get('national_register_number_list'), '')}  {user['name']}"
            )
    if doc.get("conditions"):
        lines.append("conditions")
        for condition in doc["conditions"]:
            lines += _condition_lines(condition)
    if doc.get("related"):
        lines.append("related decisions")
        for related in doc["related"]:
            lines.append(f"  {related['relation']:<16} {related['reference']}{_paragraphs(related.get('paragraphs'))}")
            lines.append(f"    {related['description']}")
    return "\n".join(lines)


def _one_or_many(value: str | list[str] | None) -> str:
    return ", ".join([value] if isinstance(value, str) else value or [])


def _condition_lines(condition: dict[str, Any]) -> list[str]:
    when = condition.get("due_on") or condition.get("every") or ""
    if condition["kind"] == "on-event":
        when = f"{condition['within']} after {condition['trigger']}"
    elif condition.get("within"):
        when = f"within {condition['within']}"
    lines = [
        f"  {condition['id']:<22} {condition['kind']:<11} {when:<10} {condition['effect']:<7} "
        f"{_one_or_many(condition['responsible'])}{_paragraphs(condition.get('paragraphs'))}",
        f"    {condition['description']}",
    ]
    if condition.get("owed_to"):
        lines.append(f"    owed to {_one_or_many(condition['owed_to'])}")
    if condition.get("purposes"):
        lines.append(f"    for the purposes {', '.join(condition['purposes'])}")
    return lines


def decision_text(answer: dict[str, Any]) -> str:
    where = f" ({answer['authorisation']}/{answer['flow']})" if answer["authorisation"] else ""
    lines = [f"{answer['decision']}{where}  decision {answer['decision_id']}"]
    for title, items in (
        ("", answer["reasons"]),
        ("warning: ", answer["warnings"]),
        ("obligation: ", answer["obligations"]),
    ):
        lines += [f"  {title}{item['code']}: {item['message']}{_paragraphs(item['paragraphs'])}" for item in items]
    return "\n".join(lines)


def review_table(records: list[dict[str, Any]]) -> str:
    rows = [
        {
            "seq": r["seq"],
            "asked_at": r["asked_at"][:19],
            "user": r["request"]["user"],
            "organisation": r["request"]["organisation"],
            "decision": r["decision"],
            "reasons": " ".join(reason["code"] for reason in r["reasons"]),
            "subject": "yes" if "data_subject_hash" in r["request"] else "",
        }
        for r in records
    ]
    return table(rows, ["seq", "asked_at", "user", "organisation", "decision", "reasons", "subject"])
