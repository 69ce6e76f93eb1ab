"""Read-side answers for managers: the state of every condition as of a day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from registry import fact_store
from registry.conditions import ConditionState, states
from registry.db import transaction


def condition_states(
    engine: Engine, *, at: date, window_days: int, authorisation: str | None = None
) -> list[ConditionState]:
    """Every condition (of one authorisation, or of all) as of ``at``, ordered by authorisation."""
    with transaction(engine) as session:
        if authorisation is not None:
            fact_store.timeline(session, authorisation)  # NotFound for an unknown id
        gathered = fact_store.facts(session, None if authorisation is None else [authorisation])
    return [state for facts in gathered for state in states(facts, at, window_days)]
