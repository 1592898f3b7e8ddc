"""Samples of the implicit densities ``p(x | y) ∝ exp f_y(x)`` by gradient ascent on ``f_y``
(arXiv v1 §4.2.1): from uniform noise, and "denoised" from test images with N(0, 0.1²) noise
(arXiv v1 Fig. 5, thesis Fig. 5.8). The samples are passed to ``gan-test``."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from gradjax.evaluation import figures
from gradjax.evaluation.claims import Verdict
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.maths.sampling import gradient_ascent, noisy_start
from gradjax.evaluation.report_format import MISSING, interval
from gradjax.evaluation.stats import mean_interval, paired_difference
from gradjax.training.data import to_float


@dataclasses.dataclass(frozen=True)
class Settings:
    samples_per_class: int = 50
    steps: int = 100
    step_size: float = 0.1  # ours: α of x ← clamp(x + α∇f_y, 0, 1); the paper does not give it
    normalize: bool = False  # True: RMS-normalised steps (an option, not the paper's)
    langevin_scale: float = 0.0  # > 0: the thesis's Langevin variant (§5.10)
    denoise_sigma: float = 0.1
    shown_per_class: int = 10
    # Earlier step counts whose samples from noise are kept too, for the GAN-test as a curve
    # over ascent steps (the last is always ``steps``).
    snapshots: tuple[int, ...] = ()


# One compilation per (architecture, batch shape, steps, settings): runs of one architecture
# share their apply_fn and their parameters are arguments (minutes saved on CPU, where the
# unrolled ascent of 100 steps takes tens of seconds to compile).
@functools.partial(jax.jit, static_argnums=(0, 5, 6))
def ascend_fn(apply_fn, params, x0, y, key, steps: int, settings: Settings):
    """``steps`` of gradient ascent on ``f_y`` from ``x0``: ``(samples, trajectory)``."""
    return gradient_ascent(
        functools.partial(apply_fn, params),
        x0,
        y,
        steps=steps,
        step_size=settings.step_size,
        normalize=settings.normalize,
        langevin_scale=settings.langevin_scale,
        key=key,
    )


def step_counts(settings: Settings) -> list[int]:
    """The step counts whose samples are kept, ascending, ``settings.steps`` last."""
    counts = sorted({*settings.snapshots, settings.steps})
    if counts[0] < 1 or counts[-1] != settings.steps:
        raise ValueError(f"snapshots must lie in [1, steps = {settings.steps}], got {counts}")
    return counts


def ascend_in_segments(run, x0, y, key, settings: Settings) -> tuple[dict, np.ndarray]:
    """Ascent from ``x0`` continued segment by segment to each of :func:`step_counts`:
    ``({steps: samples}, f_y along the whole way (steps + 1, B))``. Each segment draws its
    Langevin noise from ``fold_in(key, its end)``."""
    kept, values, x, done = {}, [], x0, 0
    for count in step_counts(settings):
        x, trajectory = ascend_fn(
            run.apply_fn, run.params, x, y, jax.random.fold_in(key, count), count - done, settings
        )
        values.append(np.asarray(trajectory)[(1 if done else 0) :])
        kept[count], done = x, count
    return kept, np.concatenate(values)


def _ascend_run(ctx: EvalContext, run, starts: dict, settings: Settings):
    """One run's samples from noise (at every step count) and denoised, with its numbers and
    the per-image squared distances to the clean images before and after denoising."""
    key = jax.random.split(ctx.key, 3)[2]
    generated, trajectory = ascend_in_segments(
        run, starts["noise"], starts["labels"], key, settings
    )
    denoised, denoise_trajectory = ascend_fn(
        run.apply_fn,
        run.params,
        starts["noisy"],
        starts["denoise_labels"],
        key,
        settings.steps,
        settings,
    )
    clean = starts["clean"]
    clean_logits = run.logits_fn()(clean)[jnp.arange(len(clean)), starts["denoise_labels"]]
    before = np.asarray(jnp.mean((starts["noisy"] - clean) ** 2, axis=(1, 2, 3)))
    after = np.asarray(jnp.mean((denoised - clean) ** 2, axis=(1, 2, 3)))
    numbers = {
        # The yardstick for the samples' f_y: that of real images of their classes.
        "clean_logit_mean": float(clean_logits.mean()),
        "logit_start_mean": float(trajectory[0].mean()),
        "logit_end_mean": float(trajectory[-1].mean()),
        "denoise_logit_start_mean": float(denoise_trajectory[0].mean()),
        "denoise_logit_end_mean": float(denoise_trajectory[-1].mean()),
        "denoise_mse_before": float(before.mean()),
        "denoise_mse_after": float(after.mean()),
        # After − before per image: negative where ascent brought the image nearer the clean one.
        "denoise_mse_change": mean_interval(after - before),
    }
    generated = {count: np.asarray(x) for count, x in generated.items()}
    return generated, np.asarray(denoised), numbers, {"mse_before": before, "mse_after": after}


def measure(ctx: EvalContext, settings: Settings) -> Result:
    data, per_class = ctx.dataset, settings.samples_per_class
    labels = np.repeat(np.arange(data.num_classes), per_class).astype(np.int32)
    key_uniform, key_noise, _ = jax.random.split(ctx.key, 3)
    picks = np.concatenate(
        [np.flatnonzero(data.test_labels == c)[:per_class] for c in range(data.num_classes)]
    )
    clean = jnp.asarray(to_float(data.test_images[picks]))
    starts = {
        "noise": jax.random.uniform(key_uniform, (len(labels), *data.image_shape)),
        "labels": jnp.asarray(labels),
        "clean": clean,
        "noisy": noisy_start(clean, key_noise, settings.denoise_sigma),
        "denoise_labels": jnp.asarray(data.test_labels[picks].astype(np.int32)),
    }
    metrics, samples, written, per_image = {}, {}, [], {}
    for run in ctx.runs:
        # One piece per run (tens of minutes at CIFAR size): a resumed evaluation keeps it.
        generated, denoised, metrics[run.name], distances = ctx.memo(
            run.name,
            functools.partial(_ascend_run, ctx, run, starts, settings),
            settings=settings,
            runs=[run],
        )
        samples[run.name] = {
            "generated": (generated[settings.steps], labels),
            "denoised": (denoised, np.asarray(starts["denoise_labels"])),
            "by_steps": {count: (x, labels) for count, x in generated.items()},
            "noise": (np.asarray(starts["noise"]), labels),
        }
        per_image.update({f"{run.name}/{k}": v for k, v in distances.items()})
        written += _figures(ctx, run.name, generated[settings.steps], denoised, settings)
    ref = ctx.reference.name

    def change(name):
        return per_image[f"{name}/mse_after"] - per_image[f"{name}/mse_before"]

    differences = {
        run.name: {
            "denoise_mse_change": paired_difference(
                change(run.name), change(ref), seed=ctx.common.seed
            )
        }
        for run in ctx.runs
        if run.name != ref
    }
    return Result(
        {
            "reference": ref,
            "runs": metrics,
            "difference": differences,
            "settings": dataclasses.asdict(settings),
        },
        written,
        {"samples": samples},
        per_image,
    )


def _figures(ctx, name: str, generated, denoised, settings: Settings) -> list:
    """The samples from noise, ``shown_per_class`` a class; the denoised images (one a class)
    where the data's images may be shown."""
    data, per_class = ctx.dataset, settings.samples_per_class
    shown = generated.reshape(data.num_classes, per_class, *data.image_shape)
    shown = shown[:, : settings.shown_per_class].reshape(-1, *data.image_shape)
    written = [
        figures.image_grid(
            ctx.out / f"samples_{name}.png", shown, min(per_class, settings.shown_per_class)
        )
    ]
    if ctx.common.dataset_figures:
        written.append(
            figures.image_grid(
                ctx.out / f"denoised_{name}.png", denoised[::per_class], data.num_classes
            )
        )
    return written


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
        "| denoising: f_y start → end | MSE to clean, before → after | change (95% CI) |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in metrics["runs"].items():
        change = m.get("denoise_mse_change")
        lines.append(
            f"| {name} | {m['clean_logit_mean']:.3g} "
            f"| {m['logit_start_mean']:.3g} → {m['logit_end_mean']:.3g} "
            f"| {m['denoise_logit_start_mean']:.3g} → {m['denoise_logit_end_mean']:.3g} "
            f"| {m['denoise_mse_before']:.4f} → {m['denoise_mse_after']:.4f} "
            f"| {interval(change) if change else MISSING} |"
        )
    return lines


def quantities(metrics: dict) -> dict:
    """``denoise_change``: mean change of the squared distance to the clean image over the
    ascent from noisy test images (negative: denoised), per run."""
    out = {}
    for name, run in metrics["runs"].items():
        change = run.get("denoise_mse_change")
        if change is not None:
            diff = metrics.get("difference", {}).get(name, {}).get("denoise_mse_change")
            out[name] = {"value": change["value"], "image": change, "difference": diff}
    return {"denoise_change": out}


VERDICTS = (
    Verdict(
        "denoising",
        "baseline: ascent from noisy test images brings them nearer the clean ones (MSE falls)",
        "denoise_change",
        None,
        -1,
        paper="denoises (v1 Fig. 5)",
    ),
    *(
        Verdict(
            "denoising",
            f"{objective}: denoising {'worse' if sign > 0 else 'better'} than the baseline's "
            "(change in MSE to the clean image)",
            "denoise_change",
            objective,
            sign,
            paper=f"{'worse' if sign > 0 else 'better'} (v1 Fig. 5)",
        )
        for objective, sign in (
            ("score-matching", -1),
            ("gradient-norm", -1),
            ("anti-score-matching", +1),
        )
    ),
)
