"""Row triggers for tests, in either database: a window into the writes the audit log makes on
the driver's own connection (``storage/plain_writes.py``, which SQLAlchemy's events do not see),
and a way to make the database itself refuse some of them, as a full disk would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from authreg.storage.sessions import transaction


@contextmanager
def trigger(
    engine: Engine, name: str, on: str, condition: str, *, run: str | None = None, refuse: str | None = None
) -> Iterator[None]:
    """While open, a row trigger ``on`` a table (``BEFORE UPDATE ON audit_head``) runs a
    statement, or refuses the row with the message ``refuse``, wherever ``condition`` holds."""
    table = on.split(" ON ")[1]
    sqlite = engine.dialect.name == "sqlite"
    with transaction(engine) as session:
        if sqlite:
            body = run if run is not None else f"SELECT RAISE(ABORT, '{refuse}')"
            session.execute(text(f"CREATE TRIGGER {name} {on} FOR EACH ROW WHEN {condition} BEGIN {body}; END"))
        else:
            body = run if run is not None else f"RAISE EXCEPTION '{refuse}'"
            function = f"BEGIN IF {condition} THEN {body}; END IF; RETURN NEW; END"
            session.execute(text(f"CREATE FUNCTION {name}() RETURNS trigger AS $$ {function} $$ LANGUAGE plpgsql"))
            session.execute(text(f"CREATE TRIGGER {name} {on} FOR EACH ROW EXECUTE FUNCTION {name}()"))
    try:
        yield
    finally:
        with transaction(engine) as session:
            session.execute(text(f"DROP TRIGGER {name}" if sqlite else f"DROP TRIGGER {name} ON {table}"))
            if not sqlite:
                session.execute(text(f"DROP FUNCTION {name}()"))


# The three statements of an audit append, as conditions of a trigger on their table.
AUDIT_WRITES = {
    "entry": ("BEFORE INSERT ON audit_entry", "1 = 1"),
    "head-lock": ("BEFORE UPDATE ON audit_head", "NEW.seq <> OLD.seq"),  # the head moves first
    "head-after-entry": ("BEFORE UPDATE ON audit_head", "NEW.seq = OLD.seq"),  # sealed after the entries
}
