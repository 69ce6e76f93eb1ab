"""Every reason code is worded in both languages, and every wording is a code's or one named
part of one: a code added without words, or words left behind by a removed code, shows here."""

from __future__ import annotations

import json

from authreg.domain.decisions import Verdict
from authreg.domain.messages import LANGUAGES, TEMPLATES, Code


def test_every_code_has_its_words_in_every_language() -> None:
    for code in Code:
        assert set(TEMPLATES[code]) == set(LANGUAGES), code
    # the wordings that are no code of their own: a part of one, or one code's other message
    assert set(TEMPLATES) - set(Code) == {"from-source", "national-register-number-not-listed"}


def test_codes_and_verdicts_are_their_plain_strings_in_json() -> None:
    assert json.dumps({"decision": Verdict.ALLOW, "code": Code.DATA_SUBJECT_REQUIRED}) == (
        '{"decision": "allow", "code": "data-subject-required"}'
    )
