"""Where a study's numbers came from: ``results/<study>/study.json``.

It holds the study's spec (question, claims, machine), and for every trained run and every
evaluated stage the record of the go that made it: the git commit and whether the work tree
had uncommitted changes, the exact command line, the versions of Python and the numerical
libraries, the devices, the wall time and the date. Stages carry the digest of what determines
their numbers (:func:`gradjax.studies.spec.stage_record`): a stage whose digest still matches
is done and is not evaluated again.
"""

from __future__ import annotations

import datetime
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from gradjax.evaluation.code_digest import library_versions

LIBRARIES = ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "numpy", "chex")


def git_state(root: Path | str = ".") -> dict:
    """``{"commit": sha or None, "dirty": bool or None}`` of the repository at ``root``
    (``None``s outside a git checkout or without git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def versions() -> dict[str, str | None]:
    """``{"python": ..., library: version or None}`` for :data:`LIBRARIES`."""
    return library_versions(LIBRARIES)


def devices() -> dict:
    """The accelerator this process computes on: platform, kind and count."""
    import jax

    found = jax.devices()
    return {"platform": found[0].platform, "kind": found[0].device_kind, "count": len(found)}


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed: ``python -m gradjax.reproduce`` and its arguments."""
    argv = sys.argv[1:] if argv is None else argv
    return shlex.join(["python", "-m", "gradjax.reproduce", *argv])


def go_record(command: str, seconds: float, root: Path | str = ".") -> dict:
    """The record of one piece of work done now: commit, command, versions, devices, time."""
    return {
        **git_state(root),
        "command": command,
        "versions": versions(),
        "devices": devices(),
        "seconds": round(seconds, 1),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def read(path: Path) -> dict:
    """The study.json at ``path`` (an empty record when there is none yet).

    Raises:
      ValueError: the file is not valid JSON (its path named).
    """
    if not path.exists():
        return {"runs": {}, "stages": {}}
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{str(path)!r} is not valid JSON ({err}); restore it from git.") from err
    record.setdefault("runs", {})
    record.setdefault("stages", {})
    return record


def write(path: Path, record: dict) -> None:
    """Writes ``record`` atomically (a kill leaves the previous file whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=False) + "\n")
    os.replace(tmp, path)


def stage_metrics(study, out: Path) -> dict[str, dict]:
    """``{stage: metrics}`` of the stages whose metrics.json exists, in the study's order."""
    found = {}
    for stage in study.stages:
        path = out / stage.name / "metrics.json"
        if path.exists():
            found[stage.name] = json.loads(path.read_text())
    return found


__all__ = [
    "stage_metrics",
    "LIBRARIES",
    "command_line",
    "devices",
    "git_state",
    "go_record",
    "read",
    "versions",
]
