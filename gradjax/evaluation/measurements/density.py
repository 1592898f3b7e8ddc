"""Density ratios ``f_y(x + η) − f_y(x)`` over noise levels (the paper's Fig. 1), with 95%
intervals on the means and paired differences to the reference model (same images, same noise).

The headline is σ = 0.5, not the Taylor estimator's training σ (0.1): there
``E[f(x+η) − f(x)] ≈ σ²/2·E[tr ∇²f_y]``, exactly the curvature score-matching minimises, so a
steeper ratio at that σ restates the training objective rather than testing the density.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from gradjax.evaluation import figures
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.density import check_sigmas, density_ratios
from gradjax.evaluation.report_format import interval, verdict_cell
from gradjax.evaluation.stats import mean_interval, paired_difference


@dataclasses.dataclass(frozen=True)
class Settings:
    sigmas: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
    headline_sigma: float = 0.5


def ratios_of(ctx: EvalContext, logits_fn, x, y, sigmas) -> np.ndarray:
    """``(S, N)`` per-example ratios over the batches of ``x``; batch ``i`` uses the noise of
    ``fold_in(ctx.key, i)``, the same for every model."""
    ratio_fn = jax.jit(lambda xb, yb, k: density_ratios(logits_fn, xb, yb, k, sigmas))
    parts = [
        np.asarray(ratio_fn(xb, yb, jax.random.fold_in(ctx.key, i)))
        for i, (xb, yb) in enumerate(ctx.batches(x, y))
    ]
    return np.concatenate(parts, axis=1)


def measure(ctx: EvalContext, settings: Settings) -> Result:
    sigmas = check_sigmas(settings.sigmas)
    x, y = ctx.test_examples
    ratios = {run.name: ratios_of(ctx, run.logits_fn(), x, y, sigmas) for run in ctx.runs}
    reference = ratios[ctx.reference.name]
    runs = {}
    for name, r in ratios.items():
        q25, median, q75 = np.percentile(r, [25, 50, 75], axis=1)
        runs[name] = {**mean_interval(r), "q25": q25, "median": median, "q75": q75}
    differences = {
        name: paired_difference(r, reference, seed=ctx.common.seed)
        for name, r in ratios.items()
        if name != ctx.reference.name
    }
    positive = sigmas > 0
    figure = figures.line_plot(
        ctx.out / "density_ratio.png",
        sigmas[positive],
        {
            n: {"mean": r["value"][positive], "low": r["q25"][positive], "high": r["q75"][positive]}
            for n, r in runs.items()
        },
        xlabel="noise σ",
        ylabel="f_y(x+η) − f_y(x)  (mean, quartile band)",
        title="Density ratio of noisy to clean test images",
        xscale="log",
    )
    metrics = {
        "sigmas": sigmas,
        "headline_sigma": settings.headline_sigma,
        "reference": ctx.reference.name,
        "runs": runs,
        "difference": differences,
    }
    return Result(metrics, [figure])


def at_sigma(record: dict, sigmas, sigma: float) -> dict:
    """The entries of an interval record at the grid σ closest to ``sigma``."""
    i = int(np.argmin(np.abs(np.asarray(sigmas) - sigma)))
    return {k: (v[i] if isinstance(v, list | np.ndarray) else v) for k, v in record.items()}


def report(metrics: dict) -> list[str]:
    sigma = metrics["headline_sigma"]
    ref = metrics["reference"]
    lines = [
        f"Mean f_y(x+η) − f_y(x) at σ = {sigma:g} over {metrics['runs'][ref]['n']} test images "
        "(95% CI); negative: noisy images are less likely than clean ones. Differences to "
        f"{ref!r} are paired (same images and noise); negative: steeper than the reference.",
        "",
        f"| model | mean ratio, σ = {sigma:g} | Δ vs reference | verdict | mean ratio, σ = 0.1 "
        "(training σ, circular) |",
        "|---|---|---|---|---|",
    ]
    for name, run in metrics["runs"].items():
        head = at_sigma(run, metrics["sigmas"], sigma)
        diff = metrics["difference"].get(name)
        cells = [name, interval(head)]
        if diff is None:
            cells += ["(reference)", ""]
        else:
            d = at_sigma(diff, metrics["sigmas"], sigma)
            cells += [interval(d), verdict_cell(d, higher="flatter", lower="steeper")]
        cells.append(interval(at_sigma(run, metrics["sigmas"], 0.1)))
        lines.append("| " + " | ".join(cells) + " |")
    return lines
