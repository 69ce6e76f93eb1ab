"""Policy-as-code documents: reading them from files, telling the three kinds apart,
validating each one and the batch as a whole against the rest of the registry.

"Is this document valid" is answered here and nowhere else: the CLI, the HTTP API and the
web pages all hand their input to ``parse`` and ``merge``. A problem names the file and the
field path (``conditions[1].due_on: not a date``); any problem rejects the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from marshmallow import Schema, ValidationError

from authreg.domain import yaml_input
from authreg.domain.document_format import (
    MAX_CATEGORY_DEPTH,
    AuthorisationSchema,
    OrganisationsDocumentSchema,
    TaxonomyDocumentSchema,
    prune,
)
from authreg.domain.errors import Invalid, Problem

# A policy file is a few hundred lines; anything far larger is refused unread, before the YAML
# parser spends minutes and gigabytes on it.
MAX_FILE_BYTES = 5 * 1024 * 1024

Kind = Literal["authorisation", "organisations", "taxonomy"]
SCHEMAS: dict[Kind, Schema] = {
    "authorisation": AuthorisationSchema(),
    "organisations": OrganisationsDocumentSchema(),
    "taxonomy": TaxonomyDocumentSchema(),
}
_PLAIN_MESSAGES = {
    "Missing data for required field.": "required",
    "Unknown field.": "unknown key",
    "Not a valid date.": "not a date",
    "Not a valid string.": "not a text",
    "Not a valid boolean.": "not true or false",
    "Not a valid integer.": "not a whole number",
    "Not a valid list.": "not a list",
    "Not a valid mapping type.": "not a mapping",
    "Invalid input type.": "not a mapping",
    "Field may not be null.": "must not be empty",
}


@dataclass(frozen=True)
class Document:
    """One validated document; ``body`` holds Python values (dates as ``date``)."""

    kind: Kind
    source: str
    body: dict[str, Any]

    @property
    def key(self) -> str:
        """The authorisation id, or the kind for organisation and taxonomy documents."""
        return self.body["id"] if self.kind == "authorisation" else self.kind

    def canonical(self) -> dict[str, Any]:
        """The document as stored, shown and compared: JSON values, defaults left out."""
        return canonical(self.kind, self.body)


def flow_window(body: Mapping[str, Any], flow: Mapping[str, Any]) -> tuple[date, date | None]:
    """The days a flow of a canonical authorisation runs: its own window where it has one, else
    the authorisation's (None: no end). The public register and the exports read it here, so
    they cannot differ on when a flow runs."""
    start = flow.get("valid_from") or body["valid_from"]
    end = flow.get("valid_until") or body.get("valid_until")
    return date.fromisoformat(str(start)), date.fromisoformat(str(end)) if end else None


def canonical(kind: Kind, body: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = prune(SCHEMAS[kind].dump(body))
    return result


def field_path(parts: Iterable[Any]) -> str:
    """``("conditions", 1, "due_on")`` → ``conditions[1].due_on``."""
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def flatten_messages(messages: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[str, str]]:
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from flatten_messages(value, prefix if key == "_schema" else (*prefix, key))
    elif isinstance(messages, list):
        for message in messages:
            yield from flatten_messages(message, prefix)
    else:
        yield field_path(prefix), _PLAIN_MESSAGES.get(str(messages), str(messages))


def kind_of(data: Mapping[str, Any]) -> Kind | None:
    if "id" in data or "flows" in data:
        return "authorisation"
    if "organisations" in data:
        return "organisations"
    if "taxonomy" in data or "data_subjects" in data:
        return "taxonomy"
    return None


def parse(data: Any, source: str) -> Document:
    """Validate one document on its own; raises ``Invalid`` listing every problem found."""
    if not isinstance(data, dict):
        raise Invalid(
            [Problem(source, "", "not a mapping: expected an authorisation, organisations or taxonomy document")]
        )
    kind = kind_of(data)
    if kind is None:
        raise Invalid(
            [Problem(source, "", "neither an authorisation (id, flows), organisations nor taxonomy document")]
        )
    try:
        body = SCHEMAS[kind].load(data)
    except ValidationError as exc:
        raise Invalid([Problem(source, path, message) for path, message in flatten_messages(exc.messages)]) from exc
    return Document(kind, source, body)


def read_file(path: Path) -> Document:
    """One document from a file; a file over ``MAX_FILE_BYTES`` is refused without being read."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise Invalid([Problem(str(path), "", f"cannot read: {exc}")]) from exc
    if size > MAX_FILE_BYTES:
        raise Invalid(
            [Problem(str(path), "", f"{size} bytes, more than the limit of {MAX_FILE_BYTES} bytes (5 MiB); not read")]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid([Problem(str(path), "", f"cannot read: {exc}")]) from exc
    return read_text(text, str(path))


def read_text(text: str, source: str) -> Document:
    """One document from YAML text (a file's, or one pasted or uploaded in the web pages)."""
    if len(text.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
        raise Invalid([Problem(source, "", f"more than the limit of {MAX_FILE_BYTES} bytes (5 MiB); not read")])
    try:
        data = yaml_input.load(text)
    except yaml.YAMLError as exc:
        raise Invalid([Problem(source, "", f"not valid YAML: {exc}")]) from exc
    return parse(data, source)


def collect_files(paths: Iterable[str | Path], *, within_tests: bool = False) -> list[Path]:
    """Files as named, and every ``*.yaml``/``*.yml`` below a folder except under ``tests/``
    (those hold decision tables, not policy), or with ``within_tests`` only the files directly in
    a ``tests/`` folder (decision tables, not the fixtures beside them)."""
    found: list[Path] = []
    problems: list[Problem] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.extend(
                sorted(
                    file
                    for file in path.rglob("*")
                    if file.suffix in (".yaml", ".yml")
                    and file.is_file()
                    and _wanted(file.relative_to(path), within_tests, path)
                )
            )
        elif path.is_file():
            found.append(path)
        else:
            problems.append(Problem(str(path), "", "no such file or folder"))
    if problems:
        raise Invalid(problems)
    return list(dict.fromkeys(found))


def _wanted(relative: Path, within_tests: bool, base: Path) -> bool:
    """Policy files lie outside ``tests/`` folders; decision tables directly inside one."""
    folders = relative.parts[:-1]
    if not within_tests:
        return "tests" not in folders
    return (folders[-1:] == ("tests",)) or (not folders and base.name == "tests")


def read_paths(paths: Iterable[str | Path]) -> list[Document]:
    """Every document under ``paths``; problems of all files are reported together."""
    documents: list[Document] = []
    problems: list[Problem] = []
    for path in collect_files(paths):
        try:
            documents.append(read_file(path))
        except Invalid as exc:
            problems.extend(exc.problems)
    seen: dict[str, str] = {}
    for document in documents:
        if document.kind == "authorisation":
            if document.key in seen:
                problems.append(
                    Problem(document.source, "id", f"authorisation {document.key!r} also in {seen[document.key]}")
                )
            seen.setdefault(document.key, document.source)
    if problems:
        raise Invalid(problems)
    return documents


@dataclass
class Context:
    """What the registry already holds that a batch is checked against (built by the store)."""

    organisations: dict[str, dict[str, Any]] = field(default_factory=dict)
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    # organisation id -> {authorisation id: name that stored authorisation gives it}
    party_names: dict[str, dict[str, str]] = field(default_factory=dict)
    # category id -> the authorisation that declared it as its own; a shared category is absent
    category_owners: dict[str, str] = field(default_factory=dict)
    # the kinds of data subject (taxonomy documents' ``data_subjects``): id -> entry
    subject_kinds: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Merged:
    """The organisations and taxonomy as they will be once the batch is written."""

    organisations: dict[str, dict[str, Any]]
    categories: dict[str, dict[str, Any]]
    warnings: list[Problem]
    # as ``Context.category_owners``, with the categories the batch's authorisations add
    category_owners: dict[str, str]
    subject_kinds: dict[str, dict[str, Any]] = field(default_factory=dict)


def merge(context: Context, documents: list[Document]) -> Merged:
    """Check a batch against itself and the registry; raises ``Invalid`` with every problem.

    Organisation and taxonomy entries are added or updated by id, never removed by omission.
    An organisation has one name everywhere: in organisation documents, in the parties of
    every authorisation of the batch and of every stored one. A category belongs to the shared
    taxonomy or to one authorisation, and only its owner changes it (``_merge_categories``).
    """
    problems: list[Problem] = []
    organisations = _merge_organisations(context, documents, problems)
    categories, owners = _merge_categories(context, documents, problems)
    subject_kinds = _merge_subject_kinds(context, documents, problems)
    warnings: list[Problem] = []
    for document in documents:
        if document.kind == "authorisation":
            _check_references(document, organisations, categories, owners, problems)
            _check_subject_kinds(document, subject_kinds, problems)
            body = document.body
            if "max_users" in body and len(body["authorised_users"]) > body["max_users"]:
                warnings.append(
                    Problem(
                        document.source,
                        "authorised_users",
                        f"{len(body['authorised_users'])} users listed, max_users is {body['max_users']}",
                    )
                )
    if problems:
        raise Invalid(problems)
    return Merged(organisations, categories, warnings, owners, subject_kinds)


def _merge_subject_kinds(
    context: Context, documents: list[Document], problems: list[Problem]
) -> dict[str, dict[str, Any]]:
    """The kinds of data subject after the batch: added or relabelled by id, never removed by
    omission; two documents of one batch may not declare one id differently."""
    kinds = {key: dict(value) for key, value in context.subject_kinds.items()}
    declared_in: dict[str, str] = {}
    for document in documents:
        for index, entry in enumerate(document.body.get("data_subjects", []) if document.kind == "taxonomy" else []):
            path = f"data_subjects[{index}]"
            if entry["id"] in declared_in and kinds[entry["id"]] != entry:
                problems.append(
                    Problem(
                        document.source, path, f"{entry['id']!r} is declared differently in {declared_in[entry['id']]}"
                    )
                )
            declared_in[entry["id"]] = f"{document.source}: {path}"
            kinds[entry["id"]] = dict(entry)
    return kinds


def _check_subject_kinds(document: Document, kinds: Mapping[str, dict[str, Any]], problems: list[Problem]) -> None:
    """A flow's ``data_subjects`` are ids of the vocabulary, so a request's ``subject_kind``
    can be held against them (§61)."""
    for index, flow in enumerate(document.body["flows"]):
        for position, kind in enumerate(flow["data_subjects"]):
            if kind not in kinds:
                problems.append(
                    Problem(
                        document.source,
                        f"flows[{index}].data_subjects[{position}]",
                        f"unknown kind of data subject {kind!r}; declare it in a taxonomy document's data_subjects",
                    )
                )


def _merge_organisations(
    context: Context, documents: list[Document], problems: list[Problem]
) -> dict[str, dict[str, Any]]:
    """Organisation entries after the batch, and one name per organisation everywhere.

    The name an organisations document gives wins; without one, the registry's. A party that
    names an organisation differently is a problem, and so is a rename that would leave a
    stored authorisation (not re-applied in this batch) with the old name.
    """
    organisations = {key: dict(value) for key, value in context.organisations.items()}
    authoritative = {key: (value["name"], "the registry") for key, value in context.organisations.items()}
    declared_in: dict[str, tuple[str, str]] = {}
    for document in documents:
        if document.kind != "organisations":
            continue
        for index, entry in enumerate(document.body["organisations"]):
            path = f"organisations[{index}]"
            if entry["id"] in declared_in and organisations[entry["id"]] != _org_entry(entry):
                problems.append(
                    Problem(
                        document.source,
                        path,
                        f"{entry['id']} is declared differently in {': '.join(declared_in[entry['id']])}",
                    )
                )
            declared_in[entry["id"]] = (document.source, path)
            organisations[entry["id"]] = _org_entry(entry)
            authoritative[entry["id"]] = (entry["name"], f"{document.source}: {path}.name")
    batch_ids = {document.key for document in documents if document.kind == "authorisation"}
    for org_id, names in context.party_names.items():
        for authorisation_id, name in names.items():
            if authorisation_id in batch_ids or org_id not in declared_in:
                continue
            if name != authoritative[org_id][0]:
                source, path = declared_in[org_id]
                problems.append(
                    Problem(
                        source,
                        f"{path}.name",
                        f"stored authorisation {authorisation_id} names {org_id} {name!r}; apply it in the same batch",
                    )
                )
    for document in documents:
        if document.kind != "authorisation":
            continue
        for index, party in enumerate(document.body["parties"]):
            path = f"parties[{index}].name"
            if "name" not in party:
                if party["id"] not in organisations:
                    problems.append(
                        Problem(
                            document.source,
                            path,
                            f"required: the registry does not know organisation {party['id']} yet",
                        )
                    )
                continue
            name, where = authoritative.setdefault(party["id"], (party["name"], f"{document.source}: {path}"))
            if name != party["name"]:
                problems.append(
                    Problem(
                        document.source,
                        path,
                        f"{party['name']!r} differs from the name of {party['id']} in {where}: {name!r}",
                    )
                )
            organisations.setdefault(party["id"], {"name": party["name"], "kind": "organisation", "member_of": []})
    for document in documents:
        if document.kind != "organisations":
            continue
        for index, entry in enumerate(document.body["organisations"]):
            for position, group in enumerate(entry["member_of"]):
                target = organisations.get(group)
                if target is None:
                    problems.append(
                        Problem(
                            document.source,
                            f"organisations[{index}].member_of[{position}]",
                            f"unknown organisation {group!r}",
                        )
                    )
                elif target["kind"] != "group":
                    problems.append(
                        Problem(
                            document.source,
                            f"organisations[{index}].member_of[{position}]",
                            f"{group} is not a group",
                        )
                    )
    _check_cycles(organisations, lambda entry: entry["member_of"], "group membership", declared_in, problems)
    return organisations


def _org_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    contact = {"contact": entry["contact"]} if "contact" in entry else {}  # where reminders go
    return {"name": entry["name"], "kind": entry["kind"], "member_of": list(entry["member_of"]), **contact}


def _merge_categories(
    context: Context, documents: list[Document], problems: list[Problem]
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The taxonomy after the batch, and the owner of every category that has one.

    A category is shared (declared by a taxonomy document) or an authorisation's own (declared
    in that authorisation's ``taxonomy``), and stays so. Only its owner declares it again, and
    may change it: a taxonomy document the shared ones, an authorisation its own. Anything else
    that names an existing id, even unchanged, is a problem naming the owner; otherwise one
    document could change what another grants (an authorisation clearing ``insz``'s national
    register number would turn another's deny into an allow).

    An own category hangs below its owner's own categories only (below a shared one it would be
    granted by every flow that grants the shared parent, and its national-register-number flag
    would change requests for that parent), and only its owner's flows grant it
    (``_check_references``); a shared one hangs below shared ones only. So what an
    authorisation declares cannot reach into what another one grants, and a shared category
    never depends on an authorisation's. Shared entries are taken first, so a new id
    that a taxonomy document and an authorisation of one batch both declare is the taxonomy's,
    whatever the order of the files.
    """
    categories = {key: dict(value) for key, value in context.categories.items()}
    owners = dict(context.category_owners)
    declared_in: dict[str, tuple[str, str]] = {}
    entries: list[tuple[Document, int, dict[str, Any]]] = sorted(
        (
            (document, index, entry)
            for document in documents
            for index, entry in enumerate(document.body.get("taxonomy", []))
        ),
        key=lambda item: item[0].kind == "authorisation",
    )
    accepted: list[tuple[Document, int, dict[str, Any]]] = []
    for document, index, entry in entries:
        owner = document.key if document.kind == "authorisation" else None
        category_id, path = entry["id"], f"taxonomy[{index}]"
        if category_id in categories and owners.get(category_id) != owner:
            rule = "an authorisation may only add categories of its own" if owner else "only its owner changes it"
            problems.append(
                Problem(
                    document.source,
                    f"{path}.id",
                    f"{_belongs(category_id, owners, declared_in.get(category_id))}; {rule}",
                )
            )
            continue
        if category_id in declared_in and categories[category_id] != entry:
            problems.append(
                Problem(
                    document.source,
                    path,
                    f"category {category_id!r} is declared differently in {': '.join(declared_in[category_id])}",
                )
            )
        declared_in[category_id] = (document.source, path)
        categories[category_id] = dict(entry)
        if owner is not None:
            owners[category_id] = owner
        accepted.append((document, index, entry))
    for document, index, entry in accepted:
        parent = entry.get("parent")
        if parent is None:
            continue
        path = f"taxonomy[{index}].parent"
        if parent not in categories:
            problems.append(Problem(document.source, path, f"unknown category {parent!r}"))
        elif owners.get(parent) != owners.get(entry["id"]):
            # below a shared category, an authorisation's own one would be granted by every
            # flow (of any authorisation) that grants the shared parent: another's meaning
            rule = (
                "an authorisation's category hangs below one of its own only"
                if entry["id"] in owners
                else "a shared category hangs below shared ones only"
            )
            problems.append(
                Problem(document.source, path, f"{_belongs(parent, owners, declared_in.get(parent))}; {rule}")
            )
    if not _too_deep(categories, declared_in, problems):  # a chain too deep for a walk of it
        _check_cycles(
            categories,
            lambda entry: [entry["parent"]] if entry.get("parent") else [],
            "category",
            declared_in,
            problems,
        )
    return categories, owners


def _too_deep(
    categories: Mapping[str, dict[str, Any]], declared_in: Mapping[str, tuple[str, str]], problems: list[Problem]
) -> bool:
    """A category more than ``MAX_CATEGORY_DEPTH`` levels down is refused (a cycle is endless,
    so it is too, here or by ``_check_cycles``): a decision follows no more links than that."""
    for key in categories:
        chain, current = [key], categories[key].get("parent")
        while current in categories and current not in chain and len(chain) <= MAX_CATEGORY_DEPTH:
            chain.append(current)
            current = categories[current].get("parent")
        if len(chain) > MAX_CATEGORY_DEPTH:
            source, field = declared_in.get(key, ("", ""))
            message = f"category {key!r} is more than {MAX_CATEGORY_DEPTH} levels down the taxonomy"
            problems.append(Problem(source, field, f"{message}: {' → '.join(chain)}"))
            return True
    return False


def _belongs(category_id: str, owners: Mapping[str, str], declared: tuple[str, str] | None) -> str:
    """Who owns a category, for a problem: only that document may declare or change it."""
    owner = f"authorisation {owners[category_id]}" if category_id in owners else "the shared taxonomy"
    where = f" ({declared[0]})" if declared else ""
    return f"category {category_id!r} belongs to {owner}{where}"


def _check_cycles(
    nodes: Mapping[str, dict[str, Any]],
    edges: Callable[[dict[str, Any]], list[str]],
    what: str,
    declared_in: Mapping[str, tuple[str, str]],
    problems: list[Problem],
) -> None:
    """A group may not (transitively) contain itself, nor a category descend from itself."""
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = "open"
        trail.append(node)
        for successor in edges(nodes[node]):
            if state.get(successor) == "open":
                return [*trail[trail.index(successor) :], successor]
            if successor in nodes and successor not in state and (found := visit(successor, trail)):
                return found
        trail.pop()
        state[node] = "done"
        return None

    for node in nodes:
        if node not in state and (cycle := visit(node, [])):
            source, field = next((declared_in[n] for n in cycle if n in declared_in), ("", ""))
            problems.append(Problem(source, field, f"{what} cycle: {' → '.join(cycle)}"))
            return


def groups_of(organisation: str, organisations: Mapping[str, dict[str, Any]]) -> set[str]:
    """Every group ``organisation`` belongs to, directly or through other groups."""
    found: set[str] = set()
    todo = list(organisations.get(organisation, {}).get("member_of", []))
    while todo:
        group = todo.pop()
        if group not in found:
            found.add(group)
            todo.extend(organisations.get(group, {}).get("member_of", []))
    return found


def _check_references(
    document: Document,
    organisations: Mapping[str, dict[str, Any]],
    categories: Mapping[str, dict[str, Any]],
    owners: Mapping[str, str],
    problems: list[Problem],
) -> None:
    """Every id the authorisation refers to exists; its flows grant shared categories and its own."""
    body = document.body
    for index, flow in enumerate(body["flows"]):
        for position, category in enumerate(flow["data_categories"]):
            path = f"flows[{index}].data_categories[{position}]"
            if category not in categories:
                problems.append(Problem(document.source, path, f"unknown category {category!r}"))
            elif owners.get(category, document.key) != document.key:
                problems.append(
                    Problem(
                        document.source,
                        path,
                        f"{_belongs(category, owners, None)}; a flow grants shared categories and its own only",
                    )
                )
    parties = {party["id"] for party in body["parties"]}
    for index, user in enumerate(body["authorised_users"]):
        organisation = user["organisation"]
        if organisation in parties:
            continue
        if organisation not in organisations:
            problems.append(
                Problem(
                    document.source,
                    f"authorised_users[{index}].organisation",
                    f"unknown organisation {organisation!r}",
                )
            )
        elif not groups_of(organisation, organisations) & parties:
            problems.append(
                Problem(
                    document.source,
                    f"authorised_users[{index}].organisation",
                    f"{organisation} is neither a party of this authorisation nor a member of a group that is one",
                )
            )
