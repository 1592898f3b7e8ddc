"""Evaluate trained runs as the paper does: density ratios, samples and GAN-test, pixel
perturbation with six saliency methods, gradient maps and fooling.

    python eval.py --run baseline=runs/base --run score-matching=runs/sm \
        --gan-test-model runs/vgg --out outputs/eval

Writes metrics.json, PNG figures and report.md to --out. Deterministic given --seed.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from gradjax.argtypes import positive_int
from gradjax.evaluation.runner import MEASUREMENTS, EvalSettings, evaluate_runs


def named_run(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=DIRECTORY, got {text!r}")
    return name, Path(path)


def measurement_list(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in MEASUREMENTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown measurement(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"valid: {', '.join(MEASUREMENTS)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    s = EvalSettings()
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
    p.add_argument("--gan-test-model", type=Path, help="run directory of the GAN-test classifier")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--measurements",
        type=measurement_list,
        default=None,
        help=f"comma-separated subset of: {', '.join(MEASUREMENTS)} (default: all; gan-test "
        "only with --gan-test-model)",
    )
    p.add_argument("--seed", type=int, default=s.seed)
    p.add_argument("--num-examples", type=positive_int, default=s.num_examples)
    p.add_argument("--batch-size", type=positive_int, default=s.batch_size)
    p.add_argument("--samples-per-class", type=positive_int, default=s.samples_per_class)
    p.add_argument("--ascent-steps", type=positive_int, default=s.ascent_steps)
    p.add_argument("--fooling-steps", type=positive_int, default=s.fooling_steps)
    p.add_argument(
        "--no-dataset-figures",
        action="store_true",
        help="write no figure that shows dataset images (for data you may not redistribute)",
    )
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    runs = dict(args.run)
    if len(runs) != len(args.run):
        print("eval.py: error: two --run entries share a name", file=sys.stderr)
        return 2
    settings = dataclasses.replace(
        EvalSettings(),
        seed=args.seed,
        num_examples=args.num_examples,
        batch_size=args.batch_size,
        samples_per_class=args.samples_per_class,
        ascent_steps=args.ascent_steps,
        fooling_steps=args.fooling_steps,
        dataset_figures=not args.no_dataset_figures,
    )
    try:
        report = evaluate_runs(
            runs,
            args.out,
            gan_test_dir=args.gan_test_model,
            measurements=args.measurements,
            settings=settings,
            progress=not args.no_progress,
        )
    except (FileNotFoundError, ValueError) as err:
        print(f"eval.py: error: {err}", file=sys.stderr)
        return 2
    print(f"report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
