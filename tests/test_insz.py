"""INSZ check digits (both centuries, bis-numbers) and the keyed hash that replaces them."""

from __future__ import annotations

import pytest

from authreg.domain.insz import InvalidInsz, normalise
from authreg.domain.subjects import SecretUnusable, check_secret, subject_hash

SECRET = "3f6c1b0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29180716f5e4d3c2b1a098"

VALID = {
    "born 1985": "85073003328",
    "with punctuation": "85.07.30-033.28",
    "with spaces": "85 07 30 033 28",
    "born 2000, check over 2YYMMDDnnn": "00010100105",
    "bis-number, month + 20": "85273003371",
    "bis-number, month + 40": "85473003317",
    "bis-number born 2000s": "00410100191",
    "bis-number born 2017": "17223112369",
    "unknown birth date": "00000000196",
    "30 February: the day's serial numbers ran out": "85023003390",
}
INVALID = {
    "wrong check digits": ("85073003329", "check digits"),
    "2000s number with the 1900s check": ("00010100106", "check digits"),
    "ten digits": ("8507300332", "11 digits"),
    "twelve digits": ("850730033288", "11 digits"),
    "a letter": ("85O73003328", "11 digits"),
    "slashes": ("85/07/30/033/28", "11 digits"),
    "empty": ("", "11 digits"),
    "non-ascii digits": ("٨٥٠٧٣٠٠٣٣٢٨", "11 digits"),
    "month 13, check digits right": ("85133003370", "month must be in 1..12"),
}


@pytest.mark.parametrize("number", VALID.values(), ids=list(VALID))
def test_valid(number: str) -> None:
    assert len(normalise(number)) == 11


@pytest.mark.parametrize(("number", "why"), INVALID.values(), ids=list(INVALID))
def test_invalid(number: str, why: str) -> None:
    with pytest.raises(InvalidInsz, match=why):
        normalise(number)


def test_hash_ignores_punctuation_and_hides_the_number() -> None:
    plain = subject_hash("85073003328", SECRET)
    assert subject_hash("85.07.30-033.28", SECRET) == plain
    assert len(plain) == 64 and "85073003328" not in plain
    assert subject_hash("85073003328", SECRET[::-1]) != plain


@pytest.mark.parametrize(
    "secret", ["", "change-me", "x" * 64, "0123456789" * 2, "this-is-my-secret-key-0123456789abcdef", "placeholder" * 4]
)
def test_placeholder_secrets_are_refused(secret: str) -> None:
    with pytest.raises(SecretUnusable):
        check_secret(secret)


@pytest.mark.parametrize("secret", [SECRET, "k" + SECRET[1:], SECRET[: -(len(SECRET) - 32)]], ids=["64", "64b", "32"])
def test_random_secrets_are_accepted_at_the_boundary_too(secret: str) -> None:
    """Accepted means no error and a usable key: two keys differing in one character hash a
    person differently. 32 characters is the shortest key accepted; 31 is refused."""
    check_secret(secret)
    assert subject_hash("85073003328", secret) != subject_hash("85073003328", secret[:-1] + "x")
    with pytest.raises(SecretUnusable, match="at least 32 random characters"):
        check_secret(secret[:31])
