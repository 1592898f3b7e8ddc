"""The score-matching objective on held-out images, measured independently of how each model
was trained: per test image the Hessian trace ``h = tr ∇²x f_y`` (exact when the input has at
most ``exact_max_dim`` entries, else Hutchinson with ``num_probes`` gaussian probes, its
standard error reported), ``½‖∇x f_y‖²`` and their sum ``J`` (the paper's eq. 4 without μh²).
Lower ``J`` is better score-matching. Also, from each run's training log: its ``h`` trajectory
(the training estimator's own, noisy, values; figure) and its mean seconds per epoch after the
first (compilation), which measure step cost only as well as the machine was quiet.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from gradjax.core.gradients import logit_gradients, select_logits
from gradjax.core.trace import hessian_trace, hutchinson_trace
from gradjax.evaluation import figures
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.report_format import MISSING, interval, verdict_cell
from gradjax.evaluation.stats import mean_interval, paired_difference


@dataclasses.dataclass(frozen=True)
class Settings:
    num_examples: int = 500  # test images (the first of the shared draw)
    exact_max_dim: int = 256  # exact trace up to this many input entries
    num_probes: int = 16
    # Also compare every run's J with this run's, paired (e.g. the paper's estimator).
    compare_to: str | None = None


# Percentiles of the per-image h reported beside its mean.
H_PERCENTILES = (5, 50, 95)


def _terms(apply_fn, params, x, y, key, exact: bool, num_probes: int):
    """Per-example ``(h, h_stderr, ½‖∇f_y‖²)`` of one batch, each ``(B,)``."""

    def fn(z):
        return select_logits(apply_fn(params, z), y)

    if exact:
        h, stderr = hessian_trace(fn, x), jnp.zeros(x.shape[0])
    else:
        h, stderr = hutchinson_trace(fn, x, key, num_samples=num_probes, return_stderr=True)
    g = logit_gradients(lambda z: apply_fn(params, z), x, y).reshape(x.shape[0], -1)
    return h, stderr, 0.5 * jnp.sum(g**2, axis=1)


terms_fn = jax.jit(_terms, static_argnums=(0, 5, 6))


def measure(ctx: EvalContext, settings: Settings) -> Result:
    x, y = (a[: settings.num_examples] for a in ctx.test_examples)
    exact = math.prod(x.shape[1:]) <= settings.exact_max_dim
    per_image = {}
    for run in ctx.runs:
        parts = [
            terms_fn(
                run.apply_fn,
                run.params,
                xb,
                yb,
                jax.random.fold_in(jax.random.fold_in(ctx.key, 17), i),
                exact,
                settings.num_probes,
            )
            for i, (xb, yb) in enumerate(ctx.batches(x, y))
        ]
        h, stderr, half_sq = (np.concatenate([np.asarray(p[k]) for p in parts]) for k in range(3))
        per_image[run.name] = {"h": h, "stderr": stderr, "half_grad_sq": half_sq}
    ref = ctx.reference.name
    runs = {}
    for run in ctx.runs:
        name, t = run.name, per_image[run.name]
        objective = t["h"] + t["half_grad_sq"]
        runs[name] = {
            "h": mean_interval(t["h"]),
            "half_grad_sq": mean_interval(t["half_grad_sq"]),
            "objective": mean_interval(objective),
            "median_h_stderr": float(np.median(t["stderr"])),
            # The spread over images, e.g. against anti-score-matching's clamp τ on h.
            "h_percentiles": {
                str(q): float(v)
                for q, v in zip(H_PERCENTILES, np.percentile(t["h"], H_PERCENTILES), strict=True)
            },
            "seconds_per_epoch": _seconds_per_epoch(run),
        }
        for key, other in (("objective_difference", ref), ("compared", settings.compare_to)):
            if other in per_image and other != name:
                against = per_image[other]["h"] + per_image[other]["half_grad_sq"]
                runs[name][key] = paired_difference(objective, against, seed=ctx.common.seed)
    metrics = {
        "num_examples": int(len(x)),
        "trace": "exact" if exact else f"hutchinson, {settings.num_probes} probes",
        "reference": ref,
        "compare_to": settings.compare_to if settings.compare_to in per_image else None,
        "runs": runs,
    }
    return Result(metrics, [_h_figure(ctx)])


def _seconds_per_epoch(run) -> float | None:
    seconds = [e["epoch_seconds"] for e in run.rundir.epoch_records()[1:] if "epoch_seconds" in e]
    return float(np.mean(seconds)) if seconds else None


def _h_figure(ctx: EvalContext):
    """The training estimator's h as logged, one line per run on its own steps, up to the
    checkpoint evaluated (a run evaluated at an earlier epoch stops there)."""
    curves = {}
    for run in ctx.runs:
        last = run.epoch_steps[-1] if run.epoch is not None else np.inf
        logged = [
            (r["step"], r["h"])
            for r in run.rundir.metrics()
            if r.get("kind") == "train" and "h" in r and r["step"] <= last
        ]
        if logged:
            steps, h = np.asarray(logged, np.float64).T
            curves[run.name] = {"mean": h, "x": steps}
    return figures.line_plot(
        ctx.out / "training_h.png",
        None,
        curves,
        xlabel="training step",
        ylabel="h on the training batch (training estimator)",
        title="Hessian trace during training",
    )


def report(metrics: dict) -> list[str]:
    ref, other = metrics["reference"], metrics.get("compare_to")
    lines = [
        f"{metrics['num_examples']} test images; trace {metrics['trace']} (independent of the "
        f"training estimator). J = h + ½‖∇x f_y‖², lower is better score-matching; Δ vs "
        f"{ref!r} paired. s/epoch: mean wall time per training epoch after the first.",
        "",
        "| model | h | h: 5 / 50 / 95% of images | ½‖∇x f_y‖² | J | Δ J vs reference | verdict "
        "| median stderr(h) | s/epoch |" + (f" Δ J vs {other} | verdict |" if other else ""),
        "|---|---|---|---|---|---|---|---|---|" + ("---|---|" if other else ""),
    ]
    for name, r in metrics["runs"].items():
        d = r.get("objective_difference")
        diff = [interval(d), verdict_cell(d)] if d else ["(reference)", ""]
        seconds = r["seconds_per_epoch"]
        cells = [
            name,
            interval(r["h"]),
            " / ".join(f"{v:.3g}" for v in r["h_percentiles"].values()),
            interval(r["half_grad_sq"]),
            interval(r["objective"]),
            *diff,
            f"{r['median_h_stderr']:.3g}",
            MISSING if seconds is None else f"{seconds:.3g}",
        ]
        if other:
            c = r.get("compared")
            cells += [interval(c), verdict_cell(c)] if c else [MISSING, ""]
        lines.append("| " + " | ".join(cells) + " |")
    return lines
