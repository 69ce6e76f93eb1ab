"""The JSON shape of every answer, one schema each, for every surface: the HTTP API declares them
as its responses (so the OpenAPI document describes, and schemathesis checks, every one) and
the CLI's ``--format json`` dumps through the same ones, so the two never drift apart.

The services return plain values (dicts and dataclasses' ``as_dict``); these schemas only
describe and dump them. Dates are ISO texts by the time they get here.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from authreg.domain.decisions import Verdict
from authreg.domain.document_format import STATUSES


class ReasonSchema(Schema):
    code = fields.String()
    message = fields.String()
    paragraphs = fields.List(fields.Integer())


class _Answered(Schema):
    """A decision's answer, which ``Decision.as_dict`` builds in exactly this shape: the schema
    documents it, and dumping hands the dicts on as they are. Rebuilding every reason of every
    decision cost a batch of 100 a tenth of its time; tests/test_answers.py holds the shape the
    decisions answer equal to marshmallow's own dump of this schema."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        return obj


class DecisionSchema(_Answered):
    decision = fields.String(validate=validate.OneOf(list(Verdict)))
    authorisation = fields.String(allow_none=True)
    flow = fields.String(allow_none=True)
    reasons = fields.List(fields.Nested(ReasonSchema))
    warnings = fields.List(fields.Nested(ReasonSchema))
    obligations = fields.List(fields.Nested(ReasonSchema))
    decision_id = fields.String()


class BatchAnswerSchema(_Answered):
    decisions = fields.List(fields.Nested(DecisionSchema))


class AuthorisationSummarySchema(Schema):
    id = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    state = fields.String(metadata={"description": "in-force, not-yet-valid, expired, suspended, revoked or replaced"})
    version = fields.Integer()
    valid_from = fields.String()
    valid_until = fields.String(allow_none=True)
    title = fields.String()


class AuthorisationListSchema(Schema):
    authorisations = fields.List(fields.Nested(AuthorisationSummarySchema))


class ProblemSchema(Schema):
    path = fields.String()
    message = fields.String()


class WrittenSchema(Schema):
    """What ``apply`` did to one document."""

    id = fields.String()
    status = fields.String(validate=validate.OneOf(["created", "changed", "unchanged"]))
    version = fields.Integer(allow_none=True)
    warnings = fields.List(fields.Nested(ProblemSchema))


class VersionSchema(Schema):
    version = fields.Integer()
    created_at = fields.String()
    created_by = fields.String()
    note = fields.String(allow_none=True)
    digest = fields.String()


class StatusHistorySchema(Schema):
    kind = fields.String()
    on = fields.String()
    reason = fields.String()


class HistorySchema(Schema):
    versions = fields.List(fields.Nested(VersionSchema))
    status_changes = fields.List(fields.Nested(StatusHistorySchema))


class StatusChangedSchema(Schema):
    id = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    version = fields.Integer()
    on = fields.String()


class ConditionStateSchema(Schema):
    authorisation = fields.String()
    condition = fields.String()
    kind = fields.String()
    state = fields.String()
    due_on = fields.String(allow_none=True)
    overdue_since = fields.String(allow_none=True)
    paragraphs = fields.List(fields.Integer())
    responsible = fields.List(fields.String())
    owed_to = fields.List(fields.String())
    trigger = fields.String(allow_none=True)
    effect = fields.String()
    description = fields.String()
    fulfilled_on = fields.String(allow_none=True)
    pending_samples = fields.List(fields.String())


class ConditionListSchema(Schema):
    conditions = fields.List(fields.Nested(ConditionStateSchema))


class PublicEntrySchema(Schema):
    authorisation = fields.String()
    reference = fields.String()
    title = fields.String()
    authority = fields.String()
    disclosers = fields.List(fields.String())
    recipients = fields.List(fields.String())
    purposes = fields.List(fields.String())
    categories = fields.List(fields.String(), metadata={"description": "top-level categories of the taxonomy"})
    valid_from = fields.String()
    valid_until = fields.String(allow_none=True)
    retention_until = fields.String(allow_none=True)


class PublicRegisterSchema(Schema):
    at = fields.String(metadata={"description": "the day the authorisations are in force"})
    authorisations = fields.List(fields.Nested(PublicEntrySchema))


class AccessSchema(Schema):
    organisation = fields.String()
    user = fields.String()
    data_category = fields.String(metadata={"description": "a category the flow grants, or one below it"})
    purpose = fields.String()
    source = fields.String(metadata={"description": "the discloser"})
    action = fields.String()
    authorisation = fields.String()
    flow = fields.String()
    granted_as = fields.String(metadata={"description": "the flow's own category that covers data_category"})
    national_register_number = fields.Boolean(
        metadata={"description": "false: no category holding the number, and no request naming a person"}
    )
    sample_gate = fields.String(
        allow_none=True, metadata={"description": "the gate's condition: only persons in a communicated sample"}
    )
    subject_kinds = fields.List(fields.String(), metadata={"description": "the kinds of person the flow is about"})
    until = fields.String(allow_none=True, metadata={"description": "the last day this grant runs; null: no end"})


class AccessListSchema(Schema):
    at = fields.String(metadata={"description": "the day asked about"})
    access = fields.List(fields.Nested(AccessSchema))


class FlipSchema(Schema):
    seq = fields.Integer(metadata={"description": "the audit entry replayed"})
    request = fields.Dict(
        metadata={"description": "the request as logged, the person replaced by named_person; with evaluated_at"}
    )
    before = fields.String(validate=validate.OneOf(["allow", "deny"]))
    after = fields.String(validate=validate.OneOf(["allow", "deny"]))
    authorisation = fields.String(metadata={"description": "the one that allowed before, or would allow after"})
    reasons = fields.List(fields.String(), metadata={"description": "for allow -> deny, the reason codes after"})


class ImpactSchema(Schema):
    since = fields.String(allow_none=True)
    replayed = fields.Integer(metadata={"description": "logged decisions asked again"})
    unreadable = fields.Integer(metadata={"description": "entries whose request could not be read back"})
    drifted = fields.Integer(metadata={"description": "logged answers today's registry gives otherwise already"})
    allow_to_deny = fields.Integer()
    deny_to_allow = fields.Integer()
    groups = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Dict()),
        metadata={"description": "flips counted by authorisation, organisation, user and data_category"},
    )
    flips = fields.List(fields.Nested(FlipSchema), metadata={"description": "the CLI's JSON only (authreg apply)"})


class FulfilmentRecordedSchema(Schema):
    id = fields.Integer()
    condition = fields.String()
    fulfilled_on = fields.String()


class SampleRegisteredSchema(Schema):
    id = fields.String()
    drawn_on = fields.String()
    subjects = fields.Integer(metadata={"description": "how many persons the sample holds"})


class SampleExtendedSchema(Schema):
    id = fields.String()
    on = fields.String()
    added = fields.Integer(metadata={"description": "how many persons were added"})


class CommunicatedSchema(Schema):
    id = fields.String()
    communicated_on = fields.String()
    to = fields.List(fields.String())


class DeclarationRecordedSchema(Schema):
    id = fields.Integer()
    authorisation = fields.String()
    user = fields.String()
    signed_on = fields.String()


class EventRecordedSchema(Schema):
    authorisation = fields.String()
    event = fields.String()
    occurred_on = fields.String()


class AuditEntrySchema(Schema):
    """An entry of the log; an entry that cannot be read is only ``seq`` and ``unreadable``."""

    seq = fields.Integer()
    decision_id = fields.String()
    asked_at = fields.String()
    asked_by = fields.String()
    evaluated_at = fields.String()
    request = fields.Dict(keys=fields.String(), values=fields.String())
    decision = fields.String()
    reasons = fields.List(fields.Nested(ReasonSchema))
    authorisation = fields.String(allow_none=True)
    flow = fields.String(allow_none=True)
    registry_version = fields.Integer()
    previous_hash = fields.String()
    entry_hash = fields.String()
    entry_mac = fields.String(allow_none=True)
    unreadable = fields.String(metadata={"description": "why the stored entry cannot be read"})


class AuditPageSchema(Schema):
    entries = fields.List(fields.Nested(AuditEntrySchema))
    next = fields.Integer(allow_none=True, metadata={"description": "the cursor of the next page, null at the end"})


class VerificationSchema(Schema):
    intact = fields.Boolean()
    entries = fields.Integer()
    broken_at = fields.Integer(allow_none=True)
    problem = fields.String()
    legacy = fields.Integer(metadata={"description": "entries written before the chain was keyed"})
    anchored_at = fields.Integer(allow_none=True, metadata={"description": "seq of the checkpoint held against"})


class CheckpointSchema(Schema):
    registry_id = fields.String()
    seq = fields.Integer()
    head_hash = fields.String()
    keyed_from = fields.Integer(metadata={"description": "the first entry that carries a MAC"})
    signed_at = fields.String()
    key_id = fields.String(metadata={"description": "SHA-256 of the raw Ed25519 public key"})
    signature = fields.String(metadata={"description": "Ed25519 over the other fields, hex"})
    public_key = fields.String(metadata={"description": "PEM; pin it out of band, do not trust it from here"})
