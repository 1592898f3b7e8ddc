"""Density ratios ``f_y(x + η) − f_y(x)`` over noise levels (the paper's Fig. 1), as the
paper's statistic ``log E[exp(f_y(x + η) − f_y(x))]`` (§5.1.1; bootstrap 95% interval over the
images) and as the mean log-ratio ``E[f_y(x + η) − f_y(x)]`` beside it (normal interval), each
with paired differences to the reference model (same images, same noise). The per-image
log-ratios are kept (``per_image.json``) so that either statistic can be recomputed.

The paper's statistic is dominated by the images whose ratio is largest: a model may prefer
noisy versions of a few images (a positive log mean ratio) while the typical image's noisy
version is less likely (a negative mean log-ratio).

The headline is σ = 0.5, not the Taylor estimator's training σ (0.1): there
``E[f(x+η) − f(x)] ≈ σ²/2·E[tr ∇²f_y]``, exactly the curvature score-matching minimises, so a
steeper ratio at that σ restates the training objective rather than testing the density.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from gradjax.evaluation import figures
from gradjax.evaluation.claims import Verdict
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.maths.density_ratios import check_sigmas, density_ratios
from gradjax.evaluation.report_format import interval, verdict_cell
from gradjax.evaluation.stats import (
    bootstrap_interval,
    log_mean_exp,
    mean_interval,
    paired_difference,
)


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


def _statistics(ratios: np.ndarray, seed: int) -> dict:
    """Both statistics of ``(S, N)`` per-image log-ratios at every σ: the paper's
    ``log E[exp r]`` with a bootstrap interval, and the mean log-ratio with a normal one,
    beside the quartiles."""
    q25, median, q75 = np.percentile(ratios, [25, 50, 75], axis=1)
    return {
        **mean_interval(ratios),
        "q25": q25,
        "median": median,
        "q75": q75,
        "log_mean_ratio": bootstrap_interval(ratios, statistic=log_mean_exp, seed=seed),
    }


def _difference(a: np.ndarray, b: np.ndarray, seed: int) -> dict:
    """Paired differences of both statistics (same images, same noise)."""
    return {
        **paired_difference(a, b, seed=seed),
        "log_mean_ratio": paired_difference(a, b, statistic=log_mean_exp, seed=seed),
    }


def measure(ctx: EvalContext, settings: Settings) -> Result:
    sigmas = check_sigmas(settings.sigmas)
    x, y = ctx.test_examples
    ratios = {run.name: ratios_of(ctx, run.logits_fn(), x, y, sigmas) for run in ctx.runs}
    seed, ref = ctx.common.seed, ctx.reference.name
    runs = {name: _statistics(r, seed) for name, r in ratios.items()}
    differences = {
        name: _difference(r, ratios[ref], seed) for name, r in ratios.items() if name != ref
    }
    positive = sigmas > 0
    figure = figures.line_plot(
        ctx.out / "density_ratio.png",
        sigmas[positive],
        {
            n: {
                "mean": r["log_mean_ratio"]["value"][positive],
                "low": r["log_mean_ratio"]["low"][positive],
                "high": r["log_mean_ratio"]["high"][positive],
            }
            for n, r in runs.items()
        },
        xlabel="noise σ",
        ylabel="log E[exp(f_y(x+η) − f_y(x))]  (95% CI)",
        title="Density ratio of noisy to clean test images (the paper's statistic)",
        xscale="log",
    )
    metrics = {
        "sigmas": sigmas,
        "headline_sigma": settings.headline_sigma,
        "reference": ref,
        "runs": runs,
        "difference": differences,
    }
    per_image = {f"{name}/log_ratio": r for name, r in ratios.items()}
    return Result(metrics, [figure], per_image=per_image)


def at_sigma(record: dict, sigmas, sigma: float) -> dict:
    """The entries of an interval record (nested ones too) at the grid σ closest to ``sigma``."""
    i = int(np.argmin(np.abs(np.asarray(sigmas) - sigma)))

    def pick(value):
        if isinstance(value, dict):
            return {k: pick(v) for k, v in value.items()}
        return value[i] if isinstance(value, list | np.ndarray) else value

    return pick(record)


def paper_statistic(record: dict) -> dict:
    """The paper's ``log E[exp r]`` entry of a density record (run or difference), at one σ."""
    return record["log_mean_ratio"]


def report(metrics: dict) -> list[str]:
    sigma = metrics["headline_sigma"]
    ref = metrics["reference"]
    sigmas = metrics["sigmas"]
    lines = [
        f"At σ = {sigma:g}, over {metrics['runs'][ref]['n']} test images (95% CI): the paper's "
        "statistic log E[exp(f_y(x+η) − f_y(x))] and the mean log-ratio E[f_y(x+η) − f_y(x)]. "
        "Negative: noisy images are less likely than clean ones. Differences to "
        f"{ref!r} are paired (same images and noise); negative: steeper than the reference. "
        "The last column is at the Taylor estimator's training σ = 0.1, where score-matching "
        "was trained to lower the ratio (circular).",
        "",
        f"| model | log mean ratio, σ = {sigma:g} | Δ vs reference | verdict "
        "| mean log-ratio | Δ vs reference | log mean ratio, σ = 0.1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, run in metrics["runs"].items():
        head = at_sigma(run, sigmas, sigma)
        diff = metrics["difference"].get(name)
        cells = [name, interval(paper_statistic(head))]
        if diff is None:
            cells += ["(reference)", "", interval(head), "(reference)"]
        else:
            d = at_sigma(diff, sigmas, sigma)
            cells += [
                interval(paper_statistic(d)),
                verdict_cell(paper_statistic(d), higher="flatter", lower="steeper"),
                interval(head),
                interval(d),
            ]
        cells.append(interval(paper_statistic(at_sigma(run, sigmas, 0.1))))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _at(metrics: dict, sigma: float, suffix: str) -> dict:
    """Both statistics at the grid σ nearest ``sigma``, per run (``<statistic><suffix>``)."""
    sigmas = metrics["sigmas"]
    out = {f"log_mean_ratio{suffix}": {}, f"mean_log_ratio{suffix}": {}}
    for name, run in metrics["runs"].items():
        head = at_sigma(run, sigmas, sigma)
        diff = metrics["difference"].get(name)
        diff = diff and at_sigma(diff, sigmas, sigma)
        out[f"mean_log_ratio{suffix}"][name] = {
            "value": head["value"],
            "image": head,
            "difference": diff,
        }
        if "log_mean_ratio" in head:
            paper = head["log_mean_ratio"]
            out[f"log_mean_ratio{suffix}"][name] = {
                "value": paper["value"],
                "image": paper,
                "difference": diff and diff["log_mean_ratio"],
            }
    return {k: v for k, v in out.items() if v}


def quantities(metrics: dict) -> dict:
    """Both statistics, per run, with their intervals and paired differences to the
    reference: ``log_mean_ratio`` (the paper's) and ``mean_log_ratio`` at the headline σ, and
    the same with the suffix ``_sigma1`` at σ = 1, the largest noise of the grid. Evaluations
    written before the paper's statistic was kept have only the mean log-ratio."""
    out = _at(metrics, metrics["headline_sigma"], "")
    if 1.0 in metrics["sigmas"]:
        out |= _at(metrics, 1.0, "_sigma1")
    return out


_HEADLINE = "σ = 0.5"
# Evaluations that kept no per-image values give only the mean log-ratio.
_ONLY_MEAN = "the mean log-ratio: this evaluation kept no per-image values"
VERDICTS = (
    *(
        Verdict(
            "baseline-density",
            f"baseline: noisy images more likely than clean ones, density ratio > 0 ({sigma})",
            f"log_mean_ratio{suffix}",
            None,
            +1,
            beside=f"mean_log_ratio{suffix}",
            fallback=f"mean_log_ratio{suffix}",
            fallback_note=_ONLY_MEAN,
            paper="> 0 (Fig. 1)",
        )
        for sigma, suffix in ((_HEADLINE, ""), ("σ = 1", "_sigma1"))
    ),
    *(
        Verdict(
            "density",
            f"{objective}: density ratio {wording} than the baseline's ({_HEADLINE})",
            "log_mean_ratio",
            objective,
            sign,
            beside="mean_log_ratio",
            fallback="mean_log_ratio",
            fallback_note=_ONLY_MEAN,
            paper=f"{wording} (Fig. 1)",
        )
        for objective, wording, sign in (
            ("score-matching", "steeper", -1),
            ("gradient-norm", "steeper", -1),
            ("anti-score-matching", "flatter", +1),
        )
    ),
)
