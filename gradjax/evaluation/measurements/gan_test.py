"""GAN-test (Shmelkov et al., 2018): accuracy of an independently trained classifier on the
samples of ``samples``, with Wilson intervals, and paired differences to the reference model's
samples (sample ``i`` of every model starts from the same noise with the same class)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from gradjax.accuracy import make_eval_step, score_split
from gradjax.data import slices
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.report_format import interval, pct_interval, verdict_cell
from gradjax.evaluation.stats import paired_difference, proportion


@dataclasses.dataclass(frozen=True)
class Settings:
    """No constants: the samples and the classifier come from ``samples`` and the context."""


def _correct(classifier_fn, x: np.ndarray, y: np.ndarray, batch_size: int) -> np.ndarray:
    return np.concatenate(
        [
            np.asarray(jnp.argmax(classifier_fn(jnp.asarray(xb)), -1)) == yb
            for xb, yb in slices(x, y, size=batch_size)
        ]
    )


def measure(ctx: EvalContext, settings: Settings) -> Result:
    classifier = ctx.classifier
    fn = jax.jit(classifier.logits_fn())
    data = ctx.dataset
    real = score_split(
        make_eval_step(classifier.apply_fn),
        classifier.params,
        data.test_images,
        data.test_labels,
        ctx.common.batch_size,
    )
    samples = ctx.results["samples"].artifacts["samples"]
    correct = {
        name: {kind: _correct(fn, x, y, ctx.common.batch_size) for kind, (x, y) in kinds.items()}
        for name, kinds in samples.items()
    }
    ref = correct[ctx.reference.name]
    metrics = {
        "classifier": {
            "directory": str(classifier.rundir.path),
            "model": classifier.config.model.name,
            "test_accuracy": proportion(real.correct),
        },
        "reference": ctx.reference.name,
        "runs": {n: {k: proportion(c) for k, c in kinds.items()} for n, kinds in correct.items()},
        "difference": {
            n: {k: paired_difference(c, ref[k], seed=ctx.common.seed) for k, c in kinds.items()}
            for n, kinds in correct.items()
            if n != ctx.reference.name
        },
    }
    return Result(metrics)


def report(metrics: dict) -> list[str]:
    c = metrics["classifier"]
    lines = [
        f"Classifier: {c['model']} ({c['directory']}), {pct_interval(c['test_accuracy'])}% on "
        "real test images.",
        "",
        "| model | GAN-test from noise (%) | Δ vs reference (points) | verdict "
        "| GAN-test denoised (%) | Δ vs reference (points) |",
        "|---|---|---|---|---|---|",
    ]
    for name, kinds in metrics["runs"].items():
        diff = metrics["difference"].get(name)
        gen, den = kinds["generated"], kinds["denoised"]
        if diff is None:
            lines.append(
                f"| {name} | {pct_interval(gen)} | (reference) | | {pct_interval(den)} | |"
            )
            continue
        lines.append(
            f"| {name} | {pct_interval(gen)} | {interval(diff['generated'], scale=100)} "
            f"| {verdict_cell(diff['generated'])} | {pct_interval(den)} "
            f"| {interval(diff['denoised'], scale=100)} |"
        )
    return lines
