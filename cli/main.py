"""``authreg`` commands. Exit codes: 0 success, 2 invalid input (message on stderr naming the
file and field, or the unknown id), 1 any other failure."""

from __future__ import annotations

import getpass
import json
import os
import sys
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cli import render
from registry import migrate, store, yamlio
from registry.applying import apply_documents
from registry.config import Settings
from registry.db import make_engine, transaction
from registry.documents import read_paths
from registry.errors import Invalid, NotFound, RegistryError

EXIT_INVALID = 2
EXIT_FAILURE = 1


class Commands(click.Group):
    """Turns the core's exceptions into messages on stderr and the documented exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Invalid as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            ctx.exit(EXIT_INVALID)
        except NotFound as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_INVALID)
        except RegistryError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_FAILURE)
        except SQLAlchemyError as exc:
            click.echo(f"error: database: {exc.__class__.__name__}: {str(exc).splitlines()[0]}", err=True)
            click.echo("(is the database reachable and migrated? run `authreg init`)", err=True)
            ctx.exit(EXIT_FAILURE)


class Runtime:
    """What every command needs: settings, an engine made on first use, who is acting."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @property
    def actor(self) -> str:
        return os.environ.get("AUTHREG_ACTOR") or f"cli:{getpass.getuser()}"


pass_runtime = click.make_pass_decorator(Runtime)


@click.group(cls=Commands)
@click.option(
    "--database-url",
    envvar="AUTHREG_DATABASE_URL",
    help="SQLAlchemy URL of the registry [env AUTHREG_DATABASE_URL; default sqlite:///var/authreg.db].",
)
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """authreg: the registry of data-sharing authorisations."""
    settings = Settings.from_env()
    if database_url:
        settings = Settings(database_url=database_url, timezone=settings.timezone)
    ctx.obj = Runtime(settings)
    ctx.call_on_close(ctx.obj.close)


@main.command()
@pass_runtime
def init(runtime: Runtime) -> None:
    """Create or upgrade the database schema to the newest migration."""
    migrate.upgrade(runtime.settings.database_url)
    click.echo(f"database ready: {render.safe_url(runtime.settings.database_url)}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
@pass_runtime
def apply(runtime: Runtime, paths: tuple[str, ...], dry_run: bool) -> None:
    """Apply authorisation, organisation and taxonomy documents (files or folders)."""
    documents = read_paths(paths)
    report = apply_documents(runtime.engine, documents, actor=runtime.actor, now=store.utcnow(), dry_run=dry_run)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(render.apply_report(report))


@main.command()
@click.argument("authorisation_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
@pass_runtime
def show(runtime: Runtime, authorisation_id: str, fmt: str) -> None:
    """Show one authorisation; json and yaml print the stored document itself."""
    with transaction(runtime.engine) as session:
        document = store.stored_document(session, authorisation_id)
    if fmt == "json":
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    elif fmt == "yaml":
        click.echo(yamlio.dump(document), nl=False)
    else:
        click.echo(render.authorisation_text(document))


@main.command(name="list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_runtime
def list_(runtime: Runtime, fmt: str) -> None:
    """List the registered authorisations."""
    with transaction(runtime.engine) as session:
        rows = [render.summary(row) for row in store.list_authorisations(session)]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        click.echo(render.table(rows, ["id", "status", "version", "valid_from", "valid_until", "title"]))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
