"""Tables of the registry (SQLModel). The schema changes only through alembic migrations.

The current version of each authorisation is kept in normalised rows that decisions and
listings query; every version's full canonical document is kept in ``authorisation_version``
so history and ``show`` need no reconstruction. Fulfilments, samples and the audit log refer
to authorisations and conditions by id, so a new version of a document never loses them.
Data subjects appear only as keyed hashes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, ForeignKeyConstraint, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _json(default: Any = list) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


def _moment(**kwargs: Any) -> Any:
    return Field(sa_type=DateTime(timezone=True), **kwargs)


class Organisation(SQLModel, table=True):
    __tablename__ = "organisation"
    id: str = Field(primary_key=True, max_length=64)
    name: str
    kind: str = Field(default="organisation", max_length=16)
    contact: str | None = Field(default=None, max_length=254)  # where ``authreg remind`` writes


class OrganisationMembership(SQLModel, table=True):
    __tablename__ = "organisation_membership"
    member_id: str = Field(foreign_key="organisation.id", primary_key=True, max_length=64)
    group_id: str = Field(foreign_key="organisation.id", primary_key=True, max_length=64)


class DataCategory(SQLModel, table=True):
    __tablename__ = "data_category"
    id: str = Field(primary_key=True, max_length=64)
    label: str
    parent_id: str | None = Field(default=None, foreign_key="data_category.id", max_length=64, index=True)
    national_register_number: bool = False
    sensitive: bool = False
    # NULL: the shared taxonomy; otherwise the authorisation whose own ``taxonomy`` declared it,
    # the only one that may change it or grant it (``documents.merge``). Checked at commit: an
    # authorisation's own categories are written before its row, since its flows need them.
    owner_id: str | None = Field(
        default=None,
        sa_column=Column(
            String(128),
            ForeignKey("authorisation.id", deferrable=True, initially="DEFERRED"),
            nullable=True,
            index=True,
        ),
    )


class Authorisation(SQLModel, table=True):
    __tablename__ = "authorisation"
    id: str = Field(primary_key=True, max_length=128)
    reference: str
    title: str = Field(sa_column=Column(Text, nullable=False))
    authority_id: str = Field(foreign_key="organisation.id", max_length=64)
    decided_on: date
    valid_from: date
    valid_until: date | None = None
    status: str = Field(default="active", max_length=16, index=True)
    sensitive: bool = False
    frequency: str | None = Field(default=None, max_length=16)
    retention_until: date | None = None
    onward_disclosure: str | None = Field(default=None, max_length=64)  # the rule
    # who may receive more than the rule allows: [{to, description, paragraphs}]
    onward_disclosure_exceptions: list[dict[str, Any]] = _json()
    max_users: int | None = None
    paragraphs: dict[str, list[int]] = _json(dict)  # the document's top-level paragraphs map
    version: int = 1
    updated_at: datetime = _moment()


class AuthorisationVersion(SQLModel, table=True):
    """Every version of a document as applied: the canonical JSON, who, when and why."""

    __tablename__ = "authorisation_version"
    authorisation_id: str = Field(foreign_key="authorisation.id", primary_key=True, max_length=128)
    version: int = Field(primary_key=True)
    document: dict[str, Any] = _json(dict)
    digest: str = Field(max_length=64)
    created_at: datetime = _moment()
    created_by: str
    note: str = Field(sa_column=Column(Text, nullable=False))


class AuthorisationReplacement(SQLModel, table=True):
    """``replaces``: the replaced id need not be registered (it may be an older paper decision)."""

    __tablename__ = "authorisation_replacement"
    authorisation_id: str = Field(foreign_key="authorisation.id", primary_key=True, max_length=128)
    replaced_id: str = Field(primary_key=True, max_length=128, index=True)


class Amendment(SQLModel, table=True):
    __tablename__ = "amendment"
    authorisation_id: str = Field(foreign_key="authorisation.id", primary_key=True, max_length=128)
    position: int = Field(primary_key=True)
    reference: str
    decided_on: date
    summary: str = Field(sa_column=Column(Text, nullable=False))


class LegalBasis(SQLModel, table=True):
    __tablename__ = "legal_basis"
    authorisation_id: str = Field(foreign_key="authorisation.id", primary_key=True, max_length=128)
    id: str = Field(primary_key=True, max_length=64)
    citation: str = Field(sa_column=Column(Text, nullable=False))
    paragraphs: list[int] = _json()


class Party(SQLModel, table=True):
    __tablename__ = "party"
    authorisation_id: str = Field(foreign_key="authorisation.id", primary_key=True, max_length=128)
    organisation_id: str = Field(foreign_key="organisation.id", primary_key=True, max_length=64, index=True)
    name: str | None = None
    acts_for_id: str | None = Field(default=None, foreign_key="organisation.id", max_length=64)
    paragraphs: list[int] = _json()


class PartyRole(SQLModel, table=True):
    __tablename__ = "party_role"
    __table_args__ = (
        ForeignKeyConstraint(
            ["authorisation_id", "organisation_id"], ["party.authorisation_id", "party.organisation_id"]
        ),
    )
    authorisation_id: str = Field(primary_key=True, max_length=128)
    organisation_id: str = Field(primary_key=True, max_length=64, index=True)
    role: str = Field(primary_key=True, max_length=32)


class Purpose(SQLModel, table=True):
    __tablename__ = "purpose"
    authorisation_id: str = Field(foreign_key="authorisation.id", primary_key=True, max_length=128)
    id: str = Field(primary_key=True, max_length=64)
    description: str = Field(sa_column=Column(Text, nullable=False))
    paragraphs: list[int] = _json()


class Flow(SQLModel, table=True):
    __tablename__ = "flow"
    authorisation_id: str = Field(foreign_key="authorisation.id", primary_key=True, max_length=128)
    id: str = Field(primary_key=True, max_length=64)
    from_id: str = Field(foreign_key="organisation.id", max_length=64)
    to_id: str = Field(foreign_key="organisation.id", max_length=64, index=True)
    valid_from: date | None = None
    valid_until: date | None = None
    national_register_number: bool = False
    national_register_number_paragraphs: list[int] = _json()
    data_subjects: list[str] = _json()
    paragraphs: list[int] = _json()


class FlowCategory(SQLModel, table=True):
    __tablename__ = "flow_category"
    __table_args__ = (ForeignKeyConstraint(["authorisation_id", "flow_id"], ["flow.authorisation_id", "flow.id"]),)
    authorisation_id: str = Field(primary_key=True, max_length=128)
    flow_id: str = Field(primary_key=True, max_length=64)
    category_id: str = Field(foreign_key="data_category.id", primary_key=True, max_length=64)


class FlowPurpose(SQLModel, table=True):
    __tablename__ = "flow_purpose"
    __table_args__ = (
        ForeignKeyConstraint(["authorisation_id", "flow_id"], ["flow.authorisation_id", "flow.id"]),
        ForeignKeyConstraint(["authorisation_id", "purpose_id"], ["purpose.authorisation_id", "purpose.id"]),
    )
    authorisation_id: str = Field(primary_key=True, max_length=128)
    flow_id: str = Field(primary_key=True, max_length=64)
    purpose_id: str = Field(primary_key=True, max_length=64)


class AuthorisedUser(SQLModel, table=True):
    __tablename__ = "authorised_user"
    authorisation_id: str = Field(foreign_key="authorisation.id", primary_key=True, max_length=128)
    id: str = Field(primary_key=True, max_length=64)
    name: str
    organisation_id: str = Field(foreign_key="organisation.id", max_length=64, index=True)
    profile: str | None = Field(default=None, max_length=64)
    declaration_signed_on: date | None = None  # only where the document states it
    # NULL: the document does not say; where any user of the authorisation says, only ``true`` may
    national_register_number_list: bool | None = None


class Condition(SQLModel, table=True):
    __tablename__ = "condition"
    authorisation_id: str = Field(foreign_key="authorisation.id", primary_key=True, max_length=128)
    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)
    description: str = Field(sa_column=Column(Text, nullable=False))
    responsible: list[str] = _json()  # party ids, at least one
    owed_to: list[str] = _json()  # party ids or names of bodies outside the decision
    due_on: date | None = None
    every: str | None = Field(default=None, max_length=32)
    within: str | None = Field(default=None, max_length=32)
    trigger: str | None = Field(default=None, max_length=64)  # on-event: the event that starts it
    purposes: list[str] = _json()  # sample-gate: the purposes it gates; empty: all
    effect: str = Field(max_length=16)
    paragraphs: list[int] = _json()


class ConditionFulfilment(SQLModel, table=True):
    """Kept forever; a correction is a new row that names the one it supersedes."""

    __tablename__ = "condition_fulfilment"
    id: int | None = Field(default=None, primary_key=True)
    authorisation_id: str = Field(foreign_key="authorisation.id", max_length=128, index=True)
    condition_id: str = Field(max_length=64)
    fulfilled_on: date
    evidence: str = Field(sa_column=Column(Text, nullable=False))
    link: str | None = None
    recorded_by: str
    recorded_at: datetime = _moment()
    # unique: a fulfilment is corrected once; a second correction of it is a conflict, even
    # when two arrive at the same moment
    supersedes_id: int | None = Field(default=None, foreign_key="condition_fulfilment.id", unique=True)


class RecordedFact(SQLModel):
    """What every fact recorded about an authorisation after its decision carries: which
    authorisation, on what evidence, who recorded it and when."""

    id: int | None = Field(default=None, primary_key=True)
    authorisation_id: str = Field(foreign_key="authorisation.id", max_length=128, index=True)
    evidence: str = Field(sa_type=Text)
    recorded_by: str
    recorded_at: datetime = _moment()


class Declaration(RecordedFact, table=True):
    """A declaration of honour signed by an authorised user (§78), recorded as it happens:
    decisions say users *will* sign, so the day is a fact, not part of the document.

    It is the signature of the person the user entry named when it was recorded: it counts only
    while the entry keeps that name and organisation (a post handed to someone else needs a new
    one). A correction is a new row naming the one it supersedes, as for fulfilments."""

    __tablename__ = "declaration"
    user_id: str = Field(max_length=64)
    user_name: str
    organisation_id: str = Field(max_length=64)
    signed_on: date
    supersedes_id: int | None = Field(default=None, foreign_key="declaration.id", unique=True)


class ConditionEvent(RecordedFact, table=True):
    """An event that starts the clock of ``on-event`` conditions (§88: a processor engaged)."""

    __tablename__ = "condition_event"
    __table_args__ = (UniqueConstraint("authorisation_id", "event", "occurred_on"),)
    event: str = Field(max_length=64)
    occurred_on: date


class SubjectKind(SQLModel, table=True):
    """A kind of data subject, from the taxonomy documents' ``data_subjects``."""

    __tablename__ = "data_subject_kind"
    id: str = Field(primary_key=True, max_length=64)
    label: str


class Sample(SQLModel, table=True):
    """A steekproef (§90-92): the persons a control will look at, drawn on a day."""

    __tablename__ = "sample"
    authorisation_id: str = Field(foreign_key="authorisation.id", primary_key=True, max_length=128)
    id: str = Field(primary_key=True, max_length=64)
    drawn_on: date
    recorded_by: str
    recorded_at: datetime = _moment()


class SampleSubject(SQLModel, table=True):
    """A person in a sample, as HMAC-SHA256 of the INSZ; ``added_on`` tells extensions apart."""

    __tablename__ = "sample_subject"
    __table_args__ = (
        ForeignKeyConstraint(["authorisation_id", "sample_id"], ["sample.authorisation_id", "sample.id"]),
    )
    authorisation_id: str = Field(primary_key=True, max_length=128)
    sample_id: str = Field(primary_key=True, max_length=64)
    subject_hash: str = Field(primary_key=True, max_length=64)
    added_on: date


class SampleCommunication(SQLModel, table=True):
    __tablename__ = "sample_communication"
    __table_args__ = (
        ForeignKeyConstraint(["authorisation_id", "sample_id"], ["sample.authorisation_id", "sample.id"]),
    )
    id: int | None = Field(default=None, primary_key=True)
    authorisation_id: str = Field(max_length=128, index=True)
    sample_id: str = Field(max_length=64)
    communicated_on: date
    recipients: list[str] = _json()
    recorded_by: str
    recorded_at: datetime = _moment()


class AuditEntry(SQLModel, table=True):
    """One decision, chained to the previous entry by its SHA-256 so edits and gaps show."""

    __tablename__ = "audit_entry"
    seq: int | None = Field(default=None, primary_key=True)
    decision_id: str = Field(max_length=36, unique=True)
    asked_at: datetime = _moment()
    evaluated_at: str = Field(max_length=64)
    request: dict[str, Any] = _json(dict)
    decision: str = Field(max_length=8)
    reasons: list[dict[str, Any]] = _json()
    authorisation_id: str | None = Field(default=None, max_length=128, index=True)
    flow_id: str | None = Field(default=None, max_length=64)
    registry_version: int
    asked_by: str
    previous_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64)
    # HMAC-SHA256 of entry_hash under the chain key (not in the database); NULL only for
    # entries written before the chain was keyed (seq < AuditHead.keyed_from)
    entry_mac: str | None = Field(default=None, max_length=64)


class ApiToken(SQLModel, table=True):
    """Bearer tokens, stored as SHA-256 only; the token itself is shown once."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=128)
    role: str = Field(max_length=32)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = _moment()
    revoked_at: datetime | None = _moment(default=None)


class WebUser(SQLModel, table=True):
    """A person who signs in to the web pages: a name, one of the API's roles, the password as
    an Argon2 hash only. Failed sign-ins are counted per name, so that guessing slows down in
    every process alike."""

    __tablename__ = "web_user"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    role: str = Field(max_length=32)
    password_hash: str = Field(max_length=256)
    created_at: datetime = _moment()
    failed_sign_ins: int = Field(default=0)
    last_failed_at: datetime | None = _moment(default=None)
    signed_out_at: datetime | None = _moment(default=None)  # sessions begun before it have ended


class RegistryChange(SQLModel, table=True):
    """One row per committed change of the registry; the highest ``seq`` is the registry's
    version, which decisions record and other processes watch to refresh their snapshot."""

    __tablename__ = "registry_change"
    seq: int | None = Field(default=None, primary_key=True)
    changed_at: datetime = _moment()
    changed_by: str
    summary: str = Field(sa_column=Column(Text, nullable=False))
    # the authorisations the change touched; NULL when it touched the whole registry
    # (organisations, taxonomy), so other processes know what to recompile
    authorisations: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class StatusChangeRecord(SQLModel, table=True):
    """A dated suspension, reinstatement or revocation; each also made a new version."""

    __tablename__ = "status_change"
    id: int | None = Field(default=None, primary_key=True)
    authorisation_id: str = Field(foreign_key="authorisation.id", max_length=128, index=True)
    kind: str = Field(max_length=16)
    effective_on: date
    reason: str = Field(sa_column=Column(Text, nullable=False))
    version: int
    recorded_by: str
    recorded_at: datetime = _moment()


class AuditHead(SQLModel, table=True):
    """The end of the audit chain: one row, updated with every entry. Appenders lock it, so
    entries from several processes form one chain; ``audit verify`` checks the chain ends here,
    which exposes a deleted last entry too."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    entry_hash: str = Field(max_length=64)
    # the first entry that carries a MAC; the ones before were written unkeyed (migration 0005)
    keyed_from: int = 1
    # HMAC of (seq, entry_hash, keyed_from) under the chain key: a rewound or reset head shows
    head_mac: str | None = Field(default=None, max_length=64)


class RegistryIdentity(SQLModel, table=True):
    """Which registry this database is, made once by the migration: every process remembers
    the id it loaded and checks it before logging a decision, so a database file deleted,
    replaced or restored from another registry under a running server is noticed (503), not
    written to. ``key_fingerprint`` is an HMAC of a fixed text under the secret key, kept by the
    first process that used a key: another key would silently hash data subjects differently
    and break the audit chain's MACs, so processes with another key refuse to start."""

    __tablename__ = "registry_identity"
    id: int = Field(default=1, primary_key=True)
    registry_id: str = Field(max_length=36)
    created_at: datetime = _moment()
    key_fingerprint: str | None = Field(default=None, max_length=64)


class ReminderSent(SQLModel, table=True):
    """A reminder that reached its recipient (the SMTP server accepted it, the webhook answered
    2xx): one row per recipient and condition state, so that ``authreg remind`` sends the same
    state of a condition only once, and again when it changes (due soon, then overdue) or falls
    due anew (the next period, a new sample). The recipient is an e-mail address in lower case,
    or ``webhook:`` and a hash of the webhook's URL."""

    __tablename__ = "reminder_sent"
    __table_args__ = (
        UniqueConstraint(
            "recipient", "authorisation_id", "condition_id", "state", "due_on", name="uq_reminder_sent_state"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(max_length=254)
    authorisation_id: str = Field(foreign_key="authorisation.id", max_length=128, index=True)
    condition_id: str = Field(max_length=64)
    state: str = Field(max_length=16)
    due_on: date
    sent_at: datetime = _moment()
