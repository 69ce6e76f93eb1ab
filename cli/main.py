"""``authreg`` commands. Exit codes: 0 success, 2 invalid input (message on stderr naming the
file and field, or the unknown id), 1 any other failure."""

from __future__ import annotations

import getpass
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from authreg.cli import render
from authreg.cli.params import DAY
from authreg.cli.remind import remind
from authreg.config import Settings
from authreg.domain import yaml_input
from authreg.domain.clock import Clock, utcnow
from authreg.domain.decisions import Verdict
from authreg.domain.document_format import MAX_ID
from authreg.domain.documents import collect_files, read_paths
from authreg.domain.errors import Conflict, Invalid, NotFound, Problem, RegistryError
from authreg.domain.messages import LANGUAGES
from authreg.domain.requests import load_request
from authreg.domain.subjects import SecretUnusable, load_secret, make_secret_file
from authreg.services import access_report, checkpoints, odrl, people, public_register, tokens
from authreg.services.answers import (
    AccessListSchema,
    AuthorisationSummarySchema,
    ConditionStateSchema,
    DecisionSchema,
    ImpactSchema,
    PublicRegisterSchema,
)
from authreg.services.apply import apply_documents
from authreg.services.calendar_feed import calendar
from authreg.services.database import (
    Database,
    DatabaseFault,
    check_key,
    key_fingerprint,
    open_database,
    safe_url,
    upgrade,
)
from authreg.services.decision_service import DecisionService
from authreg.services.decision_tables import run_table
from authreg.services.impact import impact as impact_of
from authreg.services.record_facts import (
    change_status,
    communicate_sample,
    extend_sample,
    record_declaration,
    record_event,
    record_fulfilment,
    register_sample,
)
from authreg.services.reports import (
    audit_records,
    authorisation_detail,
    authorisation_summaries,
    condition_states,
    csv_text,
    jsonl,
    to_review,
)

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
        except (NotFound, Conflict) as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_INVALID)
        except RegistryError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_FAILURE)
        except DatabaseFault as exc:
            click.echo(f"error: database: {exc.__class__.__name__}: {str(exc).splitlines()[0]}", err=True)
            click.echo("(is the database reachable and migrated? run `authreg init`)", err=True)
            ctx.exit(EXIT_FAILURE)


def _json(value: Any) -> str:
    """JSON for a person at a terminal: indented, non-ASCII kept (names, paragraphs' words)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


class Runtime:
    """What every command needs: settings, an engine made on first use, who is acting."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Database | None = None

    @property
    def engine(self) -> Database:
        if self._engine is None:
            self._engine = open_database(self.settings.database_url)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @property
    def actor(self) -> str:
        return os.environ.get("AUTHREG_ACTOR") or f"cli:{getpass.getuser()}"

    @property
    def clock(self) -> Clock:
        return Clock.current(self.settings.timezone)

    @property
    def secret(self) -> str:
        """The secret key, refused unless it is the one this registry is used with."""
        secret = load_secret(self.settings.secret_key, self.settings.secret_key_file)
        check_key(self.engine, secret)
        return secret


def _corrects(noun: str) -> Any:
    """``--supersedes N``: a correction names the recorded fact it replaces."""
    return click.option(
        "--supersedes",
        type=click.IntRange(1, MAX_ID),
        metavar=noun,
        help=f"Correct an earlier {noun.lower()} (its number).",
    )


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
        settings = settings.but(database_url=database_url)
    ctx.obj = Runtime(settings)
    ctx.call_on_close(ctx.obj.close)


@main.command()
@pass_runtime
def init(runtime: Runtime) -> None:
    """Create or upgrade the database schema to the newest migration, and make sure the secret
    key is usable and this registry's: where none is set (AUTHREG_SECRET_KEY or the key file)
    and the registry has none yet, a random one is written to the key file."""
    settings = runtime.settings
    upgrade(settings.database_url)
    click.echo(f"database ready: {safe_url(settings.database_url)}")
    if settings.secret_key is None and not settings.secret_key_file.exists():
        recorded = key_fingerprint(runtime.engine)
        if recorded is not None:  # a new key would not be this registry's: say where the old one belongs
            raise SecretUnusable(
                f"no secret key at {settings.secret_key_file}: this registry is used with one (its fingerprint "
                f"starts {recorded[:12]}); put that key back there or set AUTHREG_SECRET_KEY"
            )
        if make_secret_file(settings.secret_key_file):
            click.echo(f"secret key written to {settings.secret_key_file} (keep it: the audit log is keyed with it)")
    # an empty or placeholder key is refused here, and so is one that is not this registry's
    check_key(runtime.engine, load_secret(settings.secret_key, settings.secret_key_file))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
@click.option("--impact", is_flag=True, help="With --dry-run: the logged decisions the change would turn round.")
@click.option("--since", type=DAY, help="With --impact: replay the decisions asked from this day on [default: all].")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_runtime
def apply(runtime: Runtime, paths: tuple[str, ...], dry_run: bool, impact: bool, since: date | None, fmt: str) -> None:
    """Apply authorisation, organisation and taxonomy documents (files or folders)."""
    if (impact or since or fmt == "json") and not (dry_run and impact):
        raise click.UsageError("--impact needs --dry-run; --since and --format json need --impact")
    documents = read_paths(paths)
    if impact:
        found = impact_of(runtime.engine, documents, since=since, actor=runtime.actor, now=utcnow())
        report = found.apply
    else:
        report = apply_documents(runtime.engine, documents, actor=runtime.actor, now=utcnow(), dry_run=dry_run)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if impact and fmt == "json":
        click.echo(_json(ImpactSchema().dump(found.as_dict())))
        return
    click.echo(render.apply_report(report))
    if impact:
        click.echo(render.impact_text(found))


@main.command()
@click.argument("authorisation_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
@pass_runtime
def show(runtime: Runtime, authorisation_id: str, fmt: str) -> None:
    """Show one authorisation; json and yaml print the stored document itself."""
    document, timeline = authorisation_detail(runtime.engine, authorisation_id)
    if fmt == "json":
        click.echo(_json(document))  # the stored document itself, as the API sends it
    elif fmt == "yaml":
        click.echo(yaml_input.dump(document), nl=False)
    else:
        click.echo(render.authorisation_text(document, timeline, runtime.clock.today))


@main.command(name="list")
@click.option("--at", type=DAY, help="Status as of this day [default: today].")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_runtime
def list_(runtime: Runtime, at: date | None, fmt: str) -> None:
    """List the registered authorisations, with their status and whether they are in force."""
    rows = [summary.as_dict() for summary in authorisation_summaries(runtime.engine, at=at or runtime.clock.today)]
    if fmt == "json":
        click.echo(_json(AuthorisationSummarySchema(many=True).dump(rows)))
    else:
        click.echo(render.table(rows, ["id", "status", "state", "version", "valid_from", "valid_until", "title"]))


@main.command()
@click.argument("authorisation")
@click.option("--format", "fmt", type=click.Choice(["odrl"]), default="odrl", show_default=True)
@pass_runtime
def export(runtime: Runtime, authorisation: str, fmt: str) -> None:
    """An authorisation in an open standard: W3C ODRL 2.2 in JSON-LD, with DPV terms."""
    click.echo(_json(odrl.policy(runtime.engine, authorisation)))


@main.command(name="access")
@click.option("--user", help="What this user may read (with --organisation).")
@click.option("--organisation", help="The organisation the user is listed for.")
@click.option("--category", help="Who may read this data category (a taxonomy id).")
@click.option("--source", help="With --category: only from this discloser.")
@click.option("--at", type=DAY, help="On this day [default: today].")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_runtime
def access_(runtime: Runtime, at: date | None, fmt: str, **asked: str | None) -> None:
    """Who may read what: every category (through the taxonomy), purpose and source a user may
    read, or every organisation and user that may read a category; through which authorisation
    and flow, and what the number or a sample gate restricts. Complete: every row is printed."""
    day = at or runtime.clock.today
    policy = DecisionService.load(runtime.engine, timezone=runtime.settings.timezone, secret=None).policy
    rows = [row.as_dict() for row in access_report.access(policy, day, **asked)]
    if fmt == "json":
        click.echo(_json(AccessListSchema().dump({"at": day.isoformat(), "access": rows})))
        return
    click.echo(render.access_table(rows, by_category=asked["category"] is not None))


@main.command(name="public-register")
@click.option("--at", type=DAY, help="The authorisations in force on this day [default: today].")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@pass_runtime
def public_register_(runtime: Runtime, at: date | None, fmt: str) -> None:
    """The public transparency register: who discloses personal data to whom, for which purposes,
    which kinds of data, until when; no personal data (what GET /api/v1/public/register serves)."""
    day = at or runtime.clock.today
    found = public_register.entries(runtime.engine, at=day)
    if fmt == "json":
        rows = [entry.as_dict() for entry in found]
        click.echo(_json(PublicRegisterSchema().dump({"at": day.isoformat(), "authorisations": rows})))
    elif fmt == "csv":
        click.echo(public_register.csv_text(found), nl=False)
    else:
        rows = [{**entry.as_dict(), "recipients": ", ".join(entry.recipients)} for entry in found]
        click.echo(render.table(rows, ["authorisation", "reference", "recipients", "valid_from", "valid_until"]))


@main.command()
@click.option("--at", type=DAY, help="The day to judge on [default: today in the registry's time zone].")
@click.option("--overdue", is_flag=True, help="Only conditions that are overdue.")
@click.option("--authorisation", "authorisation", metavar="ID", help="Only the conditions of this authorisation.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "ics"]), default="table", show_default=True)
@click.option("--due-soon-days", type=click.IntRange(min=0), help="Warning window [env AUTHREG_DUE_SOON_DAYS; 30].")
@pass_runtime
def conditions(
    runtime: Runtime, at: date | None, overdue: bool, authorisation: str | None, fmt: str, due_soon_days: int | None
) -> None:
    """The state of every condition as of a day; exits 1 when any is overdue (for cron alerts)."""
    clock = runtime.clock
    window = runtime.settings.due_soon_days if due_soon_days is None else due_soon_days
    found = condition_states(runtime.engine, at=at or clock.today, window_days=window, authorisation=authorisation)
    shown = [state for state in found if state.overdue] if overdue else found
    if fmt == "json":
        click.echo(_json(ConditionStateSchema(many=True).dump([state.as_dict() for state in shown])))
    elif fmt == "ics":
        click.echo(calendar(shown, generated_at=clock.now).decode(), nl=False)
    else:
        click.echo(render.conditions_table(shown))
    if any(state.overdue for state in found):
        sys.exit(EXIT_FAILURE)


@main.command()
@click.argument("authorisation_id")
@click.argument("condition_id")
@click.option("--on", "on", type=DAY, required=True, help="The day the condition was fulfilled.")
@click.option("--evidence", required=True, help="What shows it (document reference, letter, e-mail).")
@click.option("--link", help="Where the evidence can be found.")
@_corrects("FULFILMENT")
@pass_runtime
def fulfil(
    runtime: Runtime,
    authorisation_id: str,
    condition_id: str,
    on: date,
    evidence: str,
    link: str | None,
    supersedes: int | None,
) -> None:
    """Record that a condition was fulfilled, with evidence."""
    fulfilment = record_fulfilment(
        runtime.engine,
        authorisation=authorisation_id,
        condition=condition_id,
        fulfilled_on=on,
        evidence=evidence,
        link=link,
        supersedes=supersedes,
        actor=runtime.actor,
        clock=runtime.clock,
    )
    corrects = f", superseding {supersedes}" if supersedes else ""
    click.echo(f"fulfilment {fulfilment.id} of {authorisation_id}/{condition_id} on {on}{corrects}")


@main.command()
@click.argument("authorisation_id")
@click.argument("user_id")
@click.option("--on", "on", type=DAY, required=True, help="The day the user signed the declaration of honour.")
@click.option("--evidence", help="Where the signed declaration is kept.")
@_corrects("DECLARATION")
@pass_runtime
def declare(
    runtime: Runtime, authorisation_id: str, user_id: str, on: date, evidence: str | None, supersedes: int | None
) -> None:
    """Record that an authorised user signed the declaration of honour (§78); it counts from that day."""
    number = record_declaration(
        runtime.engine,
        authorisation=authorisation_id,
        user=user_id,
        signed_on=on,
        evidence=evidence,
        supersedes=supersedes,
        actor=runtime.actor,
        clock=runtime.clock,
    )
    corrects = f", superseding {supersedes}" if supersedes else ""
    click.echo(f"declaration {number} of {authorisation_id}/{user_id} signed on {on}{corrects}")


@main.command()
@click.argument("authorisation_id")
@click.argument("event_id", metavar="EVENT")
@click.option("--on", "on", type=DAY, required=True, help="The day it happened.")
@click.option("--evidence", help="What shows it.")
@pass_runtime
def event(runtime: Runtime, authorisation_id: str, event_id: str, on: date, evidence: str | None) -> None:
    """Record an event (e.g. a processor engaged, §88); the on-event conditions it triggers are due from then on."""
    record_event(
        runtime.engine,
        authorisation=authorisation_id,
        event=event_id,
        occurred_on=on,
        evidence=evidence,
        actor=runtime.actor,
        clock=runtime.clock,
    )
    click.echo(f"event {event_id} of {authorisation_id} on {on}")


def _subjects(values: tuple[str, ...]) -> list[str]:
    """INSZ from the arguments, or one per line from stdin for ``-`` (keeps them out of shell history)."""
    if values == ("-",):
        return [line.strip() for line in sys.stdin if line.strip()]
    return list(values)


@main.group()
def sample() -> None:
    """Samples of persons drawn for a control (§90-92)."""


@sample.command(name="add")
@click.argument("authorisation_id")
@click.argument("sample_id")
@click.argument("insz", nargs=-1, required=True)
@click.option("--drawn-on", type=DAY, required=True)
@pass_runtime
def sample_add(runtime: Runtime, authorisation_id: str, sample_id: str, insz: tuple[str, ...], drawn_on: date) -> None:
    """Register a sample: its id, the day it was drawn, the INSZ of the persons in it (or - for stdin)."""
    count = register_sample(
        runtime.engine,
        authorisation=authorisation_id,
        sample=sample_id,
        drawn_on=drawn_on,
        subjects=_subjects(insz),
        secret=runtime.secret,
        actor=runtime.actor,
        clock=runtime.clock,
    )
    click.echo(f"sample {authorisation_id}/{sample_id} drawn on {drawn_on}: {render.persons(count)}")


@sample.command(name="extend")
@click.argument("authorisation_id")
@click.argument("sample_id")
@click.argument("insz", nargs=-1, required=True)
@click.option("--on", "on", type=DAY, help="The day of the extension [default: today].")
@pass_runtime
def sample_extend(
    runtime: Runtime, authorisation_id: str, sample_id: str, insz: tuple[str, ...], on: date | None
) -> None:
    """Add persons to a sample (§91); communicate the sample again to cover them."""
    clock = runtime.clock
    count = extend_sample(
        runtime.engine,
        authorisation=authorisation_id,
        sample=sample_id,
        on=on or clock.today,
        subjects=_subjects(insz),
        secret=runtime.secret,
        actor=runtime.actor,
        clock=clock,
    )
    click.echo(f"sample {authorisation_id}/{sample_id} extended on {on or clock.today}: {render.persons(count)} added")


@sample.command(name="communicate")
@click.argument("authorisation_id")
@click.argument("sample_id")
@click.option("--on", "on", type=DAY, required=True)
@click.option("--to", "to", multiple=True, required=True, metavar="PARTY", help="A security-consultant party.")
@pass_runtime
def sample_communicate(runtime: Runtime, authorisation_id: str, sample_id: str, on: date, to: tuple[str, ...]) -> None:
    """Record that a sample was communicated to the security consultants (§92, §100)."""
    communicate_sample(
        runtime.engine,
        authorisation=authorisation_id,
        sample=sample_id,
        on=on,
        to=list(to),
        actor=runtime.actor,
        clock=runtime.clock,
    )
    click.echo(f"sample {authorisation_id}/{sample_id} communicated on {on} to {', '.join(to)}")


def _status_command(kind: str, summary: str) -> None:
    @main.command(name=kind, help=summary)
    @click.argument("authorisation_id")
    @click.option("--on", "on", type=DAY, required=True, help="The day the change takes effect.")
    @click.option("--reason", required=True)
    @pass_runtime
    def command(runtime: Runtime, authorisation_id: str, on: date, reason: str) -> None:
        status, version = change_status(
            runtime.engine,
            authorisation=authorisation_id,
            kind=kind,  # type: ignore[arg-type]
            on=on,
            reason=reason,
            actor=runtime.actor,
            clock=runtime.clock,
        )
        click.echo(f"{authorisation_id} {status} from {on} (version {version})")


_status_command("suspend", "Suspend an authorisation from a day on; it grants nothing while suspended.")
_status_command("reinstate", "Lift a suspension from a day on.")
_status_command("revoke", "Revoke an authorisation from a day on, for good.")


@main.command()
@click.option("--user", required=True)
@click.option("--organisation", required=True, help="On whose behalf the user asks.")
@click.option("--category", "data_category", required=True, help="The data category (a taxonomy id).")
@click.option("--purpose", required=True)
@click.option("--action", default="read", show_default=True)
@click.option("--at", help="ISO date or datetime [default: now].")
@click.option("--source", help="The discloser's party id.")
@click.option("--subject", "data_subject", help="The INSZ of the person the data is about.")
@click.option("--subject-kind", "subject_kind", help="The kind of person (a data-subjects id of the taxonomy).")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_runtime
def check(runtime: Runtime, lang: str, fmt: str, **fields: str | None) -> None:
    """Ask for a decision; it is logged. Exit 0 allow, 1 deny, 2 invalid input."""
    asked = load_request({key: value for key, value in fields.items() if value is not None})
    secret = runtime.secret  # hashes the subject and keys the audit entry
    service = DecisionService.load(runtime.engine, timezone=runtime.settings.timezone, secret=secret, language=lang)
    answer = service.ask(asked, asked_by=runtime.actor, now=utcnow())
    click.echo(_json(DecisionSchema().dump(answer)) if fmt == "json" else render.decision_text(answer))
    sys.exit(0 if answer["decision"] == Verdict.ALLOW else EXIT_FAILURE)


@main.command(name="test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@pass_runtime
def test_(runtime: Runtime, paths: tuple[str, ...]) -> None:
    """Run decision tables (YAML) against their policies; prints 'N passed, N failed'."""
    tables = collect_files(paths, within_tests=True)
    results = [result for table in tables for result in run_table(table, timezone=runtime.settings.timezone)]
    for result in results:
        if not result.passed:
            click.echo(
                f"FAIL {result.table}: {result.case}\n     expected {result.expected}\n     got      {result.got}"
            )
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(EXIT_FAILURE if failed else 0)


@main.group()
def audit() -> None:
    """The tamper-evident decision log."""


@audit.command(name="verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A signed checkpoint to hold the log against [default: the newest in the checkpoint folder].",
)
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The trusted public key [default: that of this server's signing key].",
)
@pass_runtime
def audit_verify(runtime: Runtime, checkpoint_file: Path | None, public_key_file: Path | None) -> None:
    """Check the chain, its MACs under the secret key and a signed checkpoint; exit 1 naming the
    first broken entry when the log is not intact."""
    checkpoint_file = checkpoint_file or checkpoints.latest(runtime.settings.checkpoint_dir)
    result = checkpoints.verify_log(
        runtime.engine,
        secret=runtime.secret,
        checkpoint=checkpoint_file,
        public=_public_key(runtime, public_key_file) if checkpoint_file is not None else None,
    )
    if not result.intact:
        click.echo(f"audit log broken at entry {result.broken_at}: {result.problem}", err=True)
        sys.exit(EXIT_FAILURE)
    click.echo(f"audit log intact: {result.entries} entries, MACs checked")
    if result.legacy:
        click.echo(f"  entries 1 to {result.legacy} were written before the chain was keyed: hash-chained only")
    if result.anchored_at is None:
        click.echo("  no checkpoint: a log wiped or rolled back to an older copy would not show (audit checkpoint)")
    else:
        click.echo(f"  held against the signed checkpoint of entry {result.anchored_at} ({checkpoint_file})")


def _public_key(runtime: Runtime, given: Path | None) -> Ed25519PublicKey:
    if given is not None:
        return checkpoints.load_public_key(given)
    return checkpoints.signing_key(runtime.settings.signing_key_file).public_key()


@audit.command(name="checkpoint")
@pass_runtime
def audit_checkpoint(runtime: Runtime) -> None:
    """Sign the log's current end (seq, head hash, time) and write it to the checkpoint folder;
    keep copies elsewhere too: they are what exposes a log wiped or rolled back."""
    key = checkpoints.signing_key(runtime.settings.signing_key_file)
    made, path = checkpoints.checkpoint_now(runtime.engine, key, runtime.settings.checkpoint_dir, utcnow())
    click.echo(f"checkpoint of entry {made.seq} written to {path}")


@audit.command(name="public-key")
@pass_runtime
def audit_public_key(runtime: Runtime) -> None:
    """The public key that checks this server's checkpoints (PEM), for auditors and witnesses."""
    click.echo(
        checkpoints.public_pem(checkpoints.signing_key(runtime.settings.signing_key_file).public_key()), nl=False
    )


@audit.command(name="verify-export")
@click.argument("export", type=click.File("r", encoding="utf-8"))
@click.option("--checkpoint", "checkpoint_file", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--public-key", "public_key_file", required=True, type=click.Path(exists=True, path_type=Path))
def audit_verify_export(export: Any, checkpoint_file: Path, public_key_file: Path) -> None:
    """Check an export (audit export --format jsonl) with a checkpoint and the public key alone:
    no database, no secret, no trust in the operator needed. Exit 1 when it does not hold."""
    try:
        records = [json.loads(line) for line in export if line.strip()]
    except ValueError as error:
        raise Invalid([Problem(export.name, "", f"not JSON lines: {error}")]) from error
    found = checkpoints.read(checkpoint_file)
    result = checkpoints.verify_export(records, found, checkpoints.load_public_key(public_key_file))
    if not result.intact:
        click.echo(f"export does not hold: {result.problem}", err=True)
        sys.exit(EXIT_FAILURE)
    assert result.first is not None and result.anchored_at is not None
    later = result.first + result.entries - 1 - result.anchored_at
    click.echo(f"export holds: entries {result.first} to {result.anchored_at} are those the checkpoint signed")
    if later:
        click.echo(f"  {later} later entries are chained but not yet covered by a checkpoint")


@audit.command(name="export")
@click.option("--from", "since", type=DAY, help="First day asked (UTC).")
@click.option("--to", "until", type=DAY, help="Last day asked (UTC).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@pass_runtime
def audit_export(runtime: Runtime, since: date | None, until: date | None, fmt: str) -> None:
    """The decisions asked in a period, for security consultants."""
    records = audit_records(runtime.engine, since=since, until=until)
    click.echo(jsonl(records) if fmt == "jsonl" else csv_text(records), nl=False)


@audit.command(name="report")
@click.option("--from", "since", type=DAY)
@click.option("--to", "until", type=DAY)
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True)
@pass_runtime
def audit_report(runtime: Runtime, since: date | None, until: date | None, fmt: str) -> None:
    """Accesses to look at: persons outside samples, requests naming nobody under a sample-gate,
    users without declaration, outside validity."""
    records = to_review(audit_records(runtime.engine, since=since, until=until))
    if fmt == "jsonl":
        click.echo(jsonl(records), nl=False)
    else:
        click.echo(render.review_table(records))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help=(
        "Threads per worker; above 1 a worker keeps connections open (gunicorn's gthread) and "
        "commits the audit entries of its concurrent requests together."
    ),
)
@pass_runtime
def serve(runtime: Runtime, host: str, port: int, workers: int, threads: int) -> None:
    """Serve the HTTP API with gunicorn on the configured database."""
    from gunicorn.app.wsgiapp import WSGIApplication

    os.environ["AUTHREG_DATABASE_URL"] = runtime.settings.database_url
    try:
        secret = load_secret(runtime.settings.secret_key, runtime.settings.secret_key_file)
    except SecretUnusable as error:
        click.echo(f"warning: {error}; decisions will answer 503 until a key is set", err=True)
    else:
        check_key(runtime.engine, secret)  # another key than the registry's: refuse to start
    sys.argv = ["authreg serve", "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", str(threads)]
    sys.argv.append("authreg:served_app()")
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()


@main.group()
def user() -> None:
    """People who sign in to the web pages."""


@user.command(name="create")
@click.option("--role", required=True, type=click.Choice(tokens.ROLES))
@click.option("--name", required=True, help="The name to sign in with (lower case, no spaces).")
@pass_runtime
def user_create(runtime: Runtime, role: str, name: str) -> None:
    """Make a person who may sign in to the web pages with one of the API's roles. The password
    is asked twice, without echo; it is never an option (shell history, the process list)."""
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    made = people.create(runtime.engine, name=name, role=role, password=password, now=utcnow())
    click.echo(f"user {made.name} ({made.role}) created; sign in at /")


@user.command(name="remove")
@click.argument("name")
@pass_runtime
def user_remove(runtime: Runtime, name: str) -> None:
    """Withdraw a person's access to the web pages; their sessions end at their next request."""
    people.remove(runtime.engine, name=name)
    click.echo(f"user {name} removed")


@user.command(name="list")
@pass_runtime
def user_list(runtime: Runtime) -> None:
    """The people who may sign in, and their roles."""
    click.echo(render.table(people.listing(runtime.engine), ["name", "role", "created_at"]))


@main.group()
def token() -> None:
    """Bearer tokens for the HTTP API."""


@token.command(name="create")
@click.option("--role", required=True, type=click.Choice(tokens.ROLES))
@click.option("--name", required=True, help="Who or what holds it; recorded with every decision it asks.")
@pass_runtime
def token_create(runtime: Runtime, role: str, name: str) -> None:
    """Make a token; it is printed once, alone on the last line, and stored only as a hash."""
    secret_token = tokens.create(runtime.engine, name=name, role=role, now=utcnow())
    click.echo(f"token for {name} ({role}); keep it now, it is not shown again:")
    click.echo(secret_token)


@token.command(name="list")
@pass_runtime
def token_list(runtime: Runtime) -> None:
    """The tokens, without their secrets."""
    click.echo(render.table(tokens.listing(runtime.engine), ["name", "role", "created_at", "revoked_at"]))


@token.command(name="revoke")
@click.argument("name")
@pass_runtime
def token_revoke(runtime: Runtime, name: str) -> None:
    """Revoke a token by its name; requests with it get 401 from then on."""
    tokens.revoke(runtime.engine, name=name, now=utcnow())
    click.echo(f"token {name} revoked")


main.add_command(remind)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
