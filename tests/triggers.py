"""Row triggers for tests, in either database: a window into the writes the audit log makes on
the driver's own connection (``storage/plain_writes.py``, which SQLAlchemy's events do not see),
and a way to make the database itself refuse some of them, as a full disk would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

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


@contextmanager
def refused_at_commit(engine: Engine, condition: str, refuse: str) -> Iterator[None]:
    """While open, a transaction that inserts an audit entry where ``condition`` holds fails at
    its commit, not before: a deferred foreign key that no row satisfies (SQLite), a deferred
    constraint trigger (PostgreSQL)."""
    sqlite = engine.dialect.name == "sqlite"
    with transaction(engine) as session:
        if sqlite:
            session.execute(text("CREATE TABLE commit_parent (id INTEGER PRIMARY KEY)"))
            session.execute(
                text(
                    "CREATE TABLE commit_guard (parent INTEGER"
                    " REFERENCES commit_parent(id) DEFERRABLE INITIALLY DEFERRED, why TEXT)"
                )
            )
            session.execute(
                text(
                    "CREATE TRIGGER refuse_at_commit AFTER INSERT ON audit_entry FOR EACH ROW"
                    f" WHEN {condition} BEGIN INSERT INTO commit_guard VALUES (-1, '{refuse}'); END"
                )
            )
        else:
            function = f"BEGIN IF {condition} THEN RAISE EXCEPTION '{refuse}'; END IF; RETURN NEW; END"
            session.execute(
                text(f"CREATE FUNCTION refuse_at_commit() RETURNS trigger AS $$ {function} $$ LANGUAGE plpgsql")
            )
            session.execute(
                text(
                    "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON audit_entry"
                    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()"
                )
            )
    try:
        yield
    finally:
        with transaction(engine) as session:
            if sqlite:
                session.execute(text("DROP TRIGGER refuse_at_commit"))
                session.execute(text("DROP TABLE commit_guard"))
                session.execute(text("DROP TABLE commit_parent"))
            else:
                session.execute(text("DROP TRIGGER refuse_at_commit ON audit_entry"))
                session.execute(text("DROP FUNCTION refuse_at_commit()"))


# Each step of an audit append made to fail, with a message: its statements, and its commit.
AUDIT_FAULTS: dict[str, Callable[[Engine, str], AbstractContextManager[None]]] = {
    "entry": lambda engine, why: trigger(engine, "refuse", "BEFORE INSERT ON audit_entry", "1 = 1", refuse=why),
    # the head moves first, and is sealed after the entries
    "head-lock": lambda engine, why: trigger(
        engine, "refuse", "BEFORE UPDATE ON audit_head", "NEW.seq <> OLD.seq", refuse=why
    ),
    "head-after-entry": lambda engine, why: trigger(
        engine, "refuse", "BEFORE UPDATE ON audit_head", "NEW.seq = OLD.seq", refuse=why
    ),
    "commit": lambda engine, why: refused_at_commit(engine, "1 = 1", why),
}


def refusal_text(engine: Engine, fault: str, why: str) -> str:
    """What the driver says of a fault of ``AUDIT_FAULTS``: its message, but SQLite words a
    deferred foreign key that fails a commit its own way."""
    return "FOREIGN KEY constraint failed" if fault == "commit" and engine.dialect.name == "sqlite" else why
