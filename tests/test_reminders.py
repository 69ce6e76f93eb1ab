"""``authreg remind`` (issue 13, item 6): each responsible party's contact and each manager get a
digest of what is due soon or overdue, by e-mail and through a signed webhook, once per state.

Everything real: an SMTP server (aiosmtpd) and an HTTP receiver that the tests start, the seed
registry on SQLite and PostgreSQL, and generated registries."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import re
import socketserver
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, select

from authreg.cli.main import main
from authreg.config import ReminderSettings
from authreg.domain.documents import Document, read_paths
from authreg.services.reminder_delivery import shown_url
from authreg.services.reports import condition_states
from authreg.storage.models import ReminderSent
from bench.generate import START
from tests.conftest import POLICIES, ROOT, SEED_ID, examples, generated_registry, sqlite_only, write_yaml
from tests.postgres import free_port

AII = "privacy@integratie-inburgering.example.be"  # policies/organisations.yaml
WSE = "esf-privacy@wse.example.be"
MANAGER = "manager@example.org"
SECRET = "a-shared-secret-for-the-webhook"
PASSWORD = "hunter2-hunter2"  # never on stdout or stderr
TOKEN = "not-for-logs"  # a token in the webhook's URL: never on stdout or stderr either
HEADER = re.compile(r"^([a-z0-9][a-z0-9-]*): ")  # an authorisation's line in a digest
ITEM = re.compile(r"^  - (\S+) \((\S+)\) (\S+): due (\d{4}-\d\d-\d\d)")
SECURITY_PLAN_DUE_SOON = (SEED_ID, "security-plan", "due-soon", "2017-11-30")
SECURITY_PLAN_OVERDUE = (SEED_ID, "security-plan", "overdue", "2017-11-30")


# ---- an SMTP server and a webhook receiver -------------------------------------------------


@dataclass
class Inbox:
    """What the SMTP server accepted; it refuses the addresses in ``refuse`` (550)."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a free port, and what it received."""
    received = Inbox()
    controller = Controller(received, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield received, controller.port
    controller.stop()


@cache
def docs_receiver() -> Callable[..., bool]:
    """``genuine``, the receiver's check as docs/reminders.md hands it out: the tests verify the
    webhook with the code receivers copy, so the two cannot drift apart."""
    found = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "reminders.md").read_text(encoding="utf-8"), re.S)
    assert found is not None
    namespace: dict[str, Any] = {}
    exec(found.group(1), namespace)
    genuine: Callable[..., bool] = namespace["genuine"]
    return genuine


def verify(secret: str, headers: Any, body: bytes, *, tolerance: int = 300) -> bool:
    return docs_receiver()(secret.encode(), headers, body, tolerance)


@dataclass
class Hook:
    """A webhook receiver: answers 500 to the first ``fail_first`` requests (or to all with
    ``always_fail``), 401 to a request whose signature does not verify, else 204."""

    secret: str = SECRET
    fail_first: int = 0
    always_fail: bool = False
    received: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    url: str = ""

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        if not verify(self.secret, headers, body):
            status = 401
        elif self.always_fail or self.fail_first > 0:
            self.fail_first -= 1
            status = 500
        else:
            status = 204
        self.received.append((headers, body, status))
        return status

    @property
    def delivered(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body, status in self.received if status == 204]


@pytest.fixture
def hook() -> Iterator[Hook]:
    receiver = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(receiver.answer(dict(self.headers.items()), body))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/authreg?token={TOKEN}"
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join()


# ---- the command ---------------------------------------------------------------------------


def smtp_env(port: int, **more: str | None) -> dict[str, str | None]:
    """The settings of a run: the test's SMTP server, one manager, no webhook, unless ``more``
    says otherwise (None unsets a variable)."""
    return {
        "AUTHREG_SMTP_HOST": "127.0.0.1",
        "AUTHREG_SMTP_PORT": str(port),
        "AUTHREG_SMTP_TLS": "none",
        "AUTHREG_SMTP_SENDER": "authreg@registry.example.org",
        "AUTHREG_SMTP_USER": None,
        "AUTHREG_SMTP_PASSWORD": None,
        "AUTHREG_REMIND_MANAGERS": MANAGER,
        "AUTHREG_REMIND_WEBHOOK_URL": None,
        "AUTHREG_REMIND_WEBHOOK_SECRET": None,
        "AUTHREG_REMIND_WEBHOOK_ATTEMPTS": "3",
        "AUTHREG_REMIND_WEBHOOK_BACKOFF": "0.01",
        "AUTHREG_REMIND_TIMEOUT": "10",
        **more,
    }


def run_remind(database_url: str, *args: str, env: dict[str, str | None]) -> Result:
    """``authreg remind`` as cron calls it, through the ``authreg`` group."""
    runner = CliRunner()
    return runner.invoke(main, ["--database-url", database_url, "remind", *args], env=env, catch_exceptions=False)


def reminded(messages: list[EmailMessage]) -> list[tuple[str, tuple[str, str, str, str]]]:
    """(recipient, (authorisation, condition, state, due day)) for every condition line of
    every digest: the digest's text is the contract."""
    found = []
    for message in messages:
        authorisation = None
        for line in text(message).splitlines():
            if (header := HEADER.match(line)) is not None:
                authorisation = header.group(1)
            elif (item := ITEM.match(line)) is not None:
                assert authorisation is not None, line
                found.append((str(message["To"]), (authorisation, *item.groups()[:1], *item.groups()[2:])))
    return found


def text(message: EmailMessage) -> str:
    """A digest's text as written (SMTP carries it with CRLF line ends)."""
    return str(message.get_content()).replace("\r\n", "\n")


def recorded(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(ReminderSent)).scalar_one())


# ---- the seed ------------------------------------------------------------------------------


def test_the_seed_reminds_the_contact_and_the_managers_once_per_state(
    seeded: Engine, database_url: str, inbox: tuple[Inbox, int]
) -> None:
    """The security plan (§96) is due on 30 November 2017: AII's contact and the manager hear
    of it once while it is due soon, once more when it is overdue, and not in between."""
    received, port = inbox
    first = run_remind(database_url, "--at", "2017-11-15", env=smtp_env(port))
    assert first.exit_code == 0, first.stderr
    assert first.stdout.splitlines() == [
        f"sent to {MANAGER}: 1 reminder (manager)",
        f"sent to {AII}: 1 reminder (contact of AII)",
    ]
    assert sorted(reminded(received.messages)) == [(MANAGER, SECURITY_PLAN_DUE_SOON), (AII, SECURITY_PLAN_DUE_SOON)]
    (mail,) = received.to(AII)
    assert mail["Subject"] == "authreg: 1 due soon condition on 2017-11-15"
    assert mail["From"] == "authreg@registry.example.org" and mail["Auto-Submitted"] == "auto-generated"
    body = text(mail)
    assert "vtc-2017-amif-aii-wse: VTC beraadslaging 13-09-2017 (AMIF), Mededeling van persoonsgegevens" in body
    assert "  - security-plan (deadline) due-soon: due 2017-11-30 (§96, §101); responsible AII\n" in body
    assert "the conditions AII must meet" in body and recorded(seeded) == 2

    for day in ("2017-11-15", "2017-11-29"):  # the same state: nothing new
        again = run_remind(database_url, "--at", day, env=smtp_env(port))
        assert (
            again.exit_code == 0
            and again.stdout == f"nothing new to remind of on {day} (1 condition due soon or overdue)\n"
        )
    assert len(received.messages) == 2

    overdue = run_remind(database_url, "--at", "2017-12-01", env=smtp_env(port))
    assert overdue.exit_code == 0, overdue.stderr
    assert sorted(reminded(received.messages[2:])) == [(MANAGER, SECURITY_PLAN_OVERDUE), (AII, SECURITY_PLAN_OVERDUE)]
    assert received.to(AII)[1]["Subject"] == "authreg: 1 overdue condition on 2017-12-01"
    assert recorded(seeded) == 4


@sqlite_only
def test_the_end_of_validity_reaches_the_recipient_as_a_notice(
    seeded: Engine, database_url: str, inbox: tuple[Inbox, int]
) -> None:
    """On 1 April 2023 the seed ends within 90 days (a derived condition, §73-74): the recipient
    WSE-ESF hears of it; the security plan, overdue since 2017, is sent along to AII."""
    received, port = inbox
    result = run_remind(database_url, "--at", "2023-04-01", env=smtp_env(port, AUTHREG_REMIND_MANAGERS=None))
    assert result.exit_code == 0, result.stderr
    assert sorted(reminded(received.messages)) == [
        (WSE, (SEED_ID, "validity-end", "due-soon", "2023-06-30")),
        (AII, (SEED_ID, "security-plan", "overdue", "2017-11-30")),
    ]
    assert "  - validity-end (ending) due-soon: due 2023-06-30 (§73, §74, §99); responsible WSE-ESF\n" in (
        text(received.to(WSE)[0])
    )


@sqlite_only
def test_a_party_without_a_contact_is_reported_and_the_managers_still_hear(
    seeded: Engine, database_url: str, inbox: tuple[Inbox, int], tmp_path: Path, run_cli: Any
) -> None:
    received, port = inbox
    organisations = read_paths([POLICIES / "organisations.yaml"])[0].canonical()
    del organisations["organisations"][1]["contact"]  # AII's
    applied = run_cli("apply", str(write_yaml(tmp_path, "organisations.yaml", organisations)))
    assert applied.exit_code == 0
    assert "organisations (0 added, 1 updated, 10 unchanged)" in applied.stdout

    result = run_remind(database_url, "--at", "2017-12-01", env=smtp_env(port))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "warning: AII has no contact; not reminded of security-plan of vtc-2017-amif-aii-wse (overdue)\n"
    )
    assert [str(message["To"]) for message in received.messages] == [MANAGER]
    body = text(received.messages[0])
    assert "; responsible AII (no contact)\n" in body and "No contact is registered for AII" in body

    nobody = run_remind(
        database_url, "--at", "2017-12-02", env=smtp_env(port, AUTHREG_REMIND_MANAGERS=None, AUTHREG_SMTP_HOST=None)
    )
    assert nobody.exit_code == 0
    assert "warning: security-plan of vtc-2017-amif-aii-wse (overdue) reaches no one: no contact" in nobody.stderr


def test_a_group_without_a_contact_is_reached_at_its_members(
    seeded: Engine, database_url: str, inbox: tuple[Inbox, int], tmp_path: Path, run_cli: Any
) -> None:
    """The municipalities owe a yearly report whose lapse suspends the flow to the group: while
    the group has no contact each member's contact hears of it; once it has one, only it does."""
    received, port = inbox
    organisations = read_paths([POLICIES / "organisations.yaml"])[0].canonical()
    mails = {"GEM-GENT": "inburgering@gent.example.be", "GEM-ANTWERPEN": "inburgering@antwerpen.example.be"}
    for entry in organisations["organisations"]:
        entry.update({"contact": mails[entry["id"]]} if entry["id"] in mails else {})
    assert run_cli("apply", str(write_yaml(tmp_path, "organisations.yaml", organisations))).exit_code == 0
    assert run_cli("apply", str(POLICIES / "tests" / "fixtures" / "gemeenten.yaml")).exit_code == 0
    due = run_remind(database_url, "--at", "2019-06-20", env=smtp_env(port, AUTHREG_REMIND_MANAGERS=None))
    assert due.exit_code == 0, due.stderr
    assert "contact of GEM-GENT (member of GEMEENTEN)" in due.stdout
    jaarverslag = ("vtc-2018-voorbeeld-gemeenten", "jaarverslag", "due-soon", "2019-06-30")
    about_it = [(to, item) for to, item in reminded(received.messages) if item[0] == jaarverslag[0]]
    assert sorted(about_it) == sorted((mail, jaarverslag) for mail in mails.values())
    assert "GEMEENTEN has no contact" not in due.stderr
    for entry in organisations["organisations"]:
        entry.update({"contact": "gemeenten@vvsg.example.be"} if entry["id"] == "GEMEENTEN" else {})
    assert run_cli("apply", str(write_yaml(tmp_path, "organisations.yaml", organisations))).exit_code == 0
    received.messages.clear()
    overdue = run_remind(database_url, "--at", "2019-07-01", env=smtp_env(port, AUTHREG_REMIND_MANAGERS=None))
    assert overdue.exit_code == 0, overdue.stderr
    told = {to for to, item in reminded(received.messages) if item[0] == jaarverslag[0]}
    assert told == {"gemeenten@vvsg.example.be"}


@sqlite_only
def test_a_contact_must_be_an_e_mail_address(seeded: Engine, database_url: str, tmp_path: Path, run_cli: Any) -> None:
    organisations = read_paths([POLICIES / "organisations.yaml"])[0].canonical()
    entries = organisations["organisations"]
    entries[1]["contact"] = "privacy@aii.example.be\nBcc: everyone@example.org"
    entries[2]["contact"] = "x@" + "a" * 250 + ".be"
    entries[3]["contact"] = "HBplus privacy"
    refused = run_cli("apply", str(file := write_yaml(tmp_path, "organisations.yaml", organisations)))
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        f"error: {file}: organisations[1].contact: not an e-mail address (name@example.org)",
        f"error: {file}: organisations[2].contact: longer than 254 characters (255)",
        f"error: {file}: organisations[3].contact: not an e-mail address (name@example.org)",
    ]
    unchanged = run_cli("apply", str(POLICIES / "organisations.yaml"))
    assert unchanged.stdout.startswith("unchanged organisations (0 added, 0 updated, 11 unchanged)")


@sqlite_only
def test_a_refused_recipient_is_not_recorded_and_is_tried_again(
    seeded: Engine, database_url: str, inbox: tuple[Inbox, int]
) -> None:
    received, port = inbox
    received.refuse.add(MANAGER)
    failed = run_remind(database_url, "--at", "2017-12-01", env=smtp_env(port))
    assert failed.exit_code == 1
    assert failed.stdout == f"sent to {AII}: 1 reminder (contact of AII)\n"
    assert failed.stderr == (
        f"error: not sent to {MANAGER}: refused by the SMTP server: 550 5.1.1 mailbox unavailable; "
        "tried again at the next run\n"
    )
    assert recorded(seeded) == 1

    received.refuse.clear()
    retried = run_remind(database_url, "--at", "2017-12-01", env=smtp_env(port))
    assert retried.exit_code == 0 and retried.stdout == f"sent to {MANAGER}: 1 reminder (manager)\n"
    assert sorted(reminded(received.messages)) == [(MANAGER, SECURITY_PLAN_OVERDUE), (AII, SECURITY_PLAN_OVERDUE)]


@sqlite_only
@pytest.mark.parametrize(
    ("more", "reason"),
    [
        ({"AUTHREG_SMTP_PORT": "unreachable"}, "ConnectionRefusedError"),
        ({"AUTHREG_SMTP_TLS": "starttls"}, "STARTTLS extension not supported by server"),
    ],
)
def test_when_the_smtp_server_cannot_be_used_nothing_is_recorded(
    seeded: Engine, database_url: str, inbox: tuple[Inbox, int], more: dict[str, str], reason: str
) -> None:
    received, port = inbox
    env = smtp_env(port, **{key: str(free_port()) if value == "unreachable" else value for key, value in more.items()})
    failed = run_remind(database_url, "--at", "2017-12-01", env=env)
    assert failed.exit_code == 1 and failed.stdout == ""
    errors = failed.stderr.splitlines()
    assert [line.split(":")[0] for line in errors] == ["error", "error"]
    assert all(
        f"not sent to {address}: SMTP server 127.0.0.1:" in errors[i] for i, address in enumerate([MANAGER, AII])
    )
    assert all(reason in line for line in errors), errors
    assert received.messages == [] and recorded(seeded) == 0
    assert run_remind(database_url, "--at", "2017-12-01", env=smtp_env(port)).exit_code == 0
    assert len(received.messages) == 2


@sqlite_only
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AUTHREG_SMTP_PORT": "smtp"}, "AUTHREG_SMTP_PORT must be a port number from 1 to 65535, not 'smtp'"),
        ({"AUTHREG_SMTP_PORT": "70000"}, "AUTHREG_SMTP_PORT must be a port number from 1 to 65535, not '70000'"),
        ({"AUTHREG_SMTP_TLS": "tls"}, "AUTHREG_SMTP_TLS must be one of none, starttls, ssl, not 'tls'"),
        (
            {"AUTHREG_SMTP_USER": "authreg"},
            "AUTHREG_SMTP_USER needs AUTHREG_SMTP_TLS=starttls or ssl: the password would cross the network in clear",
        ),
        ({"AUTHREG_SMTP_SENDER": None}, "AUTHREG_SMTP_HOST needs AUTHREG_SMTP_SENDER"),
        (
            {"AUTHREG_SMTP_SENDER": "authreg"},
            "AUTHREG_SMTP_SENDER must hold e-mail addresses (name@example.org), not 'authreg'",
        ),
        (
            {"AUTHREG_REMIND_MANAGERS": f"{MANAGER}, bob"},
            "AUTHREG_REMIND_MANAGERS must hold e-mail addresses (name@example.org), not 'bob'",
        ),
        (
            {"AUTHREG_REMIND_WEBHOOK_URL": "https://hooks.example.org/x", "AUTHREG_REMIND_WEBHOOK_SECRET": None},
            "AUTHREG_REMIND_WEBHOOK_URL needs AUTHREG_REMIND_WEBHOOK_SECRET",
        ),
        (
            {"AUTHREG_REMIND_WEBHOOK_URL": f"ftp://authreg:{PASSWORD}@hooks.example.org/x?token={TOKEN}"},
            "AUTHREG_REMIND_WEBHOOK_URL must be an http or https URL, not ftp:",
        ),
        ({"AUTHREG_REMIND_WEBHOOK_URL": "http://[::1/hooks"}, "AUTHREG_REMIND_WEBHOOK_URL is not a URL"),
        (
            {"AUTHREG_REMIND_WEBHOOK_URL": f"http://127.0.0.1:99999/hooks?token={TOKEN}"},
            "AUTHREG_REMIND_WEBHOOK_URL must have a port from 1 to 65535",
        ),
        (
            {"AUTHREG_REMIND_WEBHOOK_URL": f"http://authreg:{PASSWORD}@127.0.0.1:9/hooks"},
            "AUTHREG_REMIND_WEBHOOK_URL must not hold a user or password",
        ),
        (
            {"AUTHREG_REMIND_WEBHOOK_URL": f"http://127.0.0.1:9/hooks?token={TOKEN} x"},
            "AUTHREG_REMIND_WEBHOOK_URL must be ASCII without spaces or control characters",
        ),
        (
            {"AUTHREG_REMIND_WEBHOOK_URL": "http://127.0.0.1:9/hooks", "AUTHREG_REMIND_WEBHOOK_SECRET": "short"},
            "AUTHREG_REMIND_WEBHOOK_SECRET must have at least 16 characters",
        ),
        (
            {"AUTHREG_REMIND_WEBHOOK_ATTEMPTS": "0"},
            "AUTHREG_REMIND_WEBHOOK_ATTEMPTS must be a whole number from 1 to 10, not '0'",
        ),
        (
            {"AUTHREG_REMIND_WEBHOOK_ATTEMPTS": "1000000"},
            "AUTHREG_REMIND_WEBHOOK_ATTEMPTS must be a whole number from 1 to 10, not '1000000'",
        ),
        (
            {"AUTHREG_REMIND_WEBHOOK_BACKOFF": "nan"},
            "AUTHREG_REMIND_WEBHOOK_BACKOFF must be a number from 0 to 600, not 'nan'",
        ),
        ({"AUTHREG_REMIND_TIMEOUT": "nan"}, "AUTHREG_REMIND_TIMEOUT must be a number from 0.001 to 600, not 'nan'"),
        ({"AUTHREG_REMIND_TIMEOUT": "inf"}, "AUTHREG_REMIND_TIMEOUT must be a number from 0.001 to 600, not 'inf'"),
        ({"AUTHREG_SMTP_PORT": "²"}, "AUTHREG_SMTP_PORT must be a port number from 1 to 65535, not '²'"),
        (
            {"AUTHREG_SMTP_HOST": "a" * 64 + ".example.org"},
            "AUTHREG_SMTP_HOST must be a host name or an IP address (the port is AUTHREG_SMTP_PORT)",
        ),
        (
            {"AUTHREG_SMTP_HOST": "127.0.0.1:25"},
            "AUTHREG_SMTP_HOST must be a host name or an IP address (the port is AUTHREG_SMTP_PORT), not '127.0.0.1:",
        ),
        (
            {"AUTHREG_SMTP_TLS": "starttls", "AUTHREG_SMTP_USER": "authreg", "AUTHREG_SMTP_PASSWORD": "hunter2-é"},
            "AUTHREG_SMTP_USER and AUTHREG_SMTP_PASSWORD must be ASCII: SMTP logins carry no other",
        ),
        (
            {"AUTHREG_SMTP_TLS": "starttls", "AUTHREG_SMTP_USER": "authreg"},
            "AUTHREG_SMTP_USER needs AUTHREG_SMTP_PASSWORD",
        ),
        ({"AUTHREG_SMTP_PASSWORD": PASSWORD}, "AUTHREG_SMTP_PASSWORD needs AUTHREG_SMTP_USER"),
        ({"AUTHREG_SMTP_HOST": None, "AUTHREG_SMTP_SENDER": None}, "AUTHREG_SMTP_HOST is not set: 2 e-mail reminders"),
    ],
)
def test_a_bad_setting_stops_the_run_naming_it(
    seeded: Engine, database_url: str, inbox: tuple[Inbox, int], env: dict[str, str | None], message: str
) -> None:
    """Before anything is sent, with the setting's name and never a traceback; a URL's user,
    password or token and the passwords themselves stay out of the message (cron mails it)."""
    received, port = inbox
    webhook = {"AUTHREG_REMIND_WEBHOOK_SECRET": SECRET} if "AUTHREG_REMIND_WEBHOOK_URL" in env else {}
    result = run_remind(database_url, "--at", "2017-12-01", env=smtp_env(port, **{**webhook, **env}))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert not [secret for secret in (PASSWORD, "hunter2", TOKEN, SECRET) if secret in result.output]
    assert received.messages == [] and recorded(seeded) == 0


def test_the_settings_do_not_show_their_secrets() -> None:
    """Their repr is what a log line or a debugger prints: no password, secret or webhook URL."""
    settings = ReminderSettings(
        smtp_user="authreg",
        smtp_password=PASSWORD,
        webhook_url=f"https://hooks.example.org/x?token={TOKEN}",
        webhook_secret=SECRET,
    )
    shown = repr(settings)
    assert "authreg" in shown and PASSWORD not in shown and TOKEN not in shown and SECRET not in shown


def test_a_webhook_url_is_shown_without_what_may_hold_a_token() -> None:
    assert shown_url(f"https://user:{PASSWORD}@hooks.example.org:8443/a/b?token={TOKEN}#f") == (
        "https://hooks.example.org:8443/a/b"
    )
    assert shown_url(f"http://[::1]:8080/hooks?token={TOKEN}") == "http://[::1]:8080/hooks"


@sqlite_only
def test_a_dry_run_shows_the_messages_and_records_nothing(
    seeded: Engine, database_url: str, inbox: tuple[Inbox, int], hook: Hook
) -> None:
    received, port = inbox
    env = smtp_env(port, AUTHREG_REMIND_WEBHOOK_URL=hook.url, AUTHREG_REMIND_WEBHOOK_SECRET=SECRET)
    shown = run_remind(database_url, "--at", "2017-12-01", "--dry-run", env=env)
    assert shown.exit_code == 0, shown.stderr
    assert f"would send (contact of AII):\nFrom: authreg@registry.example.org\nTo: {AII}\n" in shown.stdout
    assert "  - security-plan (deadline) overdue: due 2017-11-30 (§96, §101); responsible AII\n" in shown.stdout
    assert f"would POST to the webhook {hook.url.split('?')[0]}:" in (shown.stdout)
    assert TOKEN not in shown.stdout and shown.stdout.endswith("dry run: 3 messages, nothing sent or recorded\n")
    assert received.messages == [] and hook.received == [] and recorded(seeded) == 0
    # nor does a dry run need an SMTP server
    assert (
        run_remind(database_url, "--dry-run", "--at", "2017-12-01", env={**env, "AUTHREG_SMTP_HOST": None}).exit_code
        == 0
    )


# ---- the webhook ---------------------------------------------------------------------------


def hook_env(port: int, hook: Hook, **more: str | None) -> dict[str, str | None]:
    return smtp_env(
        port,
        AUTHREG_REMIND_MANAGERS=None,
        AUTHREG_REMIND_WEBHOOK_URL=hook.url,
        AUTHREG_REMIND_WEBHOOK_SECRET=SECRET,
        **more,
    )


@sqlite_only
def test_the_webhook_gets_a_signed_digest_once_per_state(
    seeded: Engine, database_url: str, inbox: tuple[Inbox, int], hook: Hook
) -> None:
    _, port = inbox
    result = run_remind(database_url, "--at", "2017-11-15", env=hook_env(port, hook))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"sent to {AII}: 1 reminder (contact of AII)",
        f"sent to the webhook {hook.url.split('?')[0]}: 1 reminder (webhook)",
    ]
    ((headers, body, status),) = hook.received
    assert status == 204 and headers["Content-Type"] == "application/json"
    assert verify(SECRET, headers, body)
    document = json.loads(body)
    assert document["at"] == "2017-11-15" and document["delivery"] == headers["X-Authreg-Delivery"]
    assert document["reminders"] == [
        {
            "authorisation": SEED_ID,
            "reference": "VTC beraadslaging 13-09-2017 (AMIF)",
            "title": document["reminders"][0]["title"],
            "condition": "security-plan",
            "kind": "deadline",
            "state": "due-soon",
            "due_on": "2017-11-30",
            "paragraphs": [96, 101],
            "responsible": ["AII"],
            "without_contact": [],
        }
    ]
    # what a receiver refuses: another body, another timestamp, another secret, an old request
    assert not verify(SECRET, headers, body.replace(b"due-soon", b"fulfilled"))
    assert not verify(SECRET, {**headers, "X-Authreg-Timestamp": str(int(headers["X-Authreg-Timestamp"]) + 1)}, body)
    assert not verify("another secret", headers, body)
    assert not verify(SECRET, headers, body, tolerance=-1)
    tampered = urllib.request.Request(hook.url, data=body.replace(b"2017-11-30", b"2018-11-30"), headers=headers)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered, timeout=10)
    refused.value.close()
    assert refused.value.code == 401

    assert run_remind(database_url, "--at", "2017-11-20", env=hook_env(port, hook)).stdout.startswith("nothing new")
    assert run_remind(database_url, "--at", "2017-12-01", env=hook_env(port, hook)).exit_code == 0
    assert [[r["state"] for r in delivered["reminders"]] for delivered in hook.delivered] == [["due-soon"], ["overdue"]]


@sqlite_only
def test_the_webhook_is_retried_with_the_same_delivery(
    seeded: Engine, database_url: str, inbox: tuple[Inbox, int], hook: Hook
) -> None:
    _, port = inbox
    hook.fail_first = 2
    result = run_remind(database_url, "--at", "2017-12-01", env=hook_env(port, hook))
    assert result.exit_code == 0, result.stderr
    assert [status for _, _, status in hook.received] == [500, 500, 204]
    assert len({headers["X-Authreg-Delivery"] for headers, _, _ in hook.received}) == 1
    assert len(hook.delivered) == 1 and recorded(seeded) == 2  # AII's contact and the webhook


@sqlite_only
def test_a_webhook_that_keeps_failing_records_nothing_and_fails_the_run(
    seeded: Engine, database_url: str, inbox: tuple[Inbox, int], hook: Hook
) -> None:
    received, port = inbox
    hook.always_fail = True
    failed = run_remind(database_url, "--at", "2017-12-01", env=hook_env(port, hook))
    assert failed.exit_code == 1
    where = hook.url.split("?")[0]
    assert failed.stderr == (
        f"error: not sent to the webhook {where}: answered 500 Internal Server Error "
        "(attempt 3 of 3); tried again at the next run\n"
    )
    assert len(hook.received) == 3 and failed.stdout == f"sent to {AII}: 1 reminder (contact of AII)\n"

    hook.always_fail = False
    assert run_remind(database_url, "--at", "2017-12-01", env=hook_env(port, hook)).exit_code == 0
    assert len(hook.delivered) == 1 and len(received.messages) == 1

    hook.secret = "the receiver knows another secret"  # a 401 is an answer: not retried
    assert run_remind(database_url, "--at", "2029-12-01", env=hook_env(port, hook)).exit_code == 1
    assert [status for _, _, status in hook.received][-1:] == [401] and len(hook.received) == 5


@pytest.fixture
def babbler() -> Iterator[tuple[str, list[bytes]]]:
    """A receiver that reads each request whole and answers with a line that is not HTTP."""
    requests: list[bytes] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            head = b"".join(iter(self.rfile.readline, b"\r\n"))
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            requests.append(head + self.rfile.read(int(length.group(1)) if length else 0))
            self.wfile.write(b"I do not speak HTTP\r\n\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", requests
    server.shutdown()
    server.server_close()
    thread.join()


@sqlite_only
def test_a_webhook_that_does_not_answer_in_http_is_a_failure_not_a_crash(
    seeded: Engine, database_url: str, inbox: tuple[Inbox, int], babbler: tuple[str, list[bytes]]
) -> None:
    """A broken status line, a cut-off answer (``http.client.HTTPException``, not an ``OSError``)
    is a failed attempt, tried again; the run goes on and reports it."""
    received, port = inbox
    url, requests = babbler
    env = smtp_env(
        port, AUTHREG_REMIND_MANAGERS=None, AUTHREG_REMIND_WEBHOOK_URL=url, AUTHREG_REMIND_WEBHOOK_SECRET=SECRET
    )
    failed = run_remind(database_url, "--at", "2017-12-01", env=env)
    assert failed.exit_code == 1
    assert failed.stdout == f"sent to {AII}: 1 reminder (contact of AII)\n"
    assert failed.stderr == (
        f"error: not sent to the webhook {url}: not an HTTP answer (BadStatusLine) (attempt 3 of 3); "
        "tried again at the next run\n"
    )
    assert len(requests) == 3 and len(received.messages) == 1 and recorded(seeded) == 1


def test_the_receiver_in_the_docs_refuses_odd_headers_without_failing() -> None:
    """A receiver that crashes on a header an attacker chose answers 500, which a sender retries:
    the docs' ``genuine`` says no instead (digits that are not ASCII, a signature that is not)."""
    body = b'{"event": "authreg.reminders"}'
    now = str(int(time.time()))
    signed = "sha256=" + hmac.new(SECRET.encode(), now.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert verify(SECRET, {"X-Authreg-Timestamp": now, "X-Authreg-Signature": signed}, body)
    assert not verify(SECRET, {"X-Authreg-Timestamp": "²", "X-Authreg-Signature": signed}, body)
    assert not verify(SECRET, {"X-Authreg-Timestamp": now, "X-Authreg-Signature": "sha256=é"}, body)
    assert not verify(SECRET, {"X-Authreg-Timestamp": now}, body)


# ---- generated registries ------------------------------------------------------------------

CONTACTS = {f"ORG-{i}": f"org-{i}@example.org" for i in range(0, 8, 2)}  # the other recipients have none


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Engine]:
    """40 authorisations of the bench's shape, every other one keeping data after its end (so
    deletions fall due and overdue), and a contact for every other recipient."""
    folder = tmp_path_factory.mktemp("reminders")

    def change(made: list[Document]) -> None:
        for index, document in enumerate(d for d in made if d.kind == "authorisation"):
            if index % 2:
                document.body["retention_until"] = document.body["valid_until"] + timedelta(days=index * 10)
        entries = [
            {"id": org, "name": org, "kind": "organisation", "member_of": [], "contact": contact}
            for org, contact in CONTACTS.items()
        ]
        made.append(Document("organisations", "contacts.yaml", {"organisations": entries}))

    engine, _ = generated_registry(folder, size=40, seed=23, change=change)
    return f"sqlite:///{folder / 'generated.db'}", engine


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=-30, max_value=1500), min_size=1, max_size=6, unique=True).map(sorted))
def test_on_generated_registries_each_state_reaches_each_contact_exactly_once(
    generated: tuple[str, Engine], inbox: tuple[Inbox, int], offsets: list[int]
) -> None:
    """Runs on days in order: every condition due soon or overdue on one of them reaches each
    of its parties that has a contact, and every manager, once per state and due day."""
    url, engine = generated
    received, port = inbox
    with engine.begin() as connection:
        connection.execute(delete(ReminderSent))
    received.messages.clear()
    owed: set[tuple[str, tuple[str, str, str, str]]] = set()
    every: set[tuple[str, str, str, str]] = set()
    for offset in offsets:
        day = START + timedelta(days=offset)
        for state in condition_states(engine, at=day, window_days=30):
            if state.state in ("due-soon", "overdue"):
                assert state.due_on is not None
                key = (state.authorisation, state.condition, state.state, state.due_on.isoformat())
                every.add(key)
                owed.update((CONTACTS[party], key) for party in state.responsible if party in CONTACTS)
        result = run_remind(url, "--at", day.isoformat(), env=smtp_env(port))
        assert result.exit_code == 0, result.stderr
    found = reminded(received.messages)
    assert sorted(item for item in found if item[0] != MANAGER) == sorted(owed)
    assert sorted(key for address, key in found if address == MANAGER) == sorted(every)


@sqlite_only
def test_the_digest_names_no_person(seeded: Engine, database_url: str, inbox: tuple[Inbox, int]) -> None:
    """No user, no data subject, no name of a person: only codes, references and paragraphs."""
    received, port = inbox
    assert run_remind(database_url, "--at", "2017-12-01", env=smtp_env(port)).exit_code == 0
    sent = "".join(message.as_string() for message in received.messages)
    assert "esf-controller" not in sent and "90010100123" not in sent and date(2017, 10, 2).isoformat() not in sent
