"""Where anti-score-matching's clamp acts, over training: at every epoch checkpoint of each run,
the training estimator's per-example estimates of ``h = tr ∇²x f_y`` on training images, and
the share of them that reach the threshold ``τ``.

Anti-score-matching minimises ``CE − λ·mean(min(h, τ))`` over per-example estimates (paper §5,
``τ = 1000``), so an example whose estimate is ``≥ τ`` gives the term no gradient: where the
share is near 1 the run trains on the baseline's objective. Estimates are drawn as in training
(by default the Taylor estimator, ``σ = 0.1``, one perturbation per estimate), ``num_draws``
independent ones per image, on ``num_examples`` training images drawn with the common seed,
without augmentation. Every run is measured the same way and with the same noise, so the
baseline shows where ``h`` lies without the term.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from gradjax.core.estimators import make_trace_fn
from gradjax.core.gradients import select_logits
from gradjax.evaluation import figures
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.measurements.score_matching_objective import H_PERCENTILES
from gradjax.evaluation.report_format import epoch_table
from gradjax.evaluation.stats import wilson_interval
from gradjax.paper import TAU
from gradjax.training.batches import draw_examples


@dataclasses.dataclass(frozen=True)
class Settings:
    tau: float = TAU  # the paper's threshold (§5)
    # The estimator as the objective draws it in training (the paper's: Taylor, σ = 0.1).
    estimator: str = "taylor"
    sigma: float = 0.1
    num_samples: int = 1  # perturbations averaged into one estimate
    num_draws: int = 4  # independent estimates per image
    num_examples: int = 500  # training images


@functools.partial(jax.jit, static_argnums=(0, 5, 6, 7, 8))
def estimates_fn(apply_fn, params, x, y, key, estimator, sigma, num_samples, num_draws):
    """``(num_draws, B)`` independent estimates of ``h`` for each example of ``(x, y)``."""
    trace_fn = make_trace_fn(estimator, sigma=sigma, num_samples=num_samples)

    def fn(z):
        return select_logits(apply_fn(params, z), y)

    fx = fn(x)
    # A Python loop: num_draws is small, and XLA:CPU runs a conv net slowly inside a while loop.
    return jnp.stack([trace_fn(fn, x, k, fx) for k in jax.random.split(key, num_draws)])


def _epoch_estimates(ctx: EvalContext, run, step: int, x, y, settings: Settings) -> np.ndarray:
    params = run.rundir.restore_params(step)
    parts = [
        estimates_fn(
            run.apply_fn,
            params,
            xb,
            yb,
            # The same noise for every run and epoch: their differences are paired.
            jax.random.fold_in(jax.random.fold_in(ctx.key, 23), i),
            settings.estimator,
            settings.sigma,
            settings.num_samples,
            settings.num_draws,
        )
        for i, (xb, yb) in enumerate(ctx.batches(x, y))
    ]
    return np.concatenate([np.asarray(p) for p in parts], axis=1)


def _share_interval(per_image: np.ndarray) -> dict[str, np.ndarray]:
    """Mean over images of ``per_image (E, N)`` shares, with a Wilson 95% interval per row
    counting images as the independent units (draws of one image are not): it stays inside
    [0, 1] and is not empty at a share of 0 or 1."""
    n = per_image.shape[1]
    bounds = np.asarray([wilson_interval(float(row.sum()), n) for row in per_image])
    return {"value": per_image.mean(1), "low": bounds[:, 0], "high": bounds[:, 1], "n": n}


def measure(ctx: EvalContext, settings: Settings) -> Result:
    if settings.num_draws < 1 or settings.num_examples < 2:
        raise ValueError(
            f"clamp needs num_draws ≥ 1 and num_examples ≥ 2, got {settings.num_draws} and "
            f"{settings.num_examples}."
        )
    data = ctx.dataset
    x, y = draw_examples(
        data.train_images, data.train_labels, settings.num_examples, ctx.common.seed
    )
    x, y = jnp.asarray(x), jnp.asarray(y)
    runs = {}
    for run in ctx.runs:
        steps = run.epoch_steps
        above, percentiles = [], []
        for step in tqdm(steps, desc=f"clamp {run.name}", leave=False, disable=not ctx.progress):
            h = ctx.memo(
                f"{run.name}/{step}",
                functools.partial(_epoch_estimates, ctx, run, step, x, y, settings),
                settings=settings,
                runs=[run],
            )
            # Per image, the share of its draws at or above τ; then its mean over images. The
            # percentiles (over images and draws) are score-matching-objective's.
            above.append(np.mean(h >= settings.tau, axis=0))
            percentiles.append(np.percentile(h, H_PERCENTILES))
        if steps:
            runs[run.name] = {
                "steps": steps,
                "epochs": list(run.epoch_checkpoints),
                "above_tau": _share_interval(np.asarray(above)),
                "h_percentiles": dict(
                    zip(map(str, H_PERCENTILES), np.asarray(percentiles).T, strict=True)
                ),
            }
    metrics = {
        "tau": settings.tau,
        "estimator": f"{settings.estimator}, σ = {settings.sigma:g}, "
        f"{settings.num_samples} perturbation(s) per estimate",
        "num_examples": int(len(x)),
        "num_draws": settings.num_draws,
        "runs": runs,  # runs without an epoch checkpoint left out
    }
    return Result(metrics, [_figure(ctx, runs, settings.tau)])


def _figure(ctx: EvalContext, runs: dict, tau: float):
    share = {
        name: {
            "x": np.asarray(r["epochs"]),
            "mean": 100 * r["above_tau"]["value"],
            "low": 100 * r["above_tau"]["low"],
            "high": 100 * r["above_tau"]["high"],
        }
        for name, r in runs.items()
    }
    return figures.line_plot(
        ctx.out / "clamp.png",
        None,
        share,
        xlabel="epoch",
        ylabel=f"% of training-image estimates of h ≥ τ = {tau:g}",
        title="Where anti-score-matching's clamp stops its gradient",
    )


def report(metrics: dict) -> list[str]:
    def cell(name, r, i):
        share = {k: 100 * r["above_tau"][k][i] for k in ("value", "low", "high")}
        return (
            f"{share['value']:.1f}% [{share['low']:.1f}, {share['high']:.1f}], "
            f"median {r['h_percentiles']['50'][i]:.3g}"
        )

    return [
        f"Per-example estimates of h ({metrics['estimator']}; {metrics['num_draws']} draws on "
        f"each of {metrics['num_examples']} training images, no augmentation) after each epoch: "
        f"the share ≥ τ = {metrics['tau']:g}, where anti-score-matching's term has no "
        "gradient (Wilson 95% interval, images as the units), and the median estimate.",
        "",
        *epoch_table(metrics["runs"], cell),
    ]
