"""Logit-gradients can be changed without changing the classifier (§2, App. A; thesis §5.7.2):
(a) add ``g(x) = s·⟨pattern, x⟩`` to all logits of the reference model: accuracy and loss stay,
logit-gradients become the pattern; (b) fine-tune the reference model so that its L1-normalised
|logit-gradient| matches a top-left square (thesis eq. 5.7), and measure the fraction of gradient
energy inside the square for logit-, loss- and high-temperature loss-gradients. The paper's
claims: loss-gradients resist such fooling, and a high temperature exposes them to it."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.training.train_state import TrainState
from tqdm.auto import tqdm

from gradjax.core.gradients import logit_gradients, loss_gradients
from gradjax.core.saliency import pixel_relevance
from gradjax.evaluation import figures
from gradjax.evaluation.claims import Verdict
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.maths.saliency_fooling import (
    corner_mask,
    energy_inside,
    fine_tune_summary,
    fooling_objective,
    shift_logits,
    stripe_pattern,
    tempered_loss_gradients,
)
from gradjax.evaluation.report_format import interval, pct_interval
from gradjax.training.data import to_float
from gradjax.training.steps import (
    compile_train_step,
    data_mesh,
    make_train_step,
    place_state,
    shard_batch,
)


@dataclasses.dataclass(frozen=True)
class Settings:
    num_examples: int = 500  # test images (the first of the shared draw)
    shift_scale: float = 100.0
    steps: int = 100
    batch_size: int = 128
    weight: float = 10.0
    lr: float = 1e-3
    temperature: float = 1e3
    shown_examples: int = 8


def _per_example(ctx, fn, x, y) -> np.ndarray:
    """``fn(xb, yb) -> (b,)`` over the batches of ``x, y``, joined: ``(N,)``."""
    return np.concatenate([np.asarray(fn(xb, yb)) for xb, yb in ctx.batches(x, y)])


def _shift(ctx: EvalContext, settings: Settings, x, y, pattern):
    """(a) accuracy, CE, cosine of logit-gradients to the pattern and loss-gradient norms of
    the reference model, before and after adding ``g`` to all its logits."""
    logits_fn = ctx.reference.logits_fn()
    shifted = shift_logits(
        logits_fn, lambda z: settings.shift_scale * jnp.sum(z * pattern, (1, 2, 3))
    )

    def summary(fn):
        @jax.jit
        def per_example(xb, yb):
            logits = fn(xb)
            grads = logit_gradients(fn, xb, yb).reshape(len(xb), -1)
            flat = pattern.reshape(-1)
            cosine = grads @ flat / (jnp.linalg.norm(grads, axis=1) * jnp.linalg.norm(flat))
            return jnp.stack(
                [
                    jnp.argmax(logits, -1) == yb,
                    optax.softmax_cross_entropy_with_integer_labels(logits, yb),
                    cosine,
                    jnp.linalg.norm(loss_gradients(fn, xb, yb).reshape(len(xb), -1), axis=1),
                ],
                axis=1,
            )

        values = np.concatenate([np.asarray(per_example(xb, yb)) for xb, yb in ctx.batches(x, y)])
        keys = ("accuracy", "ce", "logit_gradient_cosine_to_pattern", "loss_gradient_norm")
        return dict(zip(keys, values.mean(0).tolist(), strict=True))

    return {"original": summary(logits_fn), "shifted": summary(shifted)}, shifted


def _gradient_fns(ref, temperature: float) -> dict:
    """Each kind of gradient of the reference model, compiled once as a function of the
    parameters (before and after the fine-tune)."""
    return {
        kind: jax.jit(lambda params, xb, yb, g=g: g(ref.logits_fn(params), xb, yb))
        for kind, g in (
            ("logit_gradient", logit_gradients),
            ("loss_gradient", loss_gradients),
            (
                f"loss_gradient_T{temperature:g}",
                functools.partial(tempered_loss_gradients, temperature=temperature),
            ),
        )
    }


def _fine_tune(ctx: EvalContext, settings: Settings, mask):
    """(b) The reference model fine-tuned with the train step of :mod:`gradjax.training.steps`
    (Adam; the objective of :mod:`~gradjax.evaluation.maths.saliency_fooling`): ``(state,
    the last step's metrics)``."""
    ref = ctx.reference
    mesh = data_mesh()
    # The train step donates its state: start from a copy, the reference model stays intact.
    params = jax.tree.map(jnp.copy, ref.params)
    state = TrainState.create(apply_fn=ref.apply_fn, params=params, tx=optax.adam(settings.lr))
    state = place_state(state, mesh)
    step = compile_train_step(
        make_train_step(fooling_objective(ref.apply_fn, mask, settings.weight), ctx.common.seed),
        mesh,
    )
    rng = np.random.default_rng(ctx.common.seed)
    train_x, train_y = ctx.dataset.train_images, ctx.dataset.train_labels
    batch = min(settings.batch_size, len(train_x))
    metrics = {}
    for _ in tqdm(range(settings.steps), desc="fooling", leave=False, disable=not ctx.progress):
        pick = rng.choice(len(train_x), batch, replace=False)
        state, metrics = step(state, shard_batch((to_float(train_x[pick]), train_y[pick]), mesh))
    return state, metrics


def measure(ctx: EvalContext, settings: Settings) -> Result:
    ref = ctx.reference
    x, y = (a[: settings.num_examples] for a in ctx.test_examples)
    mask = corner_mask(*ctx.dataset.image_shape[:2])
    pattern = stripe_pattern(x.shape[1:])
    shift, shifted = _shift(ctx, settings, x, y, pattern)
    gradients = _gradient_fns(ref, settings.temperature)
    tempered = f"loss_gradient_T{settings.temperature:g}"
    per_example = {
        kind: jax.jit(lambda params, xb, yb, g=g: energy_inside(g(params, xb, yb), mask))
        for kind, g in gradients.items()
    }
    per_example["accuracy"] = jax.jit(
        lambda params, xb, yb: jnp.argmax(ref.apply_fn(params, xb), -1) == yb
    )

    def energies(params):
        return {
            kind: _per_example(ctx, functools.partial(fn, params), x, y)
            for kind, fn in per_example.items()
        }

    state, metrics = _fine_tune(ctx, settings, mask)
    fine_tune = {
        "model": ref.name,
        "mask_fraction_of_pixels": float(mask.mean()),
        **fine_tune_summary(
            energies(ref.params), energies(state.params), tempered, ctx.common.seed
        ),
        "final_mask_mismatch": float(metrics["mask_mismatch"]),
    }
    result = Result({"num_examples": int(len(x)), "shift": shift, "fine_tune": fine_tune})
    if ctx.common.dataset_figures:
        result.figures = _figures(ctx, settings, x, y, mask, gradients, state, shifted)
    return result


def _figures(ctx, settings: Settings, x, y, mask, gradients, state, shifted) -> list:
    """The fine-tuned maps beside the images, and the logit-gradients before and after the
    shift."""
    sx, sy = x[: settings.shown_examples], y[: settings.shown_examples]
    ref = ctx.reference
    tempered = f"loss_gradient_T{settings.temperature:g}"

    def maps(kind, params):
        return np.asarray(pixel_relevance(gradients[kind](params, sx, sy)))

    height, width = mask.shape
    return [
        figures.maps_beside_images(
            ctx.out / "fooling.png",
            np.asarray(sx),
            {
                "mask": np.broadcast_to(np.asarray(mask), (len(sx), height, width)),
                "logit-grad": maps("logit_gradient", state.params),
                "loss-grad": maps("loss_gradient", state.params),
                f"loss-grad T={settings.temperature:g}": maps(tempered, state.params),
            },
            f"{ref.name} fine-tuned to put its logit-gradients in the mask",
        ),
        figures.maps_beside_images(
            ctx.out / "shift_invariance.png",
            np.asarray(sx),
            {
                "original": maps("logit_gradient", ref.params),
                "+ g(x)": np.asarray(
                    pixel_relevance(jax.jit(logit_gradients, static_argnums=0)(shifted, sx, sy))
                ),
            },
            "Logit-gradients before and after adding g(x) to all logits",
        ),
    ]


def report(metrics: dict) -> list[str]:
    shift, tune = metrics["shift"], metrics["fine_tune"]
    lines = [
        f"(a) Adding g(x) = s·⟨pattern, x⟩ to all logits of {tune['model']!r} "
        f"({metrics['num_examples']} test images):",
        "",
        "| | accuracy (%) | CE | cosine(logit-gradient, pattern) | mean ‖∇x CE‖ |",
        "|---|---|---|---|---|",
    ]
    for key, row in shift.items():
        lines.append(
            f"| {key} | {100 * row['accuracy']:.2f} | {row['ce']:.6f} "
            f"| {row['logit_gradient_cosine_to_pattern']:.4f} | {row['loss_gradient_norm']:.6g} |"
        )
    energy_keys = list(tune["rise"])
    lines += [
        "",
        f"(b) {tune['model']} fine-tuned so that its L1-normalised |logit-gradient| matches a "
        f"top-left square covering {100 * tune['mask_fraction_of_pixels']:.1f}% of the pixels. "
        "Fraction of gradient energy inside the square (95% intervals; after − before paired "
        "over the same images):",
        "",
        "| | " + " | ".join(energy_keys) + " | accuracy (%) |",
        "|---" * (len(energy_keys) + 2) + "|",
    ]
    for when in ("before", "after"):
        row = tune[when]
        cells = " | ".join(interval(row[k]) for k in energy_keys)
        lines.append(f"| {when} | {cells} | {pct_interval(row['accuracy'])} |")
    cells = " | ".join(interval(tune["rise"][k]) for k in energy_keys)
    change = tune["accuracy_change"]
    lines.append(
        f"| after − before | {cells} | {interval(change, scale=100)} points "
        f"(McNemar p = {change['mcnemar_p']:.2g}) |"
    )
    return lines


def quantities(metrics: dict) -> dict:
    """The reference model's fooling numbers: ``shift_cosine`` (logit-gradients' cosine to
    ∇g after adding g to every logit), ``shift_accuracy_change`` (must be 0), and the
    fine-tune's ``resistance`` (loss-gradient rise − ½ logit-gradient rise) and
    ``temperature`` (tempered − plain loss-gradient energy after)."""
    model = metrics["fine_tune"]["model"]
    shift, tune = metrics["shift"], metrics["fine_tune"]
    change = shift["shifted"]["accuracy"] - shift["original"]["accuracy"]
    return {
        "shift_cosine": {model: {"value": shift["shifted"]["logit_gradient_cosine_to_pattern"]}},
        "shift_accuracy_change": {model: {"value": change}},
        "resistance": {
            model: {
                "value": tune["loss_rise_minus_half_logit_rise"]["value"],
                "image": tune["loss_rise_minus_half_logit_rise"],
            }
        },
        "temperature": {
            model: {
                "value": tune["tempered_minus_loss_after"]["value"],
                "image": tune["tempered_minus_loss_after"],
            }
        },
    }


VERDICTS = (
    Verdict(
        "shift-invariance",
        "baseline + g(x) on every logit: logit-gradients turn to ∇g (cosine above 0.99)",
        "shift_cosine",
        None,
        +1,
        threshold=0.99,
        paper="at will (§2)",
    ),
    Verdict(
        "fooling",
        "loss-gradients resist the fooling fine-tune: their mask energy rises by less than half "
        "the logit-gradients' rise",
        "resistance",
        None,
        -1,
        paper="resist (App. A)",
    ),
    Verdict(
        "fooling",
        "a high softmax temperature exposes loss-gradients to the fooling",
        "temperature",
        None,
        +1,
        paper="exposed (App. A)",
    ),
)
