"""Samples of the implicit densities ``p(x | y) ∝ exp f_y(x)`` by gradient ascent on ``f_y``
(arXiv v1 §4.2.1): from uniform noise, and "denoised" from test images with N(0, 0.1²) noise
(arXiv v1 Fig. 5, thesis Fig. 5.8). The samples are passed to ``gan-test``."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from gradjax.data import to_float
from gradjax.evaluation import figures
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.sampling import gradient_ascent, noisy_start


@dataclasses.dataclass(frozen=True)
class Settings:
    samples_per_class: int = 50
    steps: int = 100
    step_size: float = 0.1  # ours: α of x ← clamp(x + α∇f_y, 0, 1); the paper does not give it
    normalize: bool = False  # True: RMS-normalised steps (an option, not the paper's)
    langevin_scale: float = 0.0  # > 0: the thesis's Langevin variant (§5.10)
    denoise_sigma: float = 0.1
    shown_per_class: int = 10


# One compilation per (architecture, batch shape, settings): runs of one architecture share
# their apply_fn and their parameters are arguments (minutes saved on CPU, where the unrolled
# ascent of 100 steps takes tens of seconds to compile).
@functools.partial(jax.jit, static_argnums=(0, 5))
def ascend_fn(apply_fn, params, x0, y, key, settings: Settings):
    """Gradient ascent of ``settings.steps`` on ``f_y`` from ``x0``: ``(samples, trajectory)``."""
    return gradient_ascent(
        functools.partial(apply_fn, params),
        x0,
        y,
        steps=settings.steps,
        step_size=settings.step_size,
        normalize=settings.normalize,
        langevin_scale=settings.langevin_scale,
        key=key,
    )


def measure(ctx: EvalContext, settings: Settings) -> Result:
    data, per_class = ctx.dataset, settings.samples_per_class
    labels = np.repeat(np.arange(data.num_classes), per_class).astype(np.int32)
    key_uniform, key_noise, key_langevin = jax.random.split(ctx.key, 3)
    start = jax.random.uniform(key_uniform, (len(labels), *data.image_shape))
    picks = np.concatenate(
        [np.flatnonzero(data.test_labels == c)[:per_class] for c in range(data.num_classes)]
    )
    clean = jnp.asarray(to_float(data.test_images[picks]))
    noisy = noisy_start(clean, key_noise, settings.denoise_sigma)
    denoise_labels = data.test_labels[picks].astype(np.int32)
    metrics, samples, written = {}, {}, []
    for run in ctx.runs:

        def ascend_both(run=run):
            def ascend(x0, y):
                return ascend_fn(
                    run.apply_fn, run.params, x0, jnp.asarray(y), key_langevin, settings
                )

            generated, trajectory = ascend(start, labels)
            denoised, denoise_trajectory = ascend(noisy, denoise_labels)
            clean_logits = run.logits_fn()(clean)[jnp.arange(len(clean)), denoise_labels]
            return (
                generated,
                denoised,
                {
                    # The yardstick for the samples' f_y: that of real images of their classes.
                    "clean_logit_mean": float(clean_logits.mean()),
                    "logit_start_mean": float(trajectory[0].mean()),
                    "logit_end_mean": float(trajectory[-1].mean()),
                    "denoise_logit_start_mean": float(denoise_trajectory[0].mean()),
                    "denoise_logit_end_mean": float(denoise_trajectory[-1].mean()),
                    "denoise_mse_before": float(jnp.mean((noisy - clean) ** 2)),
                    "denoise_mse_after": float(jnp.mean((denoised - clean) ** 2)),
                },
            )

        # One piece per run (tens of minutes at CIFAR size): a resumed evaluation keeps it.
        generated, denoised, metrics[run.name] = ctx.memo(
            run.name, ascend_both, settings=settings, runs=[run]
        )
        samples[run.name] = {
            "generated": (np.asarray(generated), labels),
            "denoised": (np.asarray(denoised), denoise_labels),
        }
        shown = np.asarray(generated).reshape(data.num_classes, per_class, *data.image_shape)
        shown = shown[:, : settings.shown_per_class].reshape(-1, *data.image_shape)
        written.append(
            figures.image_grid(
                ctx.out / f"samples_{run.name}.png", shown, min(per_class, settings.shown_per_class)
            )
        )
        if ctx.common.dataset_figures:
            written.append(
                figures.image_grid(
                    ctx.out / f"denoised_{run.name}.png",
                    np.asarray(denoised[::per_class]),
                    data.num_classes,
                )
            )
    return Result(
        {"runs": metrics, "settings": dataclasses.asdict(settings)}, written, {"samples": samples}
    )


def report(metrics: dict) -> list[str]:
    s = metrics["settings"]
    lines = [
        f"{s['steps']} steps of x ← clamp(x + {s['step_size']:g}·∇f_y, 0, 1)"
        + (" (RMS-normalised)" if s["normalize"] else "")
        + f"; {s['samples_per_class']} per class from uniform noise, and from test images "
        f"with N(0, {s['denoise_sigma']:g}²) noise. For scale, mean f_y of those test images "
        "without noise: samples far above it have left the range of real images' logits.",
        "",
        "| model | mean f_y, clean test images | mean f_y, start → end "
        "| denoising: f_y start → end | MSE to clean, before → after |",
        "|---|---|---|---|---|",
    ]
    for name, m in metrics["runs"].items():
        lines.append(
            f"| {name} | {m['clean_logit_mean']:.3g} "
            f"| {m['logit_start_mean']:.3g} → {m['logit_end_mean']:.3g} "
            f"| {m['denoise_logit_start_mean']:.3g} → {m['denoise_logit_end_mean']:.3g} "
            f"| {m['denoise_mse_before']:.4f} → {m['denoise_mse_after']:.4f} |"
        )
    return lines
