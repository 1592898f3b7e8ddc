"""Epochs of one shared schedule that fit the objectives' training into a time budget on one
accelerator, from ``benchmarks/step_cost.py``'s records of that accelerator.

    python results/cifar10-resnet18/epochs_that_fit.py STEP_COST.jsonl SECONDS [--steps 390]

The runs train side by side as processes sharing the accelerator, so the budget must hold the
slowest first call (compilations overlap) plus every run's steps one after another (their
kernels take turns): ``SECONDS ≥ first call + epochs · steps · Σ_runs ms per step · margin``.
The GAN-test classifier (VGG-11) is counted at the baseline's step cost. Prints the epochs
(at least 1) and, on stderr, the sum it came from.
"""

from __future__ import annotations

import argparse
import json
import sys


def epochs_that_fit(records: list[dict], seconds: float, steps: int, margin: float) -> int:
    """``floor((seconds − slowest first call) / (steps · Σ s per step · margin))``, at least 1;
    the baseline's step counted twice (itself and the classifier)."""
    by_objective = {r["objective"]: r for r in records}
    per_step = sum(r["ms_per_step"] for r in records) + by_objective["baseline"]["ms_per_step"]
    first_call = max(r["first_call_seconds"] for r in records)
    epoch = steps * per_step / 1e3 * margin
    print(
        f"{seconds:.0f} s: first call {first_call:.0f} s, an epoch of all runs {epoch:.1f} s",
        file=sys.stderr,
    )
    return max(1, int((seconds - first_call) // epoch))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step_cost", help="step_cost.py's output (one JSON object a line)")
    parser.add_argument("seconds", type=float)
    parser.add_argument("--steps", type=int, default=390, help="steps per epoch")
    parser.add_argument(
        "--margin", type=float, default=1.2, help="for batch gathering and per-epoch evaluation"
    )
    args = parser.parse_args(argv)
    with open(args.step_cost) as f:
        records = [json.loads(line) for line in f if line.startswith("{")]
    print(epochs_that_fit(records, args.seconds, args.steps, args.margin))


if __name__ == "__main__":
    main()
