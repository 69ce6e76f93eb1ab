"""The audit log against someone who can write to the database but holds neither the secret
key nor the signing key: the four attacks of issue 8 (rewrite and recompute, forged append,
truncate and rewind, wipe), each with and without a signed checkpoint; exports checked with
the public key alone; a corrupted cell named, not crashed on; another secret key refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from authreg.app import create_app
from authreg.domain.requests import load_request
from authreg.services import checkpoints
from authreg.services.decision_service import DecisionService
from authreg.storage import audit_log, identity
from authreg.storage.models import AuditEntry, AuditHead
from authreg.storage.sessions import transaction
from tests.conftest import ROOT, TEST_SECRET, check_args
from tests.conftest import SEED_ASK as ASK
from tests.postgres import free_port

Cli = Callable[..., Any]
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
OTHER_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"


def ask(engine: Engine, *days: str) -> None:
    service = DecisionService.load(engine, timezone="Europe/Brussels", secret=TEST_SECRET)
    service.ask_many([load_request(r) for r in [{**ASK, "at": day} for day in days]], asked_by="case-app", now=NOW)


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    """Where the CLI keeps its signing key and checkpoints in these tests."""
    return {
        "AUTHREG_SIGNING_KEY_FILE": str(tmp_path / "keys" / "signing.key"),
        "AUTHREG_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
    }


@pytest.fixture
def logged(seeded: Engine) -> Engine:
    """Five decisions: allow, deny (expired), allow, deny (no declaration yet), allow."""
    ask(seeded, "2018-01-01", "2024-01-01", "2018-02-01", "2017-10-01", "2018-03-01")
    return seeded


def verify_cli(run_cli: Cli, keys: dict[str, str], *args: str) -> tuple[int, str]:
    result = run_cli("audit", "verify", *args, **keys)
    return result.exit_code, (result.stdout if result.exit_code == 0 else result.stderr)


def checkpoint(run_cli: Cli, keys: dict[str, str]) -> Path:
    result = run_cli("audit", "checkpoint", **keys)
    assert result.exit_code == 0, result.output
    found = checkpoints.latest(Path(keys["AUTHREG_CHECKPOINT_DIR"]))
    assert found is not None
    return found


# What an attacker with write access to the database can do: the chain's hash is public.
def rewrite_from(engine: Engine, seq: int, change: Callable[[AuditEntry], None] = lambda _: None) -> None:
    """Apply ``change`` to entry ``seq``, then recompute its hash and every later one, and the head."""
    with Session(engine) as session:
        entries = list(session.exec(select(AuditEntry).order_by(AuditEntry.seq)))  # type: ignore[arg-type]
        previous = audit_log.GENESIS
        for entry in entries:
            if entry.seq == seq:
                change(entry)
            if entry.seq is not None and entry.seq >= seq:
                entry.previous_hash = previous
                entry.entry_hash = audit_log.entry_hash(entry)
                session.add(entry)
            previous = entry.entry_hash
        head = session.get(AuditHead, 1)
        assert head is not None
        head.seq, head.entry_hash = len(entries), previous
        session.add(head)
        session.commit()


def allow(entry: AuditEntry) -> None:
    entry.decision = "allow"
    entry.reasons = [{"code": "allowed", "message": "allowed", "paragraphs": []}]


def forge_append(engine: Engine) -> None:
    with Session(engine) as session:
        last = session.exec(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()  # type: ignore[union-attr]
        assert last is not None and last.seq is not None
        forged = AuditEntry(**{**last.model_dump(), "seq": last.seq + 1, "decision_id": "forged", "decision": "allow"})
        forged.previous_hash = last.entry_hash
        forged.entry_hash = audit_log.entry_hash(forged)
        session.add(forged)
        head = session.get(AuditHead, 1)
        assert head is not None
        head.seq, head.entry_hash = last.seq + 1, forged.entry_hash
        session.add(head)
        session.commit()


def truncate_to(engine: Engine, seq: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entry WHERE seq > :seq"), {"seq": seq})
        kept = connection.execute(text("SELECT entry_hash FROM audit_entry WHERE seq = :seq"), {"seq": seq})
        connection.execute(
            text("UPDATE audit_head SET seq = :seq, entry_hash = :hash"), {"seq": seq, "hash": kept.scalar_one()}
        )


def wipe(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entry"))
        connection.execute(
            text("UPDATE audit_head SET seq = 0, entry_hash = :genesis, head_mac = NULL"),
            {"genesis": audit_log.GENESIS},
        )


ATTACKS: dict[str, tuple[Callable[[Engine], object], str, str]] = {
    # name: (attack, what verify says without a checkpoint, what it says with one)
    "rewrite a deny as an allow": (
        lambda engine: rewrite_from(engine, 2, allow),
        "entry 2 lacks the chain key's MAC",
        "entry 2 lacks the chain key's MAC",
    ),
    "append a forged entry": (forge_append, "entry 6 lacks the chain key's MAC", "entry 6 lacks the chain key's MAC"),
    "truncate the end and rewind the head": (
        lambda engine: truncate_to(engine, 3),
        "the head lacks the chain key's MAC",
        "the head lacks the chain key's MAC",
    ),
    "wipe everything": (wipe, "the head lacks the chain key's MAC", "the head lacks the chain key's MAC"),
    # what a database administrator can still do: make the registry look never used with a key
    "wipe everything, as if never used": (
        lambda engine: (wipe(engine), forget_the_key(engine)),
        "audit log intact: 0 entries",
        "entries 1 to 5 are missing: a checkpoint signed 5",
    ),
    "declare every entry unkeyed": (
        lambda engine: (rewrite_from(engine, 2, allow), unkey(engine)),
        "the head lacks the chain key's MAC",
        "entry 5 is not the entry the checkpoint signed",
    ),
    "declare every entry unkeyed, as if never used": (
        lambda engine: (rewrite_from(engine, 2, allow), unkey(engine), forget_the_key(engine)),
        "entries 1 to 5 were written before the chain was keyed",
        "entry 5 is not the entry the checkpoint signed",
    ),
}


def unkey(engine: Engine) -> None:
    """Move where the MACs begin past the end, so no entry would need one (found by a tester)."""
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_entry SET entry_mac = NULL"))
        connection.execute(text("UPDATE audit_head SET keyed_from = seq + 1, head_mac = NULL"))


def forget_the_key(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE registry_identity SET key_fingerprint = NULL"))


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_the_four_attacks_with_and_without_a_checkpoint(
    logged: Engine, run_cli: Cli, keys: dict[str, str], tmp_path: Path, attack: str
) -> None:
    tamper, without, with_checkpoint = ATTACKS[attack]  # without: what a verify without one says
    signed = checkpoint(run_cli, keys)
    moved = tmp_path / "kept-elsewhere.json"
    signed.rename(moved)  # the folder is empty again: "without a checkpoint"
    assert verify_cli(run_cli, keys)[0] == 0
    tamper(logged)
    code, said = verify_cli(run_cli, keys)
    if "as if never used" in attack:  # undetectable without a checkpoint, and verify says so
        assert code == 0 and without in said and "no checkpoint: a log wiped or rolled back" in said
    else:
        assert code == 1 and without in said
    code, said = verify_cli(run_cli, keys, "--checkpoint", str(moved))
    assert code == 1 and with_checkpoint in said


def test_a_head_replayed_from_an_old_copy_needs_the_checkpoint(
    seeded: Engine, run_cli: Cli, keys: dict[str, str], tmp_path: Path
) -> None:
    """Cutting entries off and putting back the head row saved when the log was shorter carries a
    valid MAC: only a checkpoint taken after it, kept out of the attacker's reach, exposes it."""
    ask(seeded, "2018-01-01", "2018-01-02", "2018-01-03")
    with seeded.connect() as connection:
        saved = connection.execute(text("SELECT seq, entry_hash, head_mac FROM audit_head")).one()
    ask(seeded, "2018-01-04", "2018-01-05")
    kept = checkpoint(run_cli, keys).rename(tmp_path / "kept-elsewhere.json")
    with seeded.begin() as connection:
        connection.execute(text("DELETE FROM audit_entry WHERE seq > 3"))
        connection.execute(
            text("UPDATE audit_head SET seq = :seq, entry_hash = :hash, head_mac = :mac"),
            {"seq": saved[0], "hash": saved[1], "mac": saved[2]},
        )
    assert verify_cli(run_cli, keys)[0] == 0
    code, said = verify_cli(run_cli, keys, "--checkpoint", str(kept))
    assert (code, said) == (1, "audit log broken at entry 4: entries 4 to 5 are missing: a checkpoint signed 5\n")


def test_without_the_key_a_recomputed_chain_looks_intact_but_not_against_a_checkpoint(
    logged: Engine, run_cli: Cli, keys: dict[str, str]
) -> None:
    """Why the MACs and checkpoints exist: the plain hash chain alone is recomputed by anyone."""
    signed = checkpoints.read(checkpoint(run_cli, keys))
    rewrite_from(logged, 2, allow)
    with transaction(logged) as session:
        assert audit_log.verify(session).intact
        anchored = audit_log.verify(session, anchor=signed.anchor())
    assert (anchored.broken_at, anchored.problem) == (
        5,
        "entry 5 is not the entry the checkpoint signed: the log was rewritten",
    )


def test_an_export_is_checked_with_the_public_key_alone(
    logged: Engine, run_cli: Cli, keys: dict[str, str], tmp_path: Path
) -> None:
    signed = checkpoint(run_cli, keys)
    ask(logged, "2018-04-01")  # one more, after the checkpoint
    export = tmp_path / "export.jsonl"
    export.write_text(run_cli("audit", "export", **keys).stdout, encoding="utf-8")
    public = tmp_path / "public.pem"
    public.write_text(run_cli("audit", "public-key", **keys).stdout, encoding="utf-8")

    def check(path: Path, key: Path = public) -> Any:
        return run_cli("audit", "verify-export", str(path), "--checkpoint", str(signed), "--public-key", str(key))

    held = check(export)
    assert held.exit_code == 0, held.output
    assert held.stdout.splitlines() == [
        "export holds: entries 1 to 5 are those the checkpoint signed",
        "  1 later entries are chained but not yet covered by a checkpoint",
    ]
    # the operator rewrites entry 2 in the export and recomputes every hash after it
    records = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    records[1]["decision"] = "allow"
    previous = records[0]["entry_hash"]
    for record in records[1:]:
        record["previous_hash"] = previous
        record["entry_hash"] = previous = audit_log.hash_of(
            {k: v for k, v in record.items() if k not in ("entry_hash", "entry_mac")}
        )
    forged = tmp_path / "forged.jsonl"
    forged.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    refused = check(forged)
    assert (refused.exit_code, refused.stderr) == (
        1,
        "export does not hold: entry 5 is not the entry the checkpoint signed\n",
    )
    # a checkpoint judged with a key the verifier did not choose is worthless
    stranger = tmp_path / "stranger.pem"
    stranger.write_text(checkpoints.public_pem(checkpoints.signing_key(tmp_path / "other.key").public_key()))
    refused = check(export, stranger)
    assert refused.exit_code == 1 and "not signed by the trusted public key" in refused.stderr


@pytest.fixture
def served(seeded: Engine, database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "TESTING": True,
            "SUBJECT_KEY": TEST_SECRET,
            "SIGNING_KEY_FILE": str(tmp_path / "keys" / "signing.key"),
            "CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
            "CHECKPOINT_EVERY": 3,
        }
    )
    yield app
    app.extensions["authreg.engine"].dispose()


def test_the_checkpoint_endpoint_signs_the_current_end(
    served: Flask, bearer: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    client = served.test_client()
    for day in ("2018-01-01", "2018-01-02"):
        assert (
            client.post("/api/v1/decisions", json={**ASK, "at": day}, headers=bearer["application"]).status_code == 200
        )
    answer = client.get("/api/v1/audit/checkpoint", headers=bearer["auditor"]).get_json()
    assert answer["seq"] == 2
    public = serialization.load_pem_public_key(answer.pop("public_key").encode())
    made = checkpoints.Checkpoint(**answer)
    checkpoints.check(made, public)  # type: ignore[arg-type]
    assert checkpoints.read(tmp_path / "checkpoints" / "checkpoint-000000000002.json") == made
    verified = client.get("/api/v1/audit/verify", headers=bearer["auditor"]).get_json()
    assert verified == {"intact": True, "entries": 2, "broken_at": None, "problem": "", "legacy": 0, "anchored_at": 2}


def test_servers_write_checkpoints_on_their_own(
    served: Flask, bearer: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    client = served.test_client()
    for day in range(1, 8):
        asked = client.post("/api/v1/decisions", json={**ASK, "at": f"2018-01-0{day}"}, headers=bearer["application"])
        assert asked.status_code == 200
    written = sorted(path.name for path in (tmp_path / "checkpoints").iterdir())
    assert written == ["checkpoint-000000000003.json", "checkpoint-000000000006.json"]


def test_a_corrupted_cell_is_named_not_crashed_on(
    logged: Engine, run_cli: Cli, keys: dict[str, str], served: Flask, bearer: dict[str, dict[str, str]]
) -> None:
    corrupt = ["UPDATE audit_entry SET reasons = '\"no list\"' WHERE seq = 3"]
    if logged.dialect.name == "sqlite":  # PostgreSQL's timestamp column cannot hold a non-date
        corrupt.append("UPDATE audit_entry SET asked_at = 'not a date' WHERE seq = 2")
    with logged.begin() as connection:
        for statement in corrupt:
            connection.execute(text(statement))
    code, said = verify_cli(run_cli, keys)
    first_broken = 2 if len(corrupt) == 2 else 3
    assert code == 1 and said.startswith(
        f"audit log broken at entry {first_broken}: entry {first_broken} is unreadable"
    )
    client = served.test_client()
    page = client.get("/api/v1/audit", headers=bearer["auditor"])
    assert page.status_code == 200
    unreadable = [entry for entry in page.get_json()["entries"] if "unreadable" in entry]
    assert [entry["seq"] for entry in unreadable] == ([2, 3] if len(corrupt) == 2 else [3])
    verified = client.get("/api/v1/audit/verify", headers=bearer["auditor"]).get_json()
    assert (verified["intact"], verified["broken_at"]) == (False, first_broken)
    assert run_cli("audit", "export", "--format", "csv", **keys).exit_code == 0


def test_another_secret_key_is_refused(seeded: Engine, run_cli: Cli, database_url: str) -> None:
    """The first key used is the registry's; another one would hash subjects differently."""
    ask(seeded, "2018-01-01")
    result = run_cli(*check_args(ASK), AUTHREG_SECRET_KEY=OTHER_SECRET)
    assert result.exit_code == 1
    assert "is not the one this registry is used with" in result.stderr
    with pytest.raises(identity.KeyMismatch):
        create_app({"DATABASE_URL": database_url, "TESTING": True, "SUBJECT_KEY": OTHER_SECRET})
    with transaction(seeded) as session:
        assert session.exec(select(AuditEntry)).all()[-1].asked_by == "case-app"  # nothing logged under it


def test_authreg_serve_refuses_to_start_with_another_key(seeded: Engine, database_url: str) -> None:
    ask(seeded, "2018-01-01")  # the registry has been used with TEST_SECRET
    env = {**os.environ, "AUTHREG_DATABASE_URL": database_url, "AUTHREG_SECRET_KEY": OTHER_SECRET}
    started = subprocess.run(
        [sys.executable, "-m", "authreg.cli.main", "serve", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 1
    assert "is not the one this registry is used with" in started.stderr


def test_hostile_checkpoints_and_periods_are_input_errors(
    logged: Engine, run_cli: Cli, keys: dict[str, str], served: Flask, bearer: dict[str, dict[str, str]]
) -> None:
    signed = checkpoint(run_cli, keys)
    data = json.loads(signed.read_text(encoding="utf-8"))
    for field, value in (("signature", 123), ("signature", None), ("seq", True), ("keyed_from", -1)):
        signed.write_text(json.dumps({**data, field: value}), encoding="utf-8")
        code, said = verify_cli(run_cli, keys)
        assert code == 2 and f"{signed}: {field}: not a" in said, (field, said)
    client = served.test_client()
    Path(served.config["CHECKPOINT_DIR"]).mkdir(parents=True, exist_ok=True)
    (Path(served.config["CHECKPOINT_DIR"]) / "checkpoint-999999999999.json").write_text("{", encoding="utf-8")
    verified = client.get("/api/v1/audit/verify", headers=bearer["auditor"])
    assert verified.status_code == 200 and verified.get_json()["intact"] is False
    assert str(served.config["CHECKPOINT_DIR"]) not in verified.get_data(as_text=True)
    wide = client.get("/api/v1/audit?from=0001-01-01&to=9999-12-31", headers=bearer["auditor"])
    assert wide.status_code == 200 and len(wide.get_json()["entries"]) == 5
    assert run_cli("audit", "export", "--to", "9999-12-31", **keys).exit_code == 0
