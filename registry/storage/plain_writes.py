"""Write transactions on the driver's own connection, for the one write made on every decision:
the audit log's.

Through SQLAlchemy, each statement of that write cost more in the execution machinery (events,
compiled-cache lookup, result set-up) than in the database, and a transaction's begin and
commit as much again: together about a sixth of a decision over HTTP (py-spy, on tmpfs). Here a
statement is written once with ``:name`` placeholders, turned into the driver's style per
dialect, and its values pass through the columns' own bind processors, so that a moment or a
JSON value is stored exactly as SQLAlchemy stores it, and read back by it like any other row.

The connection still comes from the engine's pool (its checks on checkout, and on SQLite the
writers' queue, hold as for every write), and on SQLite the transaction begins with ``BEGIN
IMMEDIATE`` like every other. A driver error rolls back and is an outage (``Unavailable``, 503):
nothing of the write stays, and the caller answers nothing.

On PostgreSQL the writer has an engine of its own (``plain_engine``): its connection runs in
autocommit, so that the transaction's ``BEGIN`` and ``COMMIT`` are the writer's to send, and
without the pool's ping on every checkout. There a statement that returns nothing is held back
and sent with the next one, in one simple query with its values bound by psycopg on the client:
``BEGIN`` goes with the first statement and ``COMMIT`` with the last, so logging a decision
takes two round trips (moving the head; the entry and the commit) where the pooled connection
took five (the ping, psycopg's ``BEGIN``, the two statements, ``COMMIT``). That cost a decision
over HTTP about a tenth of its processor time, in authreg and in PostgreSQL (issue 12). After
any error the connection is closed (``_replace``). An error before the commit was sent (the
server restarted, say, and the connection is broken) is ``Retryable``: nothing was committed,
and the caller may run the transaction again on a new connection, which is what the ping was
for.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from sqlalchemy import Engine, Table, create_engine
from sqlalchemy.engine import Dialect

from authreg.domain.errors import Unavailable
from authreg.storage.sessions import write_turn

_PLACEHOLDER = re.compile(r":(\w+)")
_NAMES = itertools.count(1)
WRITER_NAME = "authreg audit writer"  # the writer's connection, as PostgreSQL lists it (pg_stat_activity)


class PlainStatement:
    """One SQL statement with ``:name`` placeholders; a name that is a column of ``table`` has
    its value processed by that column's type."""

    def __init__(self, sql: str, table: Table) -> None:
        self.sql, self.table = sql, table
        self.names = _PLACEHOLDER.findall(sql)
        # what the simple rewriting into the driver's style would get wrong
        if "::" in sql or "%" in sql or "'" in sql or len(set(self.names)) != len(self.names):
            raise ValueError(f"not a plain statement (casts, %, literals or a name twice): {sql}")
        self._prepared: dict[str, tuple[str, Callable[[Mapping[str, Any]], Any]]] = {}
        self.name = f"authreg_plain_{next(_NAMES)}"  # its name where it is prepared on the server
        numbers = iter(range(1, len(self.names) + 1))
        self.on_server = f"PREPARE {self.name} AS " + _PLACEHOLDER.sub(lambda _: f"${next(numbers)}", sql)
        self.execute = (
            f"EXECUTE {self.name}({', '.join(['%s'] * len(self.names))})" if self.names else f"EXECUTE {self.name}"
        )

    def prepared(self, dialect: Dialect) -> tuple[str, Callable[[Mapping[str, Any]], Any]]:
        """The statement in the driver's paramstyle and what turns values into its parameters."""
        found = self._prepared.get(dialect.name)
        if found is None:
            found = self._prepared[dialect.name] = self._prepare(dialect)
        return found

    def _prepare(self, dialect: Dialect) -> tuple[str, Callable[[Mapping[str, Any]], Any]]:
        columns = self.table.columns
        processors = {
            name: processor
            for name in self.names
            if name in columns
            and (processor := columns[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }

        def processed(values: Mapping[str, Any]) -> dict[str, Any]:
            return {name: processors[name](values[name]) if name in processors else values[name] for name in self.names}

        style = dialect.paramstyle
        if style == "qmark":
            return _PLACEHOLDER.sub("?", self.sql), lambda values: tuple(processed(values).values())
        if style == "pyformat":
            return _PLACEHOLDER.sub(r"%(\1)s", self.sql), processed
        if style == "named":
            return self.sql, processed
        raise NotImplementedError(f"the driver's paramstyle {style} is not supported")


class PlainWrite:
    """The statements of one transaction, run on the driver's cursor."""

    def __init__(self, connection: Any, dialect: Dialect, cursor: Any = None) -> None:
        self.connection, self.dialect = connection, dialect
        self.cursor = connection.cursor() if cursor is None else cursor

    def rows(self, statement: PlainStatement, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run a statement that returns rows (``RETURNING``) and fetch them."""
        self.run(statement, values)
        return list(self.cursor.fetchall())

    def run(self, statement: PlainStatement, values: Mapping[str, Any]) -> None:
        sql, parameters = statement.prepared(self.dialect)
        self.cursor.execute(sql, parameters(values))

    def run_many(self, statement: PlainStatement, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run a statement once per row; one row is a plain ``execute`` (psycopg's
        ``executemany`` sets up a pipeline, which costs more than it saves for one)."""
        sql, parameters = statement.prepared(self.dialect)
        if len(rows) == 1:
            self.cursor.execute(sql, parameters(rows[0]))
        else:
            self.cursor.executemany(sql, [parameters(row) for row in rows])

    def commit(self) -> None:
        self.connection.commit()


class HeldBackWrite(PlainWrite):
    """PostgreSQL in autocommit: statements that return nothing wait for the next one, and go
    with it, bound on the client, in one simple query (see the module's docstring)."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        super().__init__(connection, dialect, psycopg.ClientCursor(connection.dbapi_connection))
        self._on_server: set[str] = connection.info.setdefault("authreg_prepared", set())
        self._held = ["BEGIN"]
        self.committing = False  # until then, nothing of the transaction can have been committed

    def rows(self, statement: PlainStatement, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        self._send(self._bound(statement, values))
        while self.cursor.nextset():  # the held statements' results come first
            pass
        return list(self.cursor.fetchall())

    def run(self, statement: PlainStatement, values: Mapping[str, Any]) -> None:
        self._held.append(self._bound(statement, values))

    def run_many(self, statement: PlainStatement, rows: Sequence[Mapping[str, Any]]) -> None:
        self._held.extend(self._bound(statement, row) for row in rows)

    def commit(self) -> None:
        self.committing = True
        self._send("COMMIT")

    def _bound(self, statement: PlainStatement, values: Mapping[str, Any]) -> str:
        """``EXECUTE`` of the statement prepared on this connection, its values bound: the
        server plans it once, as it does for a statement psycopg prepares."""
        if statement.name not in self._on_server:  # once per connection, in a round trip of its own
            self.cursor.execute(statement.on_server)
            self._on_server.add(statement.name)
        _sql, parameters = statement.prepared(self.dialect)
        return self.cursor.mogrify(statement.execute, tuple(parameters(values).values()))

    def _send(self, last: str) -> None:
        held, self._held = self._held, []
        self.cursor.execute("; ".join([*held, last]))


class Retryable(Unavailable):
    """The write failed before its commit was sent, and its connection was closed: nothing of
    it was committed, and running it again, on a new connection, is safe."""


def plain_engine(engine: Engine) -> Engine:
    """The engine a plain writer writes through: on PostgreSQL one of its own on the same
    database, in autocommit, without the ping, one connection (a process's writer writes one
    transaction at a time); on SQLite ``engine`` itself, whose queue and ``BEGIN IMMEDIATE`` every
    writer of the file shares."""
    if engine.dialect.name != "postgresql":
        return engine
    return create_engine(
        engine.url,
        isolation_level="AUTOCOMMIT",
        pool_size=1,
        max_overflow=0,
        connect_args={"application_name": WRITER_NAME},
    )


@contextmanager
def plain_transaction(engine: Engine) -> Iterator[PlainWrite]:
    """One write transaction of plain statements: committed when the block ends, rolled back on
    any error; a driver's error is ``Unavailable`` (``Retryable`` when the commit had not been
    sent)."""
    driver_error = engine.dialect.loaded_dbapi.Error
    with write_turn(engine):
        try:
            connection = engine.raw_connection()
        except driver_error as error:  # a failed connect comes out as the driver's own error
            raise Unavailable(f"the database cannot be reached: {error}") from error
        write: PlainWrite | None = None
        try:
            held_back = engine.dialect.name == "postgresql" and connection.dbapi_connection.autocommit
            write = (HeldBackWrite if held_back else PlainWrite)(connection, engine.dialect)
            if engine.dialect.name == "sqlite":
                write.cursor.execute("BEGIN IMMEDIATE")
            yield write
            write.commit()
        except driver_error as error:
            if isinstance(write, HeldBackWrite):
                _replace(connection)
                if not write.committing:
                    raise Retryable(f"the write could not be made: {error}") from error
            else:
                _roll_back(connection, driver_error)
            raise Unavailable(f"the write could not be made: {error}") from error
        except BaseException:
            if isinstance(write, HeldBackWrite):
                _replace(connection)
            else:
                _roll_back(connection, driver_error)
            raise
        finally:
            connection.close()  # back to the pool


def _replace(connection: Any) -> None:
    """After any error, the held-back writer's connection is closed, which rolls back what it
    began, and the next write opens a new one and prepares its statements there anew: what the
    server holds prepared can no longer be out of step with what the writer believes (a
    statement prepared just before an interruption, a plan a schema change invalidated)."""
    connection.invalidate()


def _roll_back(connection: Any, driver_error: type[Exception]) -> None:
    """Roll back; on a connection that is gone, that fails too, and the first error is the one
    to tell (the pool drops the connection when it is checked in)."""
    with suppress(driver_error):
        connection.rollback()
