"""Infidelity and max-sensitivity (Yeh et al., 2019) of every saliency method on every model:
how well each attribution, read as a linear model, predicts the logit's change under Gaussian
perturbations (relative infidelity, the fraction left unexplained), and how much it moves under
tiny uniform input changes (relative max-sensitivity). Lower is better for both. Definitions in
:mod:`gradjax.evaluation.maths.infidelity`."""

from __future__ import annotations

import dataclasses
import functools

import jax
import numpy as np
from tqdm.auto import tqdm

from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.maths.infidelity import infidelity, max_sensitivity
from gradjax.evaluation.report_format import interval, table_head
from gradjax.evaluation.saliency_methods import (
    SALIENCY_METHODS,
    SaliencyOptions,
    compute_attribution,
)
from gradjax.evaluation.stats import mean_interval

attribution_fn = jax.jit(compute_attribution, static_argnums=(0, 1, 6))


@functools.partial(jax.jit, static_argnums=(0, 5))
def infidelity_fn(apply_fn, params, x, y, attribution, num_perturbations, noise, key):
    return infidelity(
        functools.partial(apply_fn, params),
        x,
        y,
        attribution,
        key,
        num_perturbations=num_perturbations,
        noise=noise,
        relative=True,
    )


@functools.partial(jax.jit, static_argnums=(0, 1, 5, 6))
def sensitivity_fn(method, apply_fn, params, x, y, options, num_samples, radius, key):
    # The method's own randomness (SmoothGrad family) is fixed: only the input moves.
    method_key, draw_key = jax.random.split(key)
    return max_sensitivity(
        lambda z: compute_attribution(method, apply_fn, params, z, y, method_key, options),
        x,
        draw_key,
        num_samples=num_samples,
        radius=radius,
    )


@dataclasses.dataclass(frozen=True)
class Settings:
    num_examples: int = 250  # test images (the first of the shared draw)
    methods: tuple[str, ...] = tuple(SALIENCY_METHODS)
    saliency: SaliencyOptions = SaliencyOptions()
    infidelity_perturbations: int = 32
    infidelity_noise: float = 0.1  # std of I, input units (pixels in [0, 1])
    sensitivity_samples: int = 10
    sensitivity_radius: float = 0.02  # L∞ radius, input units (Captum's default)


def measure(ctx: EvalContext, settings: Settings) -> Result:
    x, y = (a[: settings.num_examples] for a in ctx.test_examples)
    runs = {}
    total = len(ctx.runs) * len(settings.methods)
    with tqdm(
        total=total, desc="attribution quality", leave=False, disable=not ctx.progress
    ) as bar:
        for run in ctx.runs:
            runs[run.name] = {}
            for method in settings.methods:
                infid, sens = [], []
                for i, (xb, yb) in enumerate(ctx.batches(x, y)):
                    key = jax.random.fold_in(jax.random.fold_in(ctx.key, 11), i)
                    a = attribution_fn(
                        method, run.apply_fn, run.params, xb, yb, key, settings.saliency
                    )
                    infid.append(
                        infidelity_fn(
                            run.apply_fn,
                            run.params,
                            xb,
                            yb,
                            a,
                            settings.infidelity_perturbations,
                            settings.infidelity_noise,
                            jax.random.fold_in(key, 1),
                        )
                    )
                    sens.append(
                        sensitivity_fn(
                            method,
                            run.apply_fn,
                            run.params,
                            xb,
                            yb,
                            settings.saliency,
                            settings.sensitivity_samples,
                            settings.sensitivity_radius,
                            key,
                        )
                    )
                runs[run.name][method] = {
                    "infidelity": mean_interval(np.concatenate([np.asarray(v) for v in infid])),
                    "max_sensitivity": mean_interval(np.concatenate([np.asarray(v) for v in sens])),
                }
                bar.update(1)
    return Result({"num_examples": int(len(x)), "settings": _settings(settings), "runs": runs})


def _settings(settings: Settings) -> dict:
    return {
        k: v
        for k, v in dataclasses.asdict(settings).items()
        if k not in ("methods", "saliency", "num_examples")
    }


def report(metrics: dict) -> list[str]:
    s = metrics["settings"]
    methods = list(next(iter(metrics["runs"].values())))
    lines = [
        f"{metrics['num_examples']} test images, mean with 95% CI; lower is better for both.",
        f"Relative infidelity: fraction of f_y(x) − f_y(x − I) left unexplained by the "
        f"best-scaled ⟨I, Φ(x)⟩, I ~ N(0, {s['infidelity_noise']:g}²), "
        f"{s['infidelity_perturbations']} draws. Relative max-sensitivity: "
        f"max ‖Φ(x + δ) − Φ(x)‖ / ‖Φ(x)‖ over {s['sensitivity_samples']} draws of δ uniform "
        f"in [−{s['sensitivity_radius']:g}, {s['sensitivity_radius']:g}]^D.",
    ]
    for key, title in (
        ("infidelity", "Relative infidelity"),
        ("max_sensitivity", "Max-sensitivity"),
    ):
        lines += [
            "",
            f"{title}:",
            "",
            *table_head(["model", *methods]),
        ]
        for name, table in metrics["runs"].items():
            cells = " | ".join(interval(table[m][key]) for m in methods)
            lines.append(f"| {name} | {cells} |")
    return lines
