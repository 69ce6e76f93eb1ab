"""Human messages for reason codes, warnings and obligations, in English and Dutch.

Templates take named fields; a message never contains a data subject's INSZ."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from string import Formatter
from typing import Any

LANGUAGES = ("en", "nl")


class Code(StrEnum):
    """Every code a decision answers with: its reasons, warnings and obligations (docs/decisions.md).
    A member is its string, so JSON, the audit log and decision tables see the plain code."""

    ALLOWED = "allowed"
    NO_AUTHORISATION = "no-authorisation"
    PROCESSOR_NO_DATA_ACCESS = "processor-no-data-access"
    ORGANISATION_NOT_RECIPIENT = "organisation-not-recipient"
    USER_NOT_AUTHORISED = "user-not-authorised"
    DECLARATION_MISSING = "declaration-missing"
    DATA_CATEGORY_NOT_AUTHORISED = "data-category-not-authorised"
    PURPOSE_NOT_AUTHORISED = "purpose-not-authorised"
    ACTION_NOT_AUTHORISED = "action-not-authorised"
    NATIONAL_REGISTER_NUMBER_NOT_AUTHORISED = "national-register-number-not-authorised"
    DATA_SUBJECT_KIND_NOT_AUTHORISED = "data-subject-kind-not-authorised"
    DATA_SUBJECT_REQUIRED = "data-subject-required"
    NOT_YET_VALID = "not-yet-valid"
    EXPIRED = "expired"
    AUTHORISATION_SUSPENDED = "authorisation-suspended"
    AUTHORISATION_REVOKED = "authorisation-revoked"
    AUTHORISATION_REPLACED = "authorisation-replaced"
    CONDITION_OVERDUE = "condition-overdue"
    SUBJECT_NOT_IN_COMMUNICATED_SAMPLE = "subject-not-in-communicated-sample"
    MAX_USERS_EXCEEDED = "max-users-exceeded"
    ONWARD_DISCLOSURE = "onward-disclosure"
    ONWARD_DISCLOSURE_EXCEPTION = "onward-disclosure-exception"
    RETENTION = "retention"
    INTERNAL_ERROR = "internal-error"


TEMPLATES: dict[str, dict[str, str]] = {
    "allowed": {
        "en": "allowed by flow {flow} of authorisation {authorisation}",
        "nl": "toegestaan door gegevensstroom {flow} van machtiging {authorisation}",
    },
    "no-authorisation": {
        "en": "{organisation} is not a party of any authorisation",
        "nl": "{organisation} is geen partij in een machtiging",
    },
    "processor-no-data-access": {
        "en": "{organisation} is a processor in {authorisation}: a processor has no access to the data itself",
        "nl": "{organisation} is verwerker in {authorisation}: een verwerker heeft geen toegang tot de gegevens zelf",
    },
    "organisation-not-recipient": {
        "en": "no authorised flow goes to {organisation}{from_source}",
        "nl": "geen gemachtigde gegevensstroom gaat naar {organisation}{from_source}",
    },
    "from-source": {"en": " from {source}", "nl": " vanuit {source}"},
    "user-not-authorised": {
        "en": "user {user} is not listed for {organisation} in {authorisation}",
        "nl": "gebruiker {user} staat niet op de lijst voor {organisation} in {authorisation}",
    },
    "declaration-missing": {
        "en": "user {user} has no declaration of honour signed on or before {day}",
        "nl": "gebruiker {user} heeft geen verklaring op eer ondertekend op of voor {day}",
    },
    "data-category-not-authorised": {
        "en": "data category {category} is not (entirely) authorised by flow {flow}",
        "nl": "gegevenscategorie {category} is niet (volledig) gemachtigd in gegevensstroom {flow}",
    },
    "purpose-not-authorised": {
        "en": "purpose {purpose} is not authorised for flow {flow}",
        "nl": "doeleinde {purpose} is niet gemachtigd voor gegevensstroom {flow}",
    },
    "action-not-authorised": {
        "en": "action {action} is not authorised: only read",
        "nl": "handeling {action} is niet gemachtigd: enkel raadplegen",
    },
    "national-register-number-not-authorised": {
        "en": "flow {flow} does not allow the national register number",
        "nl": "gegevensstroom {flow} staat het gebruik van het rijksregisternummer niet toe",
    },
    "national-register-number-not-listed": {
        "en": "user {user} is not on the list of staff of {authorisation} who may use the national register number",
        "nl": "gebruiker {user} staat niet op de lijst van personeelsleden van {authorisation} die het "
        "rijksregisternummer gebruiken",
    },
    "data-subject-kind-not-authorised": {
        "en": "flow {flow} is not about persons of kind {kind}",
        "nl": "gegevensstroom {flow} betreft geen personen van de soort {kind}",
    },
    "data-subject-required": {
        "en": "{authorisation} allows access only to persons in a communicated sample: name the person (data_subject)",
        "nl": "{authorisation} staat enkel toegang toe tot personen in een meegedeelde steekproef: "
        "vermeld de persoon (data_subject)",
    },
    "not-yet-valid": {
        "en": "{authorisation} (flow {flow}) is valid only from {valid_from}",
        "nl": "{authorisation} (gegevensstroom {flow}) geldt pas vanaf {valid_from}",
    },
    "expired": {
        "en": "{authorisation} (flow {flow}) was valid until {valid_until}",
        "nl": "{authorisation} (gegevensstroom {flow}) gold tot {valid_until}",
    },
    "authorisation-suspended": {
        "en": "{authorisation} is suspended on {day}",
        "nl": "{authorisation} is geschorst op {day}",
    },
    "authorisation-revoked": {
        "en": "{authorisation} is revoked on {day}",
        "nl": "{authorisation} is ingetrokken op {day}",
    },
    "authorisation-replaced": {
        "en": "{authorisation} is replaced by {replaced_by} from {replaced_from}",
        "nl": "{authorisation} is vervangen door {replaced_by} vanaf {replaced_from}",
    },
    "condition-overdue": {
        "en": "condition {condition} of {authorisation} is overdue (due {due_on})",
        "nl": "voorwaarde {condition} van {authorisation} is niet tijdig vervuld (uiterlijk {due_on})",
    },
    "subject-not-in-communicated-sample": {
        "en": "the person is not in a sample of {authorisation} communicated to the security consultants by {day}",
        "nl": "de persoon zit niet in een steekproef van {authorisation} die uiterlijk {day} aan de "
        "veiligheidsconsulenten werd meegedeeld",
    },
    "max-users-exceeded": {
        "en": "{authorisation} lists {users} users, more than the {max_users} it allows",
        "nl": "{authorisation} vermeldt {users} gebruikers, meer dan de toegestane {max_users}",
    },
    "onward-disclosure": {
        "en": "onward disclosure: {value}",
        "nl": "verdere mededeling: {value}",
    },
    "onward-disclosure-exception": {
        "en": "except: {to}: {description}",
        "nl": "uitzondering: {to}: {description}",
    },
    "retention": {
        "en": "keep the data no longer than {until}",
        "nl": "bewaar de gegevens niet langer dan tot {until}",
    },
    "internal-error": {
        "en": "the decision could not be made; denied to be safe",
        "nl": "de beslissing kon niet worden genomen; uit voorzorg geweigerd",
    },
}


def message(code: str, language: str, **fields: Any) -> str:
    return printf_templates(language)[code] % fields


def _printf(template: str) -> str:
    """A template in printf style with named fields (``%(user)s``): ``%`` formats in about half
    the time of ``str.format_map``, and every denial words its reasons. Only plain fields are
    used in the templates; a format spec or conversion would be lost, so one is refused here."""
    parts = []
    for literal, name, spec, conversion in Formatter().parse(template):
        if spec or conversion:
            raise ValueError(f"a template field with a format spec or conversion: {template!r}")
        parts.append(literal.replace("%", "%%") + (f"%({name})s" if name is not None else ""))
    return "".join(parts)


_CODES = {code.value: code for code in Code}
# per language, per code: keyed by the ``Code`` members themselves where a template is one's, so
# that looking a code up is one hash and an identity (a tuple key of a member and a language
# took twice as long: comparing a member with a plain string goes through the subclass)
_PRINTF = {
    language: {_CODES.get(key, key): _printf(texts.get(language, texts["en"])) for key, texts in TEMPLATES.items()}
    for language in LANGUAGES
}


def printf_templates(language: str) -> Mapping[str, str]:
    """The templates of a language (English for one there is none of), printf-style with
    named fields: a denial words its reasons with them directly."""
    return _PRINTF.get(language) or _PRINTF["en"]
