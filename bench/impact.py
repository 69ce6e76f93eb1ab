"""``make bench``, the impact report: how long ``apply --dry-run --impact`` takes on a registry
of 10,000 authorisations with 100,000 logged decisions, for a change of one authorisation and for
a change of the taxonomy (which recompiles everything), beside a naive impact in the same run:
the change really applied to a copy, both registries loaded in full and every logged decision
decided again on each (with reasons, as ``decide`` answers).

The registry and its log are made once and kept under var/bench (logging 100,000 decisions
takes a while); each measurement runs in its own process, so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from authreg.domain.decisions import decide
from authreg.domain.documents import Document
from authreg.domain.policy_engine import PolicyEngine
from authreg.domain.requests import load_request
from authreg.services.apply import apply_documents
from authreg.services.decision_service import DecisionService
from authreg.services.impact import impact
from authreg.storage import migrate
from authreg.storage.audit_log import Replayed, replayable
from authreg.storage.models import AuditEntry
from authreg.storage.sessions import make_engine, reading
from authreg.storage.snapshot_loader import load_snapshot
from bench.decisions import NOW
from bench.generate import documents, requests, taxonomy

FOLDER = Path("var/bench")
SECRET = "bench-" + "0" * 58
SIZE, LOGGED = 10_000, 100_000


def _prepare(size: int, logged: int) -> Path:
    """The registry with its log, made once: ``size`` authorisations, ``logged`` decisions."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    database = FOLDER / f"impact-{size}-{logged}.db"
    url = f"sqlite:///{database}"
    if database.exists():
        migrate.upgrade(url)
        return database
    made = FOLDER / "impact-making.db"
    made.unlink(missing_ok=True)
    docs = documents(size)
    migrate.upgrade(f"sqlite:///{made}")
    engine = make_engine(f"sqlite:///{made}")
    apply_documents(engine, docs, actor="bench", now=NOW)
    service = DecisionService.load(engine, timezone="Europe/Brussels", secret=SECRET)
    asked = [load_request({k: v for k, v in r.items() if k != "expect"}) for r in requests(docs, logged, seed=5)]
    for start in range(0, logged, 1000):
        service.ask_many(asked[start : start + 1000], asked_by="bench", now=NOW)
    engine.dispose()
    made.rename(database)
    return database


def _change(kind: str) -> list[Document]:
    """One authorisation ending early (so its later allows flip), or a taxonomy in which one more
    category holds the national register number (everything recompiles)."""
    if kind == "taxonomy":
        moved = taxonomy()
        for entry in moved.body["taxonomy"]:
            if entry["id"] == "cat-00-1":
                entry["national_register_number"] = True
        return [moved]
    body = next(d.body for d in documents(SIZE) if d.kind == "authorisation")
    return [Document("authorisation", "bench", {**body, "valid_until": body["valid_from"] + timedelta(days=10)})]


def _worker(database: Path, kind: str, way: str) -> dict[str, Any]:
    """One measurement in this process: authreg's impact, or the naive one on a copy."""
    url = f"sqlite:///{database}"
    engine = make_engine(url)
    started = time.perf_counter()
    if way == "authreg":
        found = impact(engine, _change(kind), since=None, actor="bench", now=NOW)
        replayed, flips = found.replayed, len(found.flips)
    else:
        copy = database.with_name("impact-copy.db")
        shutil.copy(database, copy)
        changed = make_engine(f"sqlite:///{copy}")
        apply_documents(changed, _change(kind), actor="bench", now=NOW)
        with reading(engine) as session:
            before = PolicyEngine(load_snapshot(session))
            logged = [entry for entry in replayable(session) if isinstance(entry, Replayed)]
        with reading(changed) as session:
            after = PolicyEngine(load_snapshot(session))
        replayed = len(logged)
        flips = sum(decide(before, e.request).decision != decide(after, e.request).decision for e in logged)
        changed.dispose()
        copy.unlink()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "replayed": replayed, "flips": flips, "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--logged", type=int, default=LOGGED)
    parser.add_argument("--worker", nargs=3, metavar=("DATABASE", "KIND", "WAY"))
    args = parser.parse_args()
    if args.worker:
        database, kind, way = args.worker
        print(json.dumps(_worker(Path(database), kind, way)))
        return
    database = _prepare(args.size, args.logged)
    engine = make_engine(f"sqlite:///{database}")
    with reading(engine) as session:
        count = session.exec(select(func.count()).select_from(AuditEntry)).one()
    engine.dispose()
    print(f"impact report, {args.size} authorisations, {count} logged decisions (target: under 30 s)")
    print(f"{'change':<14} {'way':<8} {'seconds':>8} {'replayed':>9} {'flips':>6} {'peak MB':>8}")
    for kind in ("authorisation", "taxonomy"):
        for way in ("authreg", "naive"):
            command = [sys.executable, "-m", "bench.impact", "--worker", str(database), kind, way]
            f = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            print(f"{kind:<14} {way:<8} {f['seconds']:>8.1f} {f['replayed']:>9} {f['flips']:>6} {f['peak_mb']:>8.0f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
