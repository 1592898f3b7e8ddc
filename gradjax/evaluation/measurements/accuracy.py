"""Test accuracy of every run on the whole test split, with 95% Wilson intervals, and each
run's difference to the reference (baseline) model on the same images: paired bootstrap
interval and exact McNemar test."""

from __future__ import annotations

import dataclasses

from gradjax.evaluation.claims import Verdict
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.report_format import interval, pct_interval, verdict_cell
from gradjax.evaluation.stats import accuracy_difference, proportion
from gradjax.paper import TABLE1
from gradjax.training.accuracy import make_eval_step, score_split


@dataclasses.dataclass(frozen=True)
class Settings:
    """No constants: the whole test split, in batches of ``common.batch_size``."""


def measure(ctx: EvalContext, settings: Settings) -> Result:
    data = ctx.dataset
    scores = {
        run.name: score_split(
            make_eval_step(run.apply_fn),
            run.params,
            data.test_images,
            data.test_labels,
            ctx.common.batch_size,
        )
        for run in ctx.runs
    }
    reference = scores[ctx.reference.name]
    runs = {name: {**proportion(s.correct), "ce": s.mean_ce} for name, s in scores.items()}
    differences = {
        name: accuracy_difference(s.correct, reference.correct, seed=ctx.common.seed)
        for name, s in scores.items()
        if name != ctx.reference.name
    }
    metrics = {"reference": ctx.reference.name, "runs": runs, "difference": differences}
    return Result(metrics, artifacts={"correct": {n: s.correct for n, s in scores.items()}})


def report(metrics: dict) -> list[str]:
    ref = metrics["reference"]
    lines = [
        f"Whole test split ({next(iter(metrics['runs'].values()))['n']} images); differences "
        f"to {ref!r} are paired (same images).",
        "",
        "| model | accuracy (%) [95% CI] | test CE | Δ vs reference (points) [95% CI] "
        "| McNemar p | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for name, run in metrics["runs"].items():
        diff = metrics["difference"].get(name)
        cells = [name, pct_interval(run), f"{run['ce']:.4f}"]
        if diff is None:
            cells += ["(reference)", "", ""]
        else:
            cells += [interval(diff, scale=100), f"{diff['mcnemar_p']:.3g}", verdict_cell(diff)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def quantities(metrics: dict) -> dict:
    """``{"accuracy": {run: {"value", "image", "difference"}}}``: each run's accuracy, its
    interval and its paired difference to the reference."""
    return {
        "accuracy": {
            name: {
                "value": run["value"],
                "image": run,
                "difference": metrics["difference"].get(name),
            }
            for name, run in metrics["runs"].items()
        }
    }


VERDICTS = tuple(
    Verdict(
        "accuracy",
        f"{objective}: test accuracy lower than the baseline's",
        "accuracy",
        objective,
        -1,
        scale=100,
        unit=" points",
        paper=f"{TABLE1[objective].accuracy - TABLE1['baseline'].accuracy:+.2f} points",
    )
    for objective in ("score-matching", "gradient-norm", "anti-score-matching")
)
