"""The authorisation document format (DESIGN §2) as marshmallow schemas.

One schema per kind of document answers "is this document valid on its own": syntax of every
field, the closed sets of values, and the references inside one document. Checks that need
the rest of the registry (organisations, groups, the taxonomy) live in ``documents``.
The same schemas dump a loaded document back to its canonical form, so what is stored,
shown and re-applied is one shape.

Every text field has a size limit (``MAX_*_LENGTH`` below: ids 64 characters, names 500, prose
10,000, links 2,000) and may hold no control character but tab, newline and carriage return and
no lone surrogate; numbers that a decision states are at most ``MAX_COUNT``. These are checked
by ``BoundedText`` (or ``check_texts`` outside a schema), so an oversized or unstorable value is
an input error naming its field on every database, never a database error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_dump, pre_load, validate, validates_schema

from authreg.domain.conditions import DERIVED
from authreg.domain.durations import parse_duration
from authreg.domain.errors import Invalid, Problem

SLUG = r"^[a-z0-9][a-z0-9-]*$"
ORG_ID = r"^[A-Z0-9][A-Z0-9-]*$"
ROLES = ("authority", "discloser", "recipient", "processor", "security-consultant")
STATUSES = ("active", "suspended", "revoked")
FREQUENCIES = ("permanent", "on-request", "one-off", "periodic")
CONDITION_KINDS = ("deadline", "recurring", "sample-gate", "standing", "on-event")
EFFECTS = ("flag", "suspend", "gate")
ORGANISATION_KINDS = ("organisation", "group")
RELATIONS = ("depends-on", "pending-transfer", "source-of")
MAX_ID = 2**63 - 1  # the largest integer a database column holds; larger numbers are input errors
# The fields that say when a condition is due, by kind: which it may have, which it must have.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "deadline": ("due_on",),
    "recurring": ("every",),
    "sample-gate": ("within", "purposes"),
    "standing": ("every",),
    "on-event": ("trigger", "within"),
}
REQUIRED_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "deadline": ("due_on",),
    "recurring": ("every",),
    "on-event": ("trigger", "within"),
}

# Size limits of every input, in documents, requests and recorded facts (README "Limits").
# Beyond them input is refused (422 / exit 2) naming the field, before anything is written:
# an id of 100,000 characters was once stored, then cited in every denial and unreachable by URL.
MAX_ID_LENGTH = 64  # any id: authorisation, party, purpose, flow, category, user, sample, ...
MAX_NAME_LENGTH = 500  # one line: names, labels, titles, references, citations
MAX_TEXT_LENGTH = 10_000  # prose: descriptions, summaries, remarks, evidence, reasons
MAX_LINK_LENGTH = 2_000  # a link to evidence (what browsers and servers reliably accept)
MAX_MOMENT_LENGTH = 64  # an ISO 8601 date or datetime (``at``)
MAX_DURATION_LENGTH = 32  # an ISO 8601 duration (``every``, ``within``): its database column
MAX_COUNT = 100_000  # paragraph numbers and ``max_users``: far above any decision, far below overflow
MAX_DEPTH = 64  # nesting of lists and mappings in a YAML file or JSON body (documents need 5)
# levels of the taxonomy, its roots included (the seed's has 3): Casbin's role manager follows at
# most this many links from a category to the flow granting it (``policy_engine``), so a deeper
# category would be listed as granted (``access_map``) and denied
MAX_CATEGORY_DEPTH = 8
MAX_EMAIL_LENGTH = 254  # an e-mail address: what SMTP carries in a path (RFC 5321, 4.5.3.1.3)
# An organisation's contact: a plain address, ASCII, no display name, no quotes or spaces, a
# domain with a dot. Narrower than RFC 5322 on purpose: it goes into a mail header as it is.
EMAIL = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
# C0 control characters but tab, newline and carriage return (PostgreSQL refuses NUL in text),
# and lone surrogates (no UTF-8 encoding exists for them; JSON can still spell "\ud800").
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")

Errors = dict[Any, Any]


def text_error(text: str, limit: int) -> str | None:
    """Why ``text`` may not be stored, or None. The text itself is never repeated: it may be
    megabytes long or unprintable."""
    if len(text) > limit:
        return f"longer than {limit} characters ({len(text)})"
    found = _UNSTORABLE.search(text)
    if found is not None:
        character = f"U+{ord(found.group()):04X}"
        return f"contains {character} at position {found.start()}: no control characters or lone surrogates"
    return None


def check_texts(*given: tuple[str, str | None, int]) -> None:
    """The check of ``BoundedText`` for input that arrives outside a schema (the CLI's options):
    ``(path, text or None, limit)`` each; raises ``Invalid`` naming every field at fault."""
    problems = [
        Problem("", path, error)
        for path, text, limit in given
        if text is not None and (error := text_error(text, limit)) is not None
    ]
    if problems:
        raise Invalid(problems)


class BoundedText(fields.String):
    """Text of at most ``limit`` characters that every database can store. Checked before any
    validator runs, so no validator sees (or repeats in its message) an oversized value; the
    limit is published in the OpenAPI document as ``maxLength``."""

    def __init__(self, limit: int, **kwargs: Any) -> None:
        kwargs["metadata"] = {"maxLength": limit, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)
        self.limit = limit

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        error = text_error(text, self.limit)
        if error is not None:
            raise ValidationError(error)
        return text


class WholeMatch(validate.Regexp):
    """``Regexp`` on the whole value: ``re.match`` lets ``$`` match before a final newline, so
    ``"abc\\n"`` passed as an id."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def Slug(**kwargs: Any) -> BoundedText:
    return BoundedText(
        MAX_ID_LENGTH, validate=WholeMatch(SLUG, error="not a lower-case id ([a-z0-9][a-z0-9-]*)"), **kwargs
    )


def OrgId(**kwargs: Any) -> BoundedText:
    return BoundedText(
        MAX_ID_LENGTH,
        validate=WholeMatch(ORG_ID, error="not an upper-case organisation code ([A-Z0-9-])"),
        **kwargs,
    )


def Text(limit: int, **kwargs: Any) -> BoundedText:
    """Non-empty text of at most ``limit`` characters (``MAX_NAME_LENGTH`` or ``MAX_TEXT_LENGTH``)."""
    return BoundedText(limit, validate=validate.Length(min=1, error="must not be empty"), **kwargs)


def AnyId(**kwargs: Any) -> BoundedText:
    """An id as a request, a query or a list of parties names it: bounded and non-empty but not
    held to the id syntax, because an id that is not there is looked up and not found (or denied)."""
    return Text(MAX_ID_LENGTH, **kwargs)


def Flag(**kwargs: Any) -> fields.Boolean:
    """Only real booleans: ``"yes"`` or ``1`` in a legal document is more likely a mistake."""
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


# The days a decision may name. Far enough for any real decision, and far from the ends of
# Python's calendar, where "the day after the due date" or "a year after valid_from" would not
# exist and every decision on the registry would fail.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def Day(**kwargs: Any) -> fields.Date:
    within = validate.Range(min=FIRST_DAY, max=LAST_DAY, error=f"must lie between {FIRST_DAY} and {LAST_DAY}")
    return fields.Date(format="iso", validate=within, **kwargs)


def Paragraphs(**kwargs: Any) -> fields.List:
    """Numbered paragraphs (randnummers) of the decision a statement rests on."""
    if not kwargs.get("required"):
        kwargs.setdefault("load_default", list)
    return fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_COUNT)), **kwargs)


def OneOf(choices: Iterable[str], **kwargs: Any) -> fields.String:
    choices = tuple(choices)
    return fields.String(validate=validate.OneOf(choices, error="must be one of " + ", ".join(choices)), **kwargs)


class OneOrMany(fields.List):
    """One value or a list of them (``responsible: AII`` or ``responsible: [WSE-ESF, AII]``),
    loaded as a list; a list of one is dumped as the single value, so a document written with
    one stays as it was written."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> list[Any]:
        loaded: list[Any] = super()._deserialize([value] if isinstance(value, str) else value, attr, data, **kwargs)
        return loaded

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        dumped = super()._serialize(value, attr, obj, **kwargs)
        return dumped[0] if isinstance(dumped, list) and len(dumped) == 1 else dumped


def OwedTo(**kwargs: Any) -> BoundedText:
    """A party id (an upper-case code, which must then be a party of the document) or the name
    of a body outside it ("Sectoraal comité van het Rijksregister")."""
    return Text(MAX_NAME_LENGTH, **kwargs)


def _duration(text: str) -> None:
    try:
        parse_duration(text)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def put(errors: Errors, path: tuple[Any, ...], message: str) -> None:
    """Record ``message`` at a nested field path, in marshmallow's error-dict shape."""
    node = errors
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node.setdefault(path[-1], []).append(message)


def check_unique_ids(errors: Errors, field: str, items: list[Mapping[str, Any]]) -> None:
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if item["id"] in first:
            put(
                errors,
                (field, index, "id"),
                f"duplicate id {item['id']!r} (also {field}[{first[item['id']]}])",
            )
        first.setdefault(item["id"], index)


def check_unique_values(errors: Errors, path: tuple[Any, ...], values: list[Any]) -> None:
    seen: set[Any] = set()
    for index, value in enumerate(values):
        if value in seen:
            put(errors, (*path, index), f"{value!r} listed twice")
        seen.add(value)


def prune(value: Any) -> Any:
    """Drop absent values and empty lists, so the canonical form shows only what was said."""
    if isinstance(value, dict):
        pruned = {key: prune(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item is not None and item != []}
    if isinstance(value, list):
        return [prune(item) for item in value]
    return value


class StrictSchema(Schema):
    """Unknown keys are rejected everywhere (marshmallow's default, stated for the reader)."""

    class Meta:
        unknown = "raise"


class LegalBasisSchema(StrictSchema):
    id = Slug(required=True)
    citation = Text(MAX_NAME_LENGTH, required=True)
    paragraphs = Paragraphs()


class AmendmentSchema(StrictSchema):
    reference = Text(MAX_NAME_LENGTH, required=True)
    decided_on = Day(required=True)
    summary = Text(MAX_TEXT_LENGTH, required=True)


class PartySchema(StrictSchema):
    """A party's roles are per document; ``role: X`` is short for ``roles: [X]``."""

    id = OrgId(required=True)
    name = Text(MAX_NAME_LENGTH)
    roles = fields.List(OneOf(ROLES), required=True, validate=validate.Length(min=1, error="at least one role"))
    acts_for = OrgId()
    paragraphs = Paragraphs()

    @pre_load
    def _role_shorthand(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and "role" in data:
            if "roles" in data:
                raise ValidationError("give role or roles, not both", "role")
            data = {**data, "roles": [data["role"]]}
            del data["role"]
        return data

    @post_dump
    def _one_role_shorthand(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if len(data.get("roles", [])) == 1:
            data = {("role" if key == "roles" else key): value for key, value in data.items()}
            data["role"] = data["role"][0]
        return data

    @validates_schema
    def _roles_once(self, data: dict[str, Any], **_: Any) -> None:
        errors: Errors = {}
        check_unique_values(errors, ("roles",), data["roles"])
        if errors:
            raise ValidationError(errors)


class PurposeSchema(StrictSchema):
    id = Slug(required=True)
    description = Text(MAX_TEXT_LENGTH, required=True)
    paragraphs = Paragraphs()


class NationalRegisterNumberSchema(StrictSchema):
    allowed = Flag(required=True)
    paragraphs = Paragraphs()


class FlowSchema(StrictSchema):
    id = Slug(required=True)
    from_ = OrgId(data_key="from", required=True)
    to = OrgId(required=True)
    purposes = fields.List(Slug(), required=True, validate=validate.Length(min=1, error="at least one purpose"))
    data_subjects = fields.List(Slug(), load_default=list)
    data_categories = fields.List(Slug(), required=True, validate=validate.Length(min=1, error="at least one category"))
    national_register_number = fields.Nested(
        NationalRegisterNumberSchema, load_default=lambda: {"allowed": False, "paragraphs": []}
    )
    valid_from = Day()
    valid_until = Day()
    paragraphs = Paragraphs()


class CategorySchema(StrictSchema):
    id = Slug(required=True)
    label = Text(MAX_NAME_LENGTH, required=True)
    parent = Slug()
    national_register_number = Flag(load_default=False)
    sensitive = Flag(load_default=False)


class AuthorisedUserSchema(StrictSchema):
    """``declaration_signed_on`` only where the document itself states the day (else the
    declaration is a recorded fact: ``authreg declare``). ``national_register_number_list``
    absent on every user: no user-level restriction of the number (§79-80); stated on any user:
    only users with ``true`` may use it."""

    id = Slug(required=True)
    name = Text(MAX_NAME_LENGTH, required=True)
    organisation = OrgId(required=True)
    profile = Slug()
    declaration_signed_on = Day()
    national_register_number_list = Flag()


class ConditionSchema(StrictSchema):
    """Which of ``due_on``/``every``/``within``/``trigger``/``purposes`` a condition takes
    depends on its kind (``KIND_FIELDS``, docs/format.md)."""

    id = Slug(required=True)
    paragraphs = Paragraphs()
    description = Text(MAX_TEXT_LENGTH, required=True)
    responsible = OneOrMany(OrgId(), required=True, validate=validate.Length(min=1, error="at least one party"))
    owed_to = OneOrMany(OwedTo())
    kind = OneOf(CONDITION_KINDS, required=True)
    due_on = Day()
    every = BoundedText(MAX_DURATION_LENGTH, validate=_duration)
    within = BoundedText(MAX_DURATION_LENGTH, validate=_duration)
    trigger = Slug()
    purposes = fields.List(Slug(), validate=validate.Length(min=1, error="at least one purpose"))
    effect = OneOf(EFFECTS)

    @validates_schema
    def _fields_fit_kind(self, data: dict[str, Any], **_: Any) -> None:
        errors: Errors = {}
        kind = data["kind"]
        a_kind = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
        for field in ("due_on", "every", "within", "trigger", "purposes"):
            if field in data and field not in KIND_FIELDS[kind]:
                having = [other for other, allowed in KIND_FIELDS.items() if field in allowed]
                put(errors, (field,), f"{a_kind} condition has no {field} (only {' and '.join(having)} ones)")
        for field in REQUIRED_KIND_FIELDS.get(kind, ()):
            if field not in data:
                put(errors, (field,), f"required for {a_kind} condition")
        check_unique_values(errors, ("responsible",), data["responsible"])
        check_unique_values(errors, ("owed_to",), data.get("owed_to", []))
        if data["id"] in DERIVED:
            put(errors, ("id",), f"{data['id']} is a condition the registry derives from the dates; use another id")
        effect = data.get("effect")
        if kind == "sample-gate" and effect not in (None, "gate"):
            put(errors, ("effect",), "a sample-gate condition has effect gate")
        if kind != "sample-gate" and effect == "gate":
            put(errors, ("effect",), "only a sample-gate condition has effect gate")
        if errors:
            raise ValidationError(errors)

    @pre_load
    def _default_effect(self, data: Any, **_: Any) -> Any:
        """A sample-gate gates and anything else flags unless the decision says to suspend."""
        if isinstance(data, dict) and "effect" not in data and isinstance(data.get("kind"), str):
            data = {**data, "effect": "gate" if data["kind"] == "sample-gate" else "flag"}
        return data


class DisclosureExceptionSchema(StrictSchema):
    """Who may receive more than the rule allows (§76: European control bodies see the controls)."""

    to = Text(MAX_NAME_LENGTH, required=True)
    description = Text(MAX_TEXT_LENGTH, required=True)
    paragraphs = Paragraphs()


class OnwardDisclosureSchema(StrictSchema):
    rule = Slug(required=True)
    exceptions = fields.List(fields.Nested(DisclosureExceptionSchema), load_default=list)


class OnwardDisclosure(fields.Field):
    """``onward_disclosure: aggregated-only`` or ``{rule: aggregated-only, exceptions: [...]}``.
    Loaded as the mapping; dumped as the plain string when there are no exceptions, so a
    document of the old form keeps its canonical form (and digest)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rule = Slug()
        self._full = fields.Nested(OnwardDisclosureSchema)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return {"rule": self._rule.deserialize(value), "exceptions": []}
        if not isinstance(value, dict):
            raise ValidationError("a rule (an id) or a mapping with rule and exceptions")
        return self._full.deserialize(value)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        if not value["exceptions"]:
            return value["rule"]
        return self._full._serialize(value, attr, obj, **kwargs)


class RelatedSchema(StrictSchema):
    """Another decision this one rests on or mentions that it does not replace (§38-39)."""

    reference = Text(MAX_NAME_LENGTH, required=True)
    relation = OneOf(RELATIONS, required=True)
    description = Text(MAX_TEXT_LENGTH, required=True)
    paragraphs = Paragraphs()


class RemarkSchema(StrictSchema):
    """What the decision reminds the parties of without a date to check (e.g. §85, §88)."""

    paragraphs = Paragraphs(required=True)
    text = Text(MAX_TEXT_LENGTH, required=True)


class AuthorisationSchema(StrictSchema):
    """One decision; the fields follow DESIGN §2 in order."""

    id = Slug(required=True)
    reference = Text(MAX_NAME_LENGTH, required=True)
    title = Text(MAX_NAME_LENGTH, required=True)
    authority = OrgId(required=True)
    decided_on = Day(required=True)
    valid_from = Day(required=True)
    valid_until = Day()
    status = OneOf(STATUSES, load_default="active")
    replaces = fields.List(Slug(), load_default=list)
    amendments = fields.List(fields.Nested(AmendmentSchema), load_default=list)
    legal_bases = fields.List(fields.Nested(LegalBasisSchema), load_default=list)
    parties = fields.List(
        fields.Nested(PartySchema), required=True, validate=validate.Length(min=1, error="at least one party")
    )
    purposes = fields.List(
        fields.Nested(PurposeSchema),
        required=True,
        validate=validate.Length(min=1, error="at least one purpose"),
    )
    flows = fields.List(
        fields.Nested(FlowSchema), required=True, validate=validate.Length(min=1, error="at least one flow")
    )
    taxonomy = fields.List(fields.Nested(CategorySchema), load_default=list)
    sensitive = Flag(load_default=False)
    frequency = OneOf(FREQUENCIES)
    retention_until = Day()
    onward_disclosure = OnwardDisclosure()
    related = fields.List(fields.Nested(RelatedSchema), load_default=list)
    max_users = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_COUNT))
    authorised_users = fields.List(fields.Nested(AuthorisedUserSchema), load_default=list)
    conditions = fields.List(fields.Nested(ConditionSchema), load_default=list)
    remarks = fields.List(fields.Nested(RemarkSchema), load_default=list)
    paragraphs = fields.Dict(keys=BoundedText(MAX_ID_LENGTH), values=Paragraphs(), load_default=dict)

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        errors: Errors = {}
        self._check_dates(errors, data)
        for field in (
            "legal_bases",
            "parties",
            "purposes",
            "flows",
            "taxonomy",
            "authorised_users",
            "conditions",
        ):
            check_unique_ids(errors, field, data[field])
        check_unique_values(errors, ("replaces",), data["replaces"])
        if data["id"] in data["replaces"]:
            put(errors, ("replaces",), "an authorisation cannot replace itself")
        parties = {party["id"]: party for party in data["parties"]}
        if "authority" not in parties.get(data["authority"], {}).get("roles", []):
            put(errors, ("authority",), f"{data['authority']!r} is not a party with role authority")
        for index, party in enumerate(data["parties"]):
            if party.get("acts_for") == party["id"]:
                put(errors, ("parties", index, "acts_for"), "a party cannot act for itself")
            elif "acts_for" in party and party["acts_for"] not in parties:
                put(
                    errors,
                    ("parties", index, "acts_for"),
                    f"{party['acts_for']!r} is not a party of this authorisation",
                )
        self._check_flows(errors, data, parties)
        self._check_conditions(errors, data, parties)
        for key in data["paragraphs"]:
            if key not in self.fields or key in ("id", "paragraphs"):
                put(errors, ("paragraphs", key), "not a key of this document")
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def _check_conditions(errors: Errors, data: dict[str, Any], parties: dict[str, dict[str, Any]]) -> None:
        purposes = {purpose["id"] for purpose in data["purposes"]}
        gates = 0
        for index, condition in enumerate(data["conditions"]):
            for position, party in enumerate(condition["responsible"]):
                if party not in parties:
                    put(
                        errors,
                        ("conditions", index, "responsible", position),
                        f"{party!r} is not a party of this authorisation",
                    )
            for position, owed in enumerate(condition.get("owed_to", [])):
                if re.fullmatch(ORG_ID, owed) and owed not in parties:
                    put(
                        errors,
                        ("conditions", index, "owed_to", position),
                        f"{owed!r} is not a party of this authorisation (name a body outside it in words)",
                    )
                elif (
                    condition["kind"] == "sample-gate"
                    and owed in parties
                    and "security-consultant" not in parties[owed]["roles"]
                ):
                    # samples go to the parties the gate is owed to (§92, §100): consultants only
                    put(
                        errors,
                        ("conditions", index, "owed_to", position),
                        f"{owed!r} is not a security-consultant party: a sample-gate is owed to consultants",
                    )
            check_unique_values(errors, ("conditions", index, "purposes"), condition.get("purposes", []))
            _check_purposes(errors, ("conditions", index, "purposes"), condition.get("purposes", []), purposes)
            if condition["kind"] == "sample-gate":
                gates += 1
                if gates > 1:
                    put(errors, ("conditions", index, "kind"), "an authorisation has at most one sample-gate")
                if not any("security-consultant" in party["roles"] for party in parties.values()):
                    put(
                        errors,
                        ("conditions", index, "kind"),
                        "a sample-gate needs a party with role security-consultant",
                    )

    @staticmethod
    def _check_dates(errors: Errors, data: dict[str, Any]) -> None:
        if data["valid_from"] < data["decided_on"]:
            put(errors, ("valid_from",), f"before decided_on {data['decided_on']}")
        if "valid_until" in data and data["valid_until"] < data["valid_from"]:
            put(errors, ("valid_until",), f"before valid_from {data['valid_from']}")
        if "retention_until" in data and data["retention_until"] < data["valid_from"]:
            put(errors, ("retention_until",), f"before valid_from {data['valid_from']}")
        previous = data["decided_on"]
        for index, amendment in enumerate(data["amendments"]):
            if amendment["decided_on"] < previous:
                put(
                    errors,
                    ("amendments", index, "decided_on"),
                    f"before {previous}; amendments go oldest first, after the decision",
                )
            previous = amendment["decided_on"]

    @staticmethod
    def _check_flows(errors: Errors, data: dict[str, Any], parties: dict[str, dict[str, Any]]) -> None:
        purposes = {purpose["id"] for purpose in data["purposes"]}
        for index, flow in enumerate(data["flows"]):
            for key, end, role in (("from", flow["from_"], "discloser"), ("to", flow["to"], "recipient")):
                if end not in parties:
                    put(errors, ("flows", index, key), f"{end!r} is not a party of this authorisation")
                elif role not in parties[end]["roles"]:
                    put(errors, ("flows", index, key), f"party {end!r} does not have role {role}")
            if flow["from_"] == flow["to"]:
                put(errors, ("flows", index, "to"), "a flow goes to another party than it comes from")
            _check_purposes(errors, ("flows", index, "purposes"), flow["purposes"], purposes)
            check_unique_values(errors, ("flows", index, "purposes"), flow["purposes"])
            check_unique_values(errors, ("flows", index, "data_categories"), flow["data_categories"])
            check_unique_values(errors, ("flows", index, "data_subjects"), flow["data_subjects"])
            start = flow.get("valid_from", data["valid_from"])
            if start < data["valid_from"]:
                put(
                    errors,
                    ("flows", index, "valid_from"),
                    f"before the authorisation's valid_from {data['valid_from']}",
                )
            elif "valid_until" in data and start > data["valid_until"]:
                put(
                    errors,
                    ("flows", index, "valid_from"),
                    f"after the authorisation's valid_until {data['valid_until']}: the flow would never be valid",
                )
            end_day = flow.get("valid_until")
            if end_day is not None:
                if end_day < start:
                    put(errors, ("flows", index, "valid_until"), f"before valid_from {start}")
                if "valid_until" in data and end_day > data["valid_until"]:
                    put(
                        errors,
                        ("flows", index, "valid_until"),
                        f"after the authorisation's valid_until {data['valid_until']}",
                    )


def _check_purposes(errors: Errors, path: tuple[Any, ...], listed: list[str], purposes: set[str]) -> None:
    """A flow or a sample-gate names purposes of its own authorisation only."""
    for position, purpose in enumerate(listed):
        if purpose not in purposes:
            put(errors, (*path, position), f"{purpose!r} is not a purpose of this authorisation")


class OrganisationSchema(StrictSchema):
    id = OrgId(required=True)
    name = Text(MAX_NAME_LENGTH, required=True)
    kind = OneOf(ORGANISATION_KINDS, load_default="organisation")
    member_of = fields.List(OrgId(), load_default=list)
    # where ``authreg remind`` writes about the conditions the organisation owes: best a
    # functional mailbox (privacy@...) rather than a person's own; absent, only the managers hear
    contact = BoundedText(
        MAX_EMAIL_LENGTH, validate=WholeMatch(EMAIL, error="not an e-mail address (name@example.org)")
    )


class OrganisationsDocumentSchema(StrictSchema):
    organisations = fields.List(fields.Nested(OrganisationSchema), required=True)

    @validates_schema
    def _unique(self, data: dict[str, Any], **_: Any) -> None:
        errors: Errors = {}
        check_unique_ids(errors, "organisations", data["organisations"])
        for index, organisation in enumerate(data["organisations"]):
            check_unique_values(errors, ("organisations", index, "member_of"), organisation["member_of"])
        if errors:
            raise ValidationError(errors)


class SubjectKindSchema(StrictSchema):
    """A kind of person data is about (§61: participants in an AMIF project, their family)."""

    id = Slug(required=True)
    label = Text(MAX_NAME_LENGTH, required=True)


class TaxonomyDocumentSchema(StrictSchema):
    """The shared vocabularies: data categories and, beside them, the kinds of data subject."""

    taxonomy = fields.List(fields.Nested(CategorySchema), load_default=list)
    data_subjects = fields.List(fields.Nested(SubjectKindSchema), load_default=list)

    @validates_schema
    def _unique(self, data: dict[str, Any], **_: Any) -> None:
        errors: Errors = {}
        check_unique_ids(errors, "taxonomy", data["taxonomy"])
        check_unique_ids(errors, "data_subjects", data["data_subjects"])
        if errors:
            raise ValidationError(errors)
