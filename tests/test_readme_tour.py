"""The README's tour, run as a new user runs it (issue 10): every ``console`` block of README.md,
in order, in one shell, against a fresh registry made as ``make run`` makes it (init, apply
``policies/``, serve), and the output compared with what the README shows.

What a run cannot repeat is masked on both sides: decision ids (UUIDs), moments of the day
(``2026-11-30T15:02:11...``), 64-digit hashes, the server's address (the README says
``127.0.0.1:8080``; the test serves on a free port). The tour runs in a temporary folder that
holds ``policies`` and ``.venv`` as links into the repository, so a file it writes lands there.
A block's last output line ``...`` means "more lines follow, not shown".
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import ROOT
from tests.serving import served

README = ROOT / "README.md"
TOUR_ADDRESS = "127.0.0.1:8080"
MARK = "@@authreg-tour@@"
MASKS = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?"), "<moment>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<hash>"),
)


@dataclass
class Step:
    command: str
    shown: list[str] = field(default_factory=list)
    line: int = 0


def tour_steps(text: str) -> list[Step]:
    """Every ``$ command`` of the README's console blocks, with the lines shown after it (a
    command continues on the next line after a trailing backslash or inside a quoted text)."""
    steps: list[Step] = []
    inside = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            inside = line.strip() == "```console" if not inside else False
            continue
        if not inside:
            continue
        if steps and (steps[-1].command.endswith("\\") or steps[-1].command.count("'") % 2):
            steps[-1].command += "\n" + line
        elif line.startswith("$ "):
            steps.append(Step(line[2:], line=number))
        elif steps:
            steps[-1].shown.append(line)
    return steps


def masked(lines: list[str], port: int) -> list[str]:
    out = []
    for line in lines:
        line = line.replace(f"127.0.0.1:{port}", TOUR_ADDRESS)
        for pattern, mask in MASKS:
            line = pattern.sub(mask, line)
        out.append(line.rstrip())
    return out


def run_tour(steps: list[Step], folder: Path, env: dict[str, str], port: int) -> list[list[str]]:
    """One bash for the whole tour, so variables set by one step are there for the next."""
    script = ["set +e"]
    for step in steps:
        script += [f"echo '{MARK}'", step.command.replace(TOUR_ADDRESS, f"127.0.0.1:{port}") + " 2>&1"]
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)], cwd=folder, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.stderr == ""
    # a command whose output ends without a newline (curl's JSON) leaves the next mark mid-line
    outputs = [output.removeprefix("\n") for output in done.stdout.split(MARK)[1:]]
    assert len(outputs) == len(steps)
    return [output.splitlines() for output in outputs]


def test_the_tour_has_steps() -> None:
    """A README whose blocks lost their ``console`` tag would pass the tour by running nothing."""
    steps = tour_steps(README.read_text(encoding="utf-8"))
    assert len(steps) >= 20
    assert any("curl" in step.command for step in steps) and any("authreg check" in step.command for step in steps)


def test_the_readme_tour_runs_as_shown(tmp_path: Path) -> None:
    steps = tour_steps(README.read_text(encoding="utf-8"))
    for name in ("policies", ".venv"):
        (tmp_path / name).symlink_to(ROOT / name)
    url = f"sqlite:///{tmp_path / 'var' / 'authreg.db'}"
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("AUTHREG_")},
        "AUTHREG_DATABASE_URL": url,
        "AUTHREG_SECRET_KEY_FILE": str(tmp_path / "var" / "secret.key"),
        "AUTHREG_SIGNING_KEY_FILE": str(tmp_path / "var" / "signing.key"),
        "AUTHREG_CHECKPOINT_DIR": str(tmp_path / "var" / "checkpoints"),
        "AUTHREG_ACTOR": "cli:privacy-officer",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    authreg = [sys.executable, "-m", "authreg.cli.main"]
    subprocess.run([*authreg, "init"], check=True, cwd=tmp_path, env=env, capture_output=True)
    subprocess.run([*authreg, "apply", "policies"], check=True, cwd=tmp_path, env=env, capture_output=True)
    with served(url, **{key: value for key, value in env.items() if key.startswith("AUTHREG_")}) as port:
        outputs = run_tour(steps, tmp_path, env, port)
    for step, output in zip(steps, outputs, strict=True):
        shown, got = masked(step.shown, port), masked(output, port)
        if shown and shown[-1] == "...":
            shown, got = shown[:-1], got[: len(shown) - 1]
        assert got == shown, f"README.md line {step.line}: $ {step.command}"
