"""The CLI as a person uses it: output, formats and exit codes (0 ok, 2 invalid input, 1 failure)."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import Engine

from authreg.cli.main import main
from tests.conftest import SEED_ID, TEST_SECRET, dump_tables


def test_list_shows_the_seed(seeded: Engine, run_cli: Callable[..., Any]) -> None:
    table = run_cli("list")
    assert table.exit_code == 0
    header, row = table.stdout.splitlines()
    assert header.split() == ["id", "status", "state", "version", "valid_from", "valid_until", "title"]
    assert row.split()[:6] == [SEED_ID, "active", "expired", "1", "2017-09-13", "2023-06-30"]
    rows = json.loads(run_cli("list", "--format", "json", "--at", "2018-01-01").stdout)
    assert [(r["id"], r["status"], r["state"], r["version"]) for r in rows] == [(SEED_ID, "active", "in-force", 1)]


def test_list_shows_the_status_as_of_a_day(seeded: Engine, run_cli: Callable[..., Any]) -> None:
    run_cli("suspend", SEED_ID, "--on", "2019-01-01", "--reason", "incident")
    rows = json.loads(run_cli("list", "--format", "json", "--at", "2019-01-01").stdout)
    assert [(r["status"], r["state"], r["version"]) for r in rows] == [("suspended", "suspended", 2)]
    rows = json.loads(run_cli("list", "--format", "json", "--at", "2018-12-31").stdout)
    assert [(r["status"], r["state"]) for r in rows] == [("active", "in-force")]


def test_show_text_reads_like_the_decision(seeded: Engine, run_cli: Callable[..., Any]) -> None:
    text = run_cli("show", SEED_ID).stdout
    assert "valid       2017-09-13 to 2023-06-30 (§73, §74, §99)" in text
    assert "HBPLUS       processor, for WSE-ESF  HBplus" in text
    assert "national register number allowed (§34, §35, §62, §98)" in text
    assert "security-plan          deadline    2017-11-30 flag    AII (§96, §101)" in text
    assert "retention until 2029-12-31 (§68, §69, §70)" in text
    assert "  status      active (expired on " in text


def test_show_text_tells_the_status_changes(seeded: Engine, run_cli: Callable[..., Any]) -> None:
    run_cli("suspend", SEED_ID, "--on", "2019-01-01", "--reason", "incident")
    text = run_cli("show", SEED_ID).stdout
    assert "  status      suspended (expired on " in text
    assert "    suspend from 2019-01-01: incident" in text


def test_show_of_an_unknown_id_is_invalid_input(seeded: Engine, run_cli: Callable[..., Any]) -> None:
    result = run_cli("show", "vtc-1999-nothing")
    assert result.exit_code == 2
    assert result.stderr == "error: no authorisation 'vtc-1999-nothing'\n"


def test_a_missing_file_is_invalid_input(seeded: Engine, run_cli: Callable[..., Any]) -> None:
    result = run_cli("apply", "policies/nope.yaml")
    assert result.exit_code == 2
    assert result.stderr == "error: policies/nope.yaml: no such file or folder\n"


def test_an_unmigrated_database_is_a_failure_with_a_hint(database_url: str, run_cli: Callable[..., Any]) -> None:
    result = run_cli("list")
    assert result.exit_code == 1
    assert "error: database:" in result.stderr
    assert "run `authreg init`" in result.stderr


def test_an_unreachable_database_is_a_failure(tmp_path: Any) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = CliRunner().invoke(main, ["--database-url", url, "list"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: database: OperationalError")


def test_init_creates_the_schema_and_is_repeatable(database_url: str, run_cli: Callable[..., Any]) -> None:
    assert run_cli("init").exit_code == 0
    second = run_cli("init")
    assert second.exit_code == 0
    assert second.stdout.startswith("database ready: ")
    assert run_cli("list").stdout.splitlines() == ["id  status  state  version  valid_from  valid_until  title"]


def test_database_url_comes_from_the_environment(sqlite_url: str, monkeypatch: Any) -> None:
    monkeypatch.setenv("AUTHREG_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("AUTHREG_SECRET_KEY", TEST_SECRET)
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 0
    assert result.stdout == f"database ready: {sqlite_url}\n"


def test_init_writes_a_secret_key_once_and_only_where_none_is_set(tmp_path: Path, monkeypatch: Any) -> None:
    """A fresh install is usable after ``authreg init`` alone; a key already there, or one given
    in the environment, is never replaced (it keys the audit log and the subjects' hashes)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTHREG_SECRET_KEY", raising=False)
    monkeypatch.delenv("AUTHREG_SECRET_KEY_FILE", raising=False)
    first = CliRunner().invoke(main, ["init"])
    assert first.exit_code == 0
    assert first.stdout.splitlines()[1].startswith("secret key written to var/secret.key")
    key = tmp_path / "var" / "secret.key"
    written = key.read_text()
    assert len(written.strip()) == 64 and stat.S_IMODE(key.stat().st_mode) == 0o600
    second = CliRunner().invoke(main, ["init"])
    assert second.stdout.splitlines() == [second.stdout.splitlines()[0]] and key.read_text() == written
    given = CliRunner().invoke(
        main, ["init"], env={"AUTHREG_SECRET_KEY_FILE": "other.key", "AUTHREG_SECRET_KEY": TEST_SECRET}
    )
    assert "secret key" not in given.stdout and not (tmp_path / "other.key").exists()


def test_init_never_writes_a_key_over_a_registry_that_has_one(tmp_path: Path, monkeypatch: Any) -> None:
    """A registry used with a key from the environment, then ``init`` without it: a new key file
    would not be its key (the log would stop verifying), so init refuses and says why."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTHREG_SECRET_KEY_FILE", raising=False)
    with_key = CliRunner().invoke(main, ["init"], env={"AUTHREG_SECRET_KEY": TEST_SECRET})
    assert with_key.exit_code == 0 and "secret key" not in with_key.stdout
    monkeypatch.delenv("AUTHREG_SECRET_KEY", raising=False)
    without = CliRunner().invoke(main, ["init"], env={"AUTHREG_SECRET_KEY": None})
    assert without.exit_code == 1
    assert "this registry is used with one" in without.stderr and not (tmp_path / "var" / "secret.key").exists()


def test_init_refuses_an_unusable_key_file(tmp_path: Path, monkeypatch: Any) -> None:
    """An empty key file (a crash while it was written, a ``touch``) is said at init, not at the
    first decision."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTHREG_SECRET_KEY_FILE", raising=False)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret.key").write_text("")
    result = CliRunner().invoke(main, ["init"], env={"AUTHREG_SECRET_KEY": None})
    assert result.exit_code == 1 and result.stderr.startswith("error: no secret key")
    (tmp_path / "var" / "secret.key").write_text("change-me-change-me-change-me-change-me\n")
    result = CliRunner().invoke(main, ["init"], env={"AUTHREG_SECRET_KEY": None})
    assert result.exit_code == 1 and "placeholder" in result.stderr


def test_token_create_list_revoke(seeded: Engine, run_cli: Callable[..., Any]) -> None:
    created = run_cli("token", "create", "--role", "application", "--name", "case-system")
    assert created.exit_code == 0
    token = created.stdout.splitlines()[-1]
    assert len(token) >= 40 and " " not in token
    assert token not in repr(dump_tables(seeded))  # only its hash is kept
    listed = run_cli("token", "list").stdout.splitlines()
    assert listed[0].split() == ["name", "role", "created_at", "revoked_at"]
    assert listed[1].split()[:2] == ["case-system", "application"] and listed[1].split()[-1] == "-"
    again = run_cli("token", "create", "--role", "manager", "--name", "case-system")
    assert again.exit_code == 2 and "exists already" in again.stderr
    assert run_cli("token", "create", "--role", "root", "--name", "x").exit_code == 2
    assert run_cli("token", "revoke", "case-system").stdout == "token case-system revoked\n"
    assert run_cli("token", "list").stdout.splitlines()[1].split()[-1] != "-"
    assert run_cli("token", "revoke", "nobody").exit_code == 2
