"""Evaluate trained runs as the paper does: accuracy, density ratios, samples and GAN-test,
pixel perturbation with six saliency methods, gradient maps and fooling, with 95% intervals.

    python eval.py --run baseline=runs/base --run score-matching=runs/sm \
        --judge plain=runs/mlp --judge robust=runs/mlp-adversarial --out outputs/eval

Writes metrics.json, PNG figures and report.md to --out. Deterministic given --seed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from gradjax.cli.flags import positive_int
from gradjax.evaluation.context import Common
from gradjax.evaluation.measurements import MEASUREMENTS
from gradjax.evaluation.runner import evaluate_runs
from gradjax.training.distributed import launched_processes
from gradjax.training.rundir import CheckpointError


def named_run(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=DIRECTORY, got {text!r}")
    return name, Path(path)


def named_epoch(text: str) -> tuple[str, int]:
    name, sep, epoch = text.partition("=")
    if not sep or not name or not epoch.isdigit() or int(epoch) < 1:
        raise argparse.ArgumentTypeError(f"expected NAME=EPOCH (an integer >= 1), got {text!r}")
    return name, int(epoch)


def measurement_list(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in MEASUREMENTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown measurement(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"valid: {', '.join(MEASUREMENTS)}"
        )
    return names


def setting(text: str) -> tuple[str, str, object]:
    """``measurement.field=value``; the value is read as JSON (lists become tuples), else kept
    as a string."""
    target, sep, raw = text.partition("=")
    name, dot, field = target.partition(".")
    if not (sep and dot) or name not in MEASUREMENTS:
        raise argparse.ArgumentTypeError(
            f"expected MEASUREMENT.FIELD=VALUE with MEASUREMENT one of {', '.join(MEASUREMENTS)}, "
            f"got {text!r}"
        )
    fields = {f.name for f in dataclasses.fields(MEASUREMENTS[name].settings)}
    if field not in fields:
        raise argparse.ArgumentTypeError(
            f"{name} has no setting {field!r}; valid: {', '.join(sorted(fields)) or '(none)'}"
        )
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name, field, tuple(value) if isinstance(value, list) else value


def build_parser() -> argparse.ArgumentParser:
    c = Common()
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument(
        "--run",
        type=named_run,
        action="append",
        required=True,
        metavar="NAME=DIR",
        help="a run directory written by train.py, with the name used in the report; repeat",
    )
    p.add_argument(
        "--epoch",
        type=named_epoch,
        action="append",
        default=[],
        metavar="NAME=K",
        help="evaluate run NAME at the checkpoint ending epoch K, not its latest; repeat",
    )
    p.add_argument(
        "--judge",
        type=named_run,
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="a GAN-test classifier's run directory; repeat (the last is the headline judge)",
    )
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--measurements",
        type=measurement_list,
        default=None,
        help=f"comma-separated subset of: {', '.join(MEASUREMENTS)} (default: all; gan-test "
        "only with --judge)",
    )
    p.add_argument("--seed", type=int, default=c.seed)
    p.add_argument("--num-examples", type=positive_int, help="test images; default: all")
    p.add_argument("--batch-size", type=positive_int, default=c.batch_size)
    p.add_argument(
        "--set",
        type=setting,
        action="append",
        default=[],
        metavar="MEASUREMENT.FIELD=VALUE",
        help="override one measurement setting; repeat",
    )
    p.add_argument(
        "--no-dataset-figures",
        action="store_true",
        help="write no figure that shows dataset images, and no per-image values (for data you "
        "may not redistribute)",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        help="keep finished measurements here; a re-run after an interruption resumes "
        "(outside anything you publish: it holds arrays derived from the test images)",
    )
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if launched_processes() > 1:
        print(
            "eval.py: error: evaluation runs in one process; it was started as "
            f"{launched_processes()} processes. Run it once, without gradjax.cli.launch or srun.",
            file=sys.stderr,
        )
        return 2
    runs = dict(args.run)
    if len(runs) != len(args.run):
        print("eval.py: error: two --run entries share a name", file=sys.stderr)
        return 2
    judges = dict(args.judge)
    if len(judges) != len(args.judge):
        print("eval.py: error: two --judge entries share a name", file=sys.stderr)
        return 2
    common = Common(
        args.seed,
        args.num_examples,
        args.batch_size,
        dataset_figures=not args.no_dataset_figures,
        keep_per_image=not args.no_dataset_figures,
    )
    overrides: dict[str, dict] = {}
    for name, field, value in args.set:
        overrides.setdefault(name, {})[field] = value
    settings = {n: MEASUREMENTS[n].settings(**kw) for n, kw in overrides.items()}
    try:
        report = evaluate_runs(
            runs,
            args.out,
            judges=judges,
            measurements=args.measurements,
            common=common,
            settings=settings,
            progress=not args.no_progress,
            cache_dir=args.cache_dir,
            epochs=dict(args.epoch),
        )
    except (FileNotFoundError, ValueError, CheckpointError) as err:
        print(f"eval.py: error: {err}", file=sys.stderr)
        return 2
    print(f"report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
