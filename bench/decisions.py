"""``make bench``: decisions per second, latency p50/p99 and memory at several registry sizes,
authreg beside a naive pycasbin enforcer on the same requests in the same run.

Each (size, engine) runs in its own process so that its peak memory is its own. The naive
enforcer has one policy line per user x category x purpose with every field compared in the
matcher, and pycasbin's stock ``enforce`` scans them all; it answers allow/deny only. Where it
would take too long it is measured on the first requests that fit a time budget, and the ratio
compares the two on exactly those requests.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import casbin
from casbin.model import Model

from authreg.domain.decisions import decide
from authreg.domain.policy_engine import PolicyEngine
from authreg.domain.requests import DecisionRequest, load_request, request_from
from authreg.services.apply import apply_documents
from authreg.storage import migrate
from authreg.storage.sessions import make_engine, transaction
from authreg.storage.snapshot_loader import load_snapshot
from bench.generate import documents, requests

SIZES = (10, 100, 1_000, 10_000)
FOLDER = Path("var/bench")
NAIVE_MODEL = """
[request_definition]
r = user, org, cat, purpose, act, day, nrn
[policy_definition]
p = user, org, cat, purpose, from, until, nrn
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = r.user == p.user && r.org == p.org && r.cat == p.cat && r.purpose == p.purpose && r.act == "read" \
&& p.from <= r.day && r.day <= p.until && (r.nrn == "no" || p.nrn == "yes")
"""
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _prepare(size: int) -> tuple[str, Path]:
    """The registry database and the requests of one size, made once and kept under var/bench."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    database, asked = FOLDER / f"registry-{size}.db", FOLDER / f"requests-{size}.json"
    url = f"sqlite:///{database}"
    if not database.exists() or not asked.exists():
        database.unlink(missing_ok=True)
        docs = documents(size)
        migrate.upgrade(url)
        engine = make_engine(url)
        apply_documents(engine, docs, actor="bench", now=NOW)
        engine.dispose()
        asked.write_text(json.dumps(requests(docs)), encoding="utf-8")
    migrate.upgrade(url)  # a registry kept from an earlier run follows the schema
    return url, asked


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _figures(latencies: dict[str, list[float]], seconds: float, load: float, extra: dict[str, Any]) -> dict[str, Any]:
    every = latencies["allow"] + latencies["deny"]
    return {
        "load_s": load,
        "requests": len(every),
        "per_s": len(every) / seconds if seconds else 0.0,
        "p50_us": statistics.median(every),
        "p99_us": _percentile(every, 0.99),
        "allow_p50_us": statistics.median(latencies["allow"]) if latencies["allow"] else float("nan"),
        "allow_p99_us": _percentile(latencies["allow"], 0.99),
        "deny_p50_us": statistics.median(latencies["deny"]) if latencies["deny"] else float("nan"),
        "deny_p99_us": _percentile(latencies["deny"], 0.99),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **extra,
    }


def run_authreg(url: str, asked: list[dict[str, Any]], limit: int, rounds: int = 3) -> dict[str, Any]:
    started = time.perf_counter()
    db = make_engine(url)
    with transaction(db) as session:
        snapshot = load_snapshot(session)
    engine = PolicyEngine(snapshot)
    load = time.perf_counter() - started
    gc.freeze()  # as a server does once its snapshot is loaded: the collector skips it from now on
    # Checked against the schema once; made into a request just before it is decided, as a
    # server does (which interns its names: made thousands of requests earlier, they would be
    # out of the cache at 10,000 authorisations as they never are in a server). Only ``decide``
    # is timed. The first pass fills what a server fills as it runs (the allows made, the
    # candidates of each organisation); every pass counts the answers that are not the expected.
    loaded = [(load_request(_request(r)), r["expect"]) for r in asked[:limit]]
    wrong = sum(decide(engine, _made(fields)).decision != expect for fields, expect in loaded)
    latencies: dict[str, list[float]] = {"allow": [], "deny": []}
    clock = time.perf_counter_ns
    total = 0.0
    for _ in range(rounds):
        for fields, expect in loaded:
            request = _made(fields)
            begin = clock()
            answer = decide(engine, request)
            elapsed = clock() - begin
            wrong += answer.decision != expect
            latencies[expect].append(elapsed / 1000)
            total += elapsed / 1e9
    return _figures(latencies, total, load, {"lines": engine.line_count(), "wrong": wrong})


def _made(fields: dict[str, Any]) -> DecisionRequest:
    return request_from(fields, now=NOW, timezone="Europe/Brussels", secret=None)


def _request(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in raw.items() if key != "expect"}


def run_naive(url: str, asked: list[dict[str, Any]], budget_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    db = make_engine(url)
    with transaction(db) as session:
        snapshot = load_snapshot(session)
    lines = []
    for view in snapshot.authorisations.values():
        for flow in view.flows:
            covered = sorted({c for granted in flow.categories for c in snapshot.below.get(granted, ())})
            nrn = "yes" if flow.national_register_number else "no"
            until = (flow.valid_until or datetime.max.date()).isoformat()
            for user in view.users:
                start = max(flow.valid_from, user.declaration_signed_on or flow.valid_from).isoformat()
                for category in covered:
                    for purpose in flow.purposes:
                        lines.append([user.id, user.organisation, category, purpose, start, until, nrn])
    model = Model()
    model.load_model_from_text(NAIVE_MODEL)
    enforcer = casbin.Enforcer(model)
    enforcer.model["p"]["p"].policy = lines  # what an adapter's load_policy leaves behind
    load = time.perf_counter() - started
    gc.freeze()
    latencies: dict[str, list[float]] = {"allow": [], "deny": []}
    wrong, total = 0, 0.0
    for raw in asked:
        if total > budget_s:
            break
        request = _made(load_request(_request(raw)))
        nrn = "yes" if snapshot.needs_national_register_number(request.data_category) else "no"
        rvals = (
            request.user,
            request.organisation,
            request.data_category,
            request.purpose,
            request.action,
            request.day.isoformat(),
            nrn,
        )
        begin = time.perf_counter_ns()
        allowed = enforcer.enforce(*rvals)
        elapsed = time.perf_counter_ns() - begin
        wrong += ("allow" if allowed else "deny") != raw["expect"]
        latencies[raw["expect"]].append(elapsed / 1000)
        total += elapsed / 1e9
    return _figures(latencies, total, load, {"lines": len(lines), "wrong": wrong})


def _worker(engine: str, url: str, asked_path: Path, limit: int, budget: float) -> dict[str, Any]:
    asked = json.loads(asked_path.read_text(encoding="utf-8"))
    if engine == "authreg":
        return run_authreg(url, asked, limit)
    return run_naive(url, asked, budget)


def _spawn(*args: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.decisions", *args], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(output.stdout)
    return result


def _row(size: int, engine: str, f: dict[str, Any]) -> str:
    return (
        f"{size:>6} {engine:<8} {f['load_s']:>7.2f} {f['lines']:>9} {f['requests']:>6} {f['per_s']:>10.0f} "
        f"{f['p50_us']:>8.1f} {f['p99_us']:>8.1f} {f['allow_p50_us']:>8.1f} {f['allow_p99_us']:>8.1f} "
        f"{f['deny_p50_us']:>8.1f} {f['deny_p99_us']:>8.1f} {f['peak_mb']:>7.0f} {f['wrong']:>5}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--naive-budget", type=float, default=float(os.environ.get("NAIVE_BUDGET_S", "20")))
    parser.add_argument("--worker", choices=["authreg", "naive"])
    parser.add_argument("--url")
    parser.add_argument("--requests", type=Path)
    parser.add_argument("--limit", type=int, default=2000)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.url, args.requests, args.limit, args.naive_budget)))
        return
    print("decisions in process, with reasons (authreg) or allow/deny only (naive pycasbin); latency in µs")
    print(
        f"{'N':>6} {'engine':<8} {'load s':>7} {'lines':>9} {'asked':>6} {'per s':>10} {'p50':>8} {'p99':>8} "
        f"{'allow50':>8} {'allow99':>8} {'deny50':>8} {'deny99':>8} {'peak MB':>7} {'wrong':>5}"
    )
    for size in args.sizes:
        url, asked = _prepare(size)
        naive = _spawn(
            "--worker", "naive", "--url", url, "--requests", str(asked), "--naive-budget", str(args.naive_budget)
        )
        ours = _spawn("--worker", "authreg", "--url", url, "--requests", str(asked))
        same = _spawn("--worker", "authreg", "--url", url, "--requests", str(asked), "--limit", str(naive["requests"]))
        print(_row(size, "authreg", ours))
        print(_row(size, "naive", naive))
        print(
            f"{'':>6} ratio    naive/authreg on the same {naive['requests']} requests: "
            f"p50 {naive['p50_us'] / same['p50_us']:.0f}x, p99 {naive['p99_us'] / same['p99_us']:.0f}x, "
            f"decisions/s {same['per_s'] / naive['per_s']:.0f}x"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
