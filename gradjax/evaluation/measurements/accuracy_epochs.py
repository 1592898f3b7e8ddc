"""Test accuracy at every epoch checkpoint of each run, and each run's difference to the
reference model at the same epoch, paired on the same images: when during training two
objectives differ, and whether a difference at the end was there earlier, or closed.

At each epoch: a Wilson 95% interval on the accuracy; the difference's paired-bootstrap 95%
interval and exact McNemar p (as :mod:`~gradjax.evaluation.measurements.accuracy`). Only
epochs the reference has a checkpoint of are compared. Where the reference was also trained with
another seed (:mod:`gradjax.evaluation.seeds`), that pair's difference at each epoch is the
yardstick the report holds the others' against.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
from tqdm.auto import tqdm

from gradjax.evaluation import figures
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.report_format import epoch_table
from gradjax.evaluation.seeds import seed_partner, within_seed_spread
from gradjax.evaluation.stats import accuracy_difference, excludes_zero, proportion
from gradjax.training.accuracy import make_eval_step, score_split


@dataclasses.dataclass(frozen=True)
class Settings:
    # Epochs to measure; None: every epoch checkpoint kept.
    epochs: tuple[int, ...] | None = None


def _correct(ctx: EvalContext, eval_step, run, step: int) -> np.ndarray:
    """``(N,)`` bool: which test images the run's checkpoint at ``step`` gets right."""
    params = run.rundir.restore_params(step)
    data = ctx.dataset
    scores = score_split(
        eval_step, params, data.test_images, data.test_labels, ctx.common.batch_size
    )
    return scores.correct


def _per_epoch(ctx: EvalContext, run, settings: Settings) -> dict[int, np.ndarray]:
    wanted = {
        e: s
        for e, s in run.epoch_checkpoints.items()
        if settings.epochs is None or e in settings.epochs
    }
    eval_step = make_eval_step(run.apply_fn)
    return {
        epoch: ctx.memo(
            f"{run.name}/{step}",
            functools.partial(_correct, ctx, eval_step, run, step),
            settings=settings,
            runs=[run],
        )
        for epoch, step in tqdm(
            wanted.items(),
            desc=f"accuracy/epochs {run.name}",
            leave=False,
            disable=not ctx.progress,
        )
    }


def measure(ctx: EvalContext, settings: Settings) -> Result:
    correct = {run.name: _per_epoch(ctx, run, settings) for run in ctx.runs}
    ref = ctx.reference.name
    runs = {}
    for name, by_epoch in correct.items():
        epochs = sorted(by_epoch)
        record = {
            "epochs": epochs,
            "accuracy": [proportion(by_epoch[e]) for e in epochs],
        }
        if name != ref:
            paired = [e for e in epochs if e in correct[ref]]
            record["difference"] = {
                "epochs": paired,
                "by_epoch": [
                    accuracy_difference(by_epoch[e], correct[ref][e], seed=ctx.common.seed)
                    for e in paired
                ],
            }
        runs[name] = record
    partner = seed_partner({r.name: dataclasses.asdict(r.config) for r in ctx.runs}, ref)
    metrics = {"reference": ref, "seed_partner": partner, "runs": runs}
    return Result(metrics, [_figure(ctx, runs, ref)])


def _figure(ctx: EvalContext, runs: dict, ref: str):
    curves = {}
    for name, r in runs.items():
        d = r.get("difference")
        if d and d["epochs"]:
            curves[name] = {
                "x": np.asarray(d["epochs"]),
                **{
                    key: 100 * np.asarray([b[k] for b in d["by_epoch"]])
                    for key, k in (("mean", "value"), ("low", "low"), ("high", "high"))
                },
            }
    return figures.line_plot(
        ctx.out / "accuracy_epochs.png",
        None,
        curves,
        xlabel="epoch",
        ylabel=f"test accuracy − {ref}'s at the same epoch (points)",
        title="Accuracy differences over training (paired, 95%)",
    )


def report(metrics: dict) -> list[str]:
    ref, runs = metrics["reference"], metrics["runs"]

    def cell(name, r, i):
        text = f"{100 * r['accuracy'][i]['value']:.2f}"
        b = _by_epoch(r).get(r["epochs"][i])
        if b is not None:
            text += (
                f", Δ {100 * b['value']:+.2f} [{100 * b['low']:+.2f}, {100 * b['high']:+.2f}]"
                + ("*" if _excludes_zero(b) else "")
            )
        return text

    return [
        f"Test accuracy (%) after each epoch, and the difference to {ref!r} at the same epoch "
        "in points, paired on the same images (bootstrap 95% interval; * where it excludes 0).",
        "",
        *epoch_table(runs, cell),
        *_yardstick_lines(ref, metrics.get("seed_partner"), runs),
    ]


def _excludes_zero(d: dict) -> bool:
    return excludes_zero(d["low"], d["high"])


def _by_epoch(run: dict) -> dict[int, dict]:
    d = run.get("difference", {"epochs": [], "by_epoch": []})
    return dict(zip(d["epochs"], d["by_epoch"], strict=True))


def _yardstick_lines(ref: str, partner: str | None, runs: dict) -> list[str]:
    """Each run's epochs whose difference excludes 0 and exceeds the seed pair's there."""
    if partner is None or partner not in runs:
        return []
    seeds = _by_epoch(runs[partner])
    if not seeds:
        return []
    widest = max(seeds, key=lambda e: abs(seeds[e]["value"]))
    lines = [
        "",
        f"Yardstick: {partner!r} is {ref!r} trained with another seed; their difference reaches "
        f"{100 * seeds[widest]['value']:+.2f} points (epoch {widest}) and excludes 0 at "
        f"{sum(map(_excludes_zero, seeds.values()))} of {len(seeds)} epochs. "
        "Epochs at which a run's difference excludes 0 and is larger than the two seeds' at the "
        "same epoch:",
        "",
    ]
    for name, run in runs.items():
        if name in (ref, partner):
            continue
        beyond = [
            e
            for e, b in _by_epoch(run).items()
            if e in seeds and _excludes_zero(b) and not within_seed_spread(b, seeds[e])
        ]
        epochs = "epoch" + ("s" if len(beyond) > 1 else "")
        lines.append(
            f"* {name}: {epochs} {', '.join(map(str, beyond))}" if beyond else f"* {name}: none"
        )
    return lines
