"""Run a registered study: train what is missing, evaluate, record where every number came from.

    python -m gradjax.reproduce --list
    python -m gradjax.reproduce mnist5k
    python -m gradjax.reproduce mnist5k-dynamics --budget 3300     # what fits in 55 minutes
    python -m gradjax.reproduce cifar10-6ep --data-dir ../shared/data/cifar10-jpeg.tar --status
    python -m gradjax.reproduce --index                             # results/INDEX.md

Runs go to ``--runs-dir`` (default ``$GRADJAX_RUNS/<study>``, ``$GRADJAX_RUNS`` defaulting to
``~/.cache/gradjax/runs``: outside the work tree, checkpoints are not for committing); results
(each stage's ``metrics.json``, ``report.md`` and figures, the study's ``study.json`` and
summary) to ``--out`` (default ``results/<study>``). Stages already done (their spec unchanged)
are skipped; interrupted runs resume, lost ones are trained again. ``--budget SECONDS`` does
the part of the remaining work that fits and says what is left for the next go; a study run
side by side on one accelerator instead gets the epochs that fit. ``--background`` starts the
same command with ``nohup`` and a log file and returns.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from pathlib import Path

from gradjax.cli.flags import add_distributed_flags, positive_float, start_distributed
from gradjax.studies import provenance
from gradjax.studies.index import write_index
from gradjax.studies.lock import StudyInUseError, exclusive, holder
from gradjax.studies.plan import describe, epochs_that_fit, fitting, pending_work
from gradjax.studies.registry import STUDIES
from gradjax.studies.runner import SUMMARIES, Go, is_done, run_study
from gradjax.training.guards import NonFiniteLossError


def default_runs_root() -> Path:
    return Path(os.environ.get("GRADJAX_RUNS", Path.home() / ".cache" / "gradjax" / "runs"))


def list_lines() -> list[str]:
    """One line per study: name, question, machine and measured or estimated cost."""
    lines = []
    for name, study in STUDIES.items():
        record = provenance.read(Path("results") / name / "study.json")
        seconds = sum(
            r.get("seconds") or 0.0 for r in (*record["runs"].values(), *record["stages"].values())
        )
        if seconds:
            cost = f"{seconds / 60:.0f} min measured"
        else:
            work = pending_work(
                study, study.configs(), list(study.stages), Path("/nonexistent"), {}
            )
            cost = f"≈{sum(w.seconds or 0 for w in work) / 60:.0f} min estimated"
        lines.append(f"{name:26s} {cost:>22s} on {study.machine}")
        lines.append(f"{'':26s} {study.question}")
    return lines


def status_lines(go: Go) -> list[str]:
    """Every stage (done or not) and the work left with its estimates."""
    study = go.study
    configs = study.configs(go.data_dir)
    record = provenance.read(go.record_path)
    lines = []
    todo = []
    for stage in study.stages:
        done = is_done(go, stage, record, configs)
        lines.append(f"  stage {stage.name}: {'done' if done else 'to do'}")
        todo += [] if done else [stage]
    work = pending_work(study, configs, todo, go.runs_dir, record)
    _, seconds = fitting(work, None)
    lines += describe(work)
    lines.append(f"  left: {seconds / 60:.1f} min estimated")
    return lines


def start_in_background(argv: list[str], log: Path) -> int:
    """Starts ``python -m gradjax.reproduce argv`` detached with ``nohup``; prints how to watch."""
    log.parent.mkdir(parents=True, exist_ok=True)
    command = ["nohup", sys.executable, "-m", "gradjax.reproduce", *argv, "--no-progress"]
    with open(log, "a") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    print(f"[study] started in the background, pid {process.pid}")
    print(f"[study] watch:  tail -f {log}")
    same = " ".join(a for a in argv if a != "--no-progress")
    print(f"[study] status: python -m gradjax.reproduce {same} --status")
    print(f"[study] stop:   kill {process.pid}   (re-run the command to resume)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("study", nargs="?", choices=sorted(STUDIES), help="see --list")
    p.add_argument("--list", action="store_true", help="every study with its cost, then exit")
    p.add_argument("--index", action="store_true", help="write results/INDEX.md, then exit")
    p.add_argument("--data-dir", help="image folder or .tar (the CIFAR studies)")
    p.add_argument("--runs-dir", help="default: $GRADJAX_RUNS/<study>")
    p.add_argument("--out", help="default: results/<study>")
    p.add_argument("--budget", type=positive_float, metavar="SECONDS", help="do what fits")
    p.add_argument("--status", action="store_true", help="stages done and work left, then exit")
    p.add_argument("--summary", action="store_true", help="rewrite the summary, then exit")
    p.add_argument(
        "--compare",
        metavar="DIR",
        help="after the go, compare every stage's numbers with DIR's (e.g. results/mnist5k); "
        "exit 1 if they differ",
    )
    p.add_argument("--background", action="store_true", help="run detached with nohup")
    p.add_argument("--no-progress", action="store_true")
    add_distributed_flags(p)
    return p


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(list_lines()))
        return 0
    if args.index:
        print(f"[study] wrote {write_index(STUDIES, Path('results'))}")
        return 0
    if args.study is None:
        parser.error("name a study (see --list)")
    study = STUDIES[args.study]
    if study.needs_data_dir and not args.data_dir and not (args.status or args.summary):
        parser.error(f"study {study.name!r} needs --data-dir (an image folder or .tar)")
    runs_dir = (
        Path(args.runs_dir)
        if args.runs_dir
        else default_runs_root() / (study.runs_of or study.name)
    )
    go = Go(
        study,
        runs_dir,
        Path(args.out or f"results/{study.name}"),
        provenance.command_line(argv),
        args.data_dir,
        progress=not args.no_progress,
    )
    if args.status:
        pid = holder(runs_dir)
        working = "no process is working on it" if pid is None else f"pid {pid} is working on it"
        print(f"[study] {study.name} in {runs_dir} ({working}):")
        print("\n".join(status_lines(go)))
        return 0
    if args.summary:
        if study.summary:
            SUMMARIES[study.summary](study, go.out)
        return 0
    if args.background:
        pid = holder(runs_dir)
        if pid is not None:
            parser.error(f"{runs_dir} is in use by pid {pid}: see --status, or kill {pid} first")
        rest = [a for a in argv if a != "--background"]
        return start_in_background(rest, runs_dir / "reproduce.log")
    return _go(parser, args, go)


def _go(parser, args, go: Go) -> int:
    import jax

    if start_distributed(args):
        parser.error("a study runs in one process; train a run on several with train.py")
    epochs = None
    if go.study.side_by_side and args.budget:
        per_epoch = {n: go.study.estimated_epoch_seconds(n) or 0.0 for n in go.study.runs}
        evaluation = sum(s.expected_seconds for s in go.study.stages)
        epochs = epochs_that_fit(per_epoch, args.budget, evaluation)
        print(f"[study] {epochs} epochs fit {args.budget:.0f} s with every run side by side")
    lock = exclusive(go.runs_dir) if jax.process_index() == 0 else contextlib.nullcontext()
    try:
        with lock:
            budget = None if epochs is not None else args.budget
            complete = run_study(go, budget=budget, epochs=epochs)
    except StudyInUseError as err:
        parser.error(str(err))
    except NonFiniteLossError as err:
        print(f"[study] a run diverged: {err}", file=sys.stderr)
        return 3
    if go.out.parent.resolve() == Path("results").resolve():
        write_index(STUDIES, go.out.parent)
    print(f"[study] {go.study.name}: {'complete' if complete else 'more to do (same command)'}")
    if args.compare:
        differing = compare_stages(go.study, go.out, Path(args.compare))
        for line in differing:
            print(f"[study] differs from {args.compare}: {line}")
        if differing:
            return 1
        print(f"[study] every stage's numbers equal those in {args.compare}")
    return 0


def compare_stages(study, out: Path, other: Path) -> list[str]:
    """The stage files (metrics.json, per_image.json) whose bytes differ between two results
    directories of ``study``."""
    differing = []
    for stage in study.stages:
        for name in ("metrics.json", "per_image.json"):
            mine, theirs = out / stage.name / name, other / stage.name / name
            if mine.exists() != theirs.exists():
                differing.append(f"{stage.name}/{name} exists in only one")
            elif mine.exists() and mine.read_bytes() != theirs.read_bytes():
                differing.append(f"{stage.name}/{name}")
    return differing


__all__ = [
    "compare_stages",
    "build_parser",
    "default_runs_root",
    "list_lines",
    "main",
    "status_lines",
]
