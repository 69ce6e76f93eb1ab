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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.engine import Dialect

from authreg.domain.errors import Unavailable
from authreg.storage.sessions import write_turn

_PLACEHOLDER = re.compile(r":(\w+)")


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

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self.cursor, self.dialect = cursor, dialect

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


@contextmanager
def plain_transaction(engine: Engine) -> Iterator[PlainWrite]:
    """One write transaction of plain statements: committed when the block ends, rolled back on
    any error; a driver's error is ``Unavailable``."""
    driver_error = engine.dialect.loaded_dbapi.Error
    with write_turn(engine):
        try:
            connection = engine.raw_connection()
        except driver_error as error:  # a failed connect comes out as the driver's own error
            raise Unavailable(f"the database cannot be reached: {error}") from error
        try:
            cursor = connection.cursor()
            if engine.dialect.name == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")
            yield PlainWrite(cursor, engine.dialect)
            connection.commit()
        except driver_error as error:
            _roll_back(connection, driver_error)
            raise Unavailable(f"the write could not be made: {error}") from error
        except BaseException:
            _roll_back(connection, driver_error)
            raise
        finally:
            connection.close()  # back to the pool


def _roll_back(connection: Any, driver_error: type[Exception]) -> None:
    """Roll back; on a connection that is gone, that fails too, and the first error is the one
    to tell (the pool drops the connection when it is checked in)."""
    with suppress(driver_error):
        connection.rollback()
