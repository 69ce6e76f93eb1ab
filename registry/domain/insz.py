"""The INSZ (national register number or bis-number) of a data subject, checked by
python-stdnum (``stdnum.be.nn``, ``stdnum.be.bis``): length, check digits for both centuries,
a month that exists (00: unknown) and the bis-numbers' month offsets (+20, +40). A day past the
month's end is read as unknown, as the register issues such numbers when a day's serial numbers
run out. Only the syntax is ours: punctuation allowed, and messages that name what is wrong
without repeating the number."""

from __future__ import annotations

import re

from stdnum.be import bis, nn
from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError

_PUNCTUATION = re.compile(r"[.\-\s]")


class InvalidInsz(ValueError):
    """Not an INSZ; the message says why without repeating the number."""


def normalise(text: str) -> str:
    """``85.07.30-033.28`` → ``85073003328``; raises ``InvalidInsz`` when it is not an INSZ."""
    digits = _PUNCTUATION.sub("", text)
    if not digits.isascii() or not digits.isdigit() or len(digits) != 11:
        raise InvalidInsz("not an INSZ: 11 digits expected (punctuation . - and spaces allowed)")
    kind = bis if int(digits[2:4]) >= 20 else nn  # a bis-number's month is offset by 20 or 40
    try:
        return str(kind.validate(digits))
    except InvalidChecksum as exc:
        raise InvalidInsz("not an INSZ: the check digits do not match") from exc
    except InvalidComponent as exc:  # a birth date that cannot exist, a month offset that is none
        raise InvalidInsz(f"not an INSZ: {str(exc).rstrip('.').lower()}") from exc
    except ValidationError as exc:
        raise InvalidInsz("not an INSZ") from exc
