"""The study end to end: train the four objectives and a GAN-test classifier, then evaluate.

    python -m gradjax.reproduce mnist5k
    python -m gradjax.reproduce cifar10 --data-dir ../shared/data/cifar10-jpeg.tar --background
    python -m gradjax.reproduce cifar10 --status

Runs go to ``--runs-dir`` (default ``$GRADJAX_RUNS/<preset>``, ``$GRADJAX_RUNS`` defaulting to
``~/.cache/gradjax/runs``: outside the work tree, checkpoints are not for committing); the
evaluation (``metrics.json``, figures, ``report.md``) to ``--out`` (default
``results/<preset>``). Finished runs are skipped and interrupted ones resumed, in a fixed order
(baseline, classifier, then the objectives in registry order), so re-running the command after
a crash, a kill or a lost machine continues (or restarts) without manual steps; ``--first RUN``
trains named runs before that order (say, the ones a sitting can finish). The evaluation
keeps its finished pieces in ``<runs-dir>/evaluation-cache``, so it resumes too.
``--background`` starts the same command with ``nohup`` and a log file and returns.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jax

from gradjax.argtypes import add_distributed_flags, start_distributed
from gradjax.evaluation.runner import evaluate_runs
from gradjax.presets import GAN_TEST_RUN, PRESETS, Preset
from gradjax.rundir import RunDir
from gradjax.studylock import StudyInUseError, exclusive, holder
from gradjax.training import NonFiniteLossError, fit


def default_runs_root() -> Path:
    return Path(os.environ.get("GRADJAX_RUNS", Path.home() / ".cache" / "gradjax" / "runs"))


def status(
    preset: Preset, runs_dir: Path, data_dir: str | None, first: tuple[str, ...] = ()
) -> list[str]:
    """One line per run, in training order (:func:`training_order`): finished / epochs done,
    the time its remaining epochs take and when, counted from now, it will be done.

    A run's time per epoch is the median of its own epoch times, or, before its first epoch,
    the baseline's times the run's or else its objective's step-cost ratio. The median,
    because an epoch's wall time includes any spell the process was paused or shared its
    cores."""
    configs = preset.run_configs(data_dir)
    base = RunDir(runs_dir / "baseline").epoch_records()
    base_epoch = statistics.median(r["epoch_seconds"] for r in base) if base else None
    lines, total, unknown = [], 0.0, 0
    for name in training_order(configs, first):
        config = configs[name]
        records = RunDir(runs_dir / name).epoch_records()
        done, epochs = len(records), config.run.epochs
        if done:
            per_epoch = statistics.median(r["epoch_seconds"] for r in records)
        elif base_epoch is not None:
            ratio = preset.cost_ratio.get(name, preset.cost_ratio.get(config.objective.name, 1))
            per_epoch = base_epoch * ratio
        else:
            per_epoch = None
        left = None if per_epoch is None else per_epoch * (epochs - done)
        total += left or 0.0
        unknown += left is None
        eta = "?" if left is None else f"{left / 3600:.2f} h"
        if left and not unknown:
            eta += f", done in {total / 3600:.2f} h"
        acc = f", test accuracy {records[-1]['test_accuracy']:.4f}" if records else ""
        lines.append(f"  {name}: {done}/{epochs} epochs{acc}, left {eta}")
    lines.append(
        f"  total left: {total / 3600:.2f} h"
        if not unknown
        else f"  total left: unknown for {unknown} run(s) until the baseline's first epoch ends"
        + (f"; {total / 3600:.2f} h for the others" if unknown < len(configs) else "")
    )
    return lines


def training_order(names, first=()) -> list[str]:
    """Run names (the preset's fixed order) in training order, those in ``first`` moved to
    the front.

    Raises:
      ValueError: ``first`` names a run not in ``names``.
    """
    names = list(names)
    unknown = sorted(set(first) - set(names))
    if unknown:
        raise ValueError(f"no run {unknown} in this preset; its runs: {', '.join(names)}")
    return list(dict.fromkeys([*first, *names]))


def train_all(
    preset: Preset,
    runs_dir: Path,
    data_dir: str | None,
    *,
    first: tuple[str, ...] = (),
    progress: bool = True,
) -> dict[str, Path]:
    """Trains every run not yet finished (resuming interrupted ones), the runs named in
    ``first`` before the fixed order; returns the run dirs in the fixed order."""
    configs = preset.run_configs(data_dir)
    dirs = {name: runs_dir / name for name in configs}
    failed = []
    for name in training_order(configs, first):
        config = configs[name]
        run = RunDir(dirs[name])
        if run.is_finished():
            print(f"[reproduce] {name}: finished, skipped ({run.path})", flush=True)
            continue
        resume = bool(run.steps())
        print(
            f"[reproduce] {name}: {'resuming' if resume else 'training'} in {run.path}", flush=True
        )
        for line in status(preset, runs_dir, data_dir, first):
            print("[reproduce]" + line, flush=True)
        started = time.perf_counter()
        try:
            record = fit(config, run.path, resume=resume, progress=progress)
        except NonFiniteLossError as err:
            # One diverging objective must not stop the study: report it and go on.
            failed.append(name)
            print(f"[reproduce] {name}: FAILED, {err}", flush=True)
            continue
        print(
            f"[reproduce] {name}: test accuracy {record.get('test_accuracy', float('nan')):.4f} "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    if failed:
        raise NonFiniteLossError(f"runs that diverged: {', '.join(failed)} (see the log above).")
    return dirs


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
    print(f"[reproduce] started in the background, pid {process.pid}")
    print(f"[reproduce] watch:  tail -f {log}")
    same = " ".join(a for a in argv if a != "--no-progress")
    print(f"[reproduce] status: python -m gradjax.reproduce {same} --status")
    print(f"[reproduce] stop:   kill {process.pid}   (re-run the command to resume)")
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset", choices=sorted(PRESETS))
    parser.add_argument("--data-dir", help="image folder or .tar (CIFAR presets)")
    parser.add_argument("--runs-dir", help="default: $GRADJAX_RUNS/<preset>")
    parser.add_argument("--out", help="evaluation output; default: results/<preset>")
    parser.add_argument("--stage", choices=("all", "train", "eval"), default="all")
    parser.add_argument(
        "--first",
        nargs="+",
        default=(),
        metavar="RUN",
        help="train these runs before the fixed order (e.g. those one sitting can finish)",
    )
    parser.add_argument("--background", action="store_true", help="run detached with nohup")
    parser.add_argument("--status", action="store_true", help="print progress and ETA, exit")
    parser.add_argument("--no-progress", action="store_true")
    add_distributed_flags(parser)
    args = parser.parse_args(argv)
    preset = PRESETS[args.preset]
    if preset.needs_data_dir and not args.data_dir and not args.status:
        parser.error(f"preset {args.preset!r} needs --data-dir (an image folder or .tar)")
    try:
        training_order(preset.run_configs(args.data_dir), args.first)
    except ValueError as err:
        parser.error(str(err))
    runs_dir = Path(args.runs_dir) if args.runs_dir else default_runs_root() / args.preset
    pid = holder(runs_dir)
    if args.status:
        working = "no process is working on it" if pid is None else f"pid {pid} is working on it"
        print(f"[reproduce] {args.preset} in {runs_dir} ({working}):")
        print("\n".join(status(preset, runs_dir, args.data_dir, tuple(args.first))))
        return 0
    if args.background:
        if pid is not None:
            parser.error(f"{runs_dir} is in use by pid {pid}: see --status, or kill {pid} first")
        rest = [a for a in argv if a != "--background"]
        return start_in_background(rest, runs_dir / "reproduce.log")
    if start_distributed(args) and args.stage != "train":
        parser.error("with several processes use --stage train; evaluate in one process after")
    # The primary process holds the study's lock; the others write nothing of their own.
    lock = exclusive(runs_dir) if jax.process_index() == 0 else contextlib.nullcontext()
    try:
        with lock:
            return _train_and_evaluate(args, preset, runs_dir)
    except StudyInUseError as err:
        parser.error(str(err))


def _train_and_evaluate(args, preset: Preset, runs_dir: Path) -> int:
    out = Path(args.out or f"results/{args.preset}")
    dirs = {name: runs_dir / name for name in preset.run_configs(args.data_dir)}
    if args.stage in ("all", "train"):
        dirs = train_all(
            preset, runs_dir, args.data_dir, first=tuple(args.first), progress=not args.no_progress
        )
    if args.stage in ("all", "eval"):
        classifier = dirs.pop(GAN_TEST_RUN)
        report = evaluate_runs(
            dirs,
            out,
            classifier_dir=classifier,
            measurements=preset.measurements,
            common=preset.common,
            settings=preset.settings,
            progress=not args.no_progress,
            # Beside the runs, outside the work tree: an interrupted evaluation resumes.
            cache_dir=runs_dir / "evaluation-cache",
        )
        print(f"[reproduce] report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
