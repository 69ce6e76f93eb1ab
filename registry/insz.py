"""The INSZ (national register number or bis-number) of a data subject: syntax and check digits.

``YYMMDDnnncc``: ``cc`` is ``97 - (YYMMDDnnn mod 97)``, or for people born from 2000 on
``97 - (2YYMMDDnnn mod 97)``. Bis-numbers add 20 or 40 to the month and use the same check.
Only length and check digits are verified: day and month 00 occur for unknown birth dates.
"""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"[.\-\s]")


class InvalidInsz(ValueError):
    """Not an INSZ; the message says why without repeating the number."""


def normalise(text: str) -> str:
    """``85.07.30-033.28`` → ``85073003328``; raises ``InvalidInsz`` when it is not an INSZ."""
    digits = _PUNCTUATION.sub("", text)
    if not digits.isascii() or not digits.isdigit() or len(digits) != 11:
        raise InvalidInsz("not an INSZ: 11 digits expected (punctuation . - and spaces allowed)")
    body, check = digits[:9], int(digits[9:])
    if check not in (97 - int(body) % 97, 97 - int("2" + body) % 97):
        raise InvalidInsz("not an INSZ: the check digits do not match")
    return digits
