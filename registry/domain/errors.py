"""Errors of the core as plain exception types; only the edges turn them into exit or HTTP codes."""

from __future__ import annotations

from dataclasses import dataclass


class RegistryError(Exception):
    """Base of every error the core raises on purpose."""


class NotFound(RegistryError):
    """An id that the registry does not hold."""


class Conflict(RegistryError):
    """A write that clashes with what is stored (duplicate id, stale version)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where (file and field path) and what."""

    source: str
    path: str
    message: str

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.source, self.path) if part)
        return f"{where}: {self.message}" if where else self.message


class Invalid(RegistryError):
    """Input that breaks the contract; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Unavailable(RegistryError):
    """The registry cannot be used safely right now (its database was replaced, a decision
    cannot be logged): the edges answer 503 / exit 1, and no decision is given."""
