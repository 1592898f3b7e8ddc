"""Logit-gradients can be changed at will without changing the classifier (Srinivas & Fleuret,
2021, §3; thesis §5.7.2).

(a) :func:`shift_logits`: adding any ``g(x)`` to all logits leaves softmax, loss and accuracy
unchanged, and adds ``∇g`` to every logit-gradient.

(b) :func:`fooling_objective`: fine-tune a trained model so that its saliency
``s = |∇x f_y| / 1ᵀ|∇x f_y|`` (L1-normalised, thesis eq. 5.7) matches an arbitrary mask ``m``
(a top-left square) normalised the same way, ``CE + w·Σ_pixels (s − m/1ᵀm)²``.
Logit-gradients follow the mask; loss-gradients, which are shift-invariant, follow it less; at a
high softmax temperature ``T`` the loss-gradient ``∇x CE(f/T)`` is ``≈ (mean_i ∇f_i − ∇f_y)/T``
and the shared shift cancels.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from gradjax.core.gradients import LogitsFn, logit_values_and_gradients, loss_gradients
from gradjax.core.saliency import pixel_relevance
from gradjax.evaluation.stats import (
    accuracy_difference,
    mean_interval,
    paired_difference,
    proportion,
)


def shift_logits(logits_fn: LogitsFn, g: Callable[[jax.Array], jax.Array]) -> LogitsFn:
    """``x ↦ logits_fn(x) + g(x)[:, None]`` with ``g: (B, *event) -> (B,)``."""
    return lambda x: logits_fn(x) + g(x)[:, None]


def corner_mask(height: int, width: int, size: int = 15) -> jax.Array:
    """``(H, W)`` float mask, ones on the top-left ``size × size`` square (scaled to the
    image: 15 of 32 pixels on CIFAR, so ``round(15/32·H)`` on other sizes)."""
    rows, cols = round(size / 32 * height), round(size / 32 * width)
    return jnp.zeros((height, width)).at[:rows, :cols].set(1.0)


def normalised_saliency(grads: jax.Array) -> jax.Array:
    """``(B, H, W, C) -> (B, H, W)``: ``Σ_c |g|`` divided by its per-example sum (thesis
    eq. 5.7), so each map sums to 1."""
    a = pixel_relevance(grads)
    return a / jnp.maximum(jnp.sum(a, axis=(1, 2), keepdims=True), 1e-30)


def energy_inside(grads: jax.Array, mask: jax.Array) -> jax.Array:
    """Fraction of ``Σ g²`` that lies inside ``mask``, per example: ``(B, H, W, C) -> (B,)``."""
    energy = jnp.sum(grads**2, axis=-1)
    return jnp.sum(energy * mask, axis=(1, 2)) / jnp.maximum(jnp.sum(energy, axis=(1, 2)), 1e-30)


def tempered_loss_gradients(
    logits_fn: LogitsFn, x: jax.Array, y: jax.Array, temperature: float
) -> jax.Array:
    """``∇x CE(softmax(f(x)/T), y)``."""
    return loss_gradients(lambda z: logits_fn(z) / temperature, x, y)


def fooling_objective(apply_fn: Callable, mask: jax.Array, weight: float) -> Callable:
    """``loss_fn(params, (x, y), key) -> (loss, metrics)`` (the objectives' signature, so the
    fine-tune runs on the train step of :mod:`gradjax.training.steps`):
    ``CE + weight·mean_b mean_px (P·s − P·m/1ᵀm)²`` with ``s`` the :func:`normalised_saliency`
    of the logit-gradients and ``P`` the number of pixels: the maps in units of a uniform map
    (1 per pixel), so that ``weight`` means the same on every image size (L1-normalised maps
    alone are O(1/P) and a weight of 10 would barely act)."""
    target = mask / jnp.mean(mask)

    def loss_fn(params, batch, key):
        del key
        x, y = batch
        logits, grads = logit_values_and_gradients(lambda z: apply_fn(params, z), x, y)
        ce = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))
        pixels = mask.size
        mismatch = jnp.mean((pixels * normalised_saliency(grads) - target) ** 2)
        loss = ce + weight * mismatch
        return loss, {"loss": loss, "ce": ce, "mask_mismatch": mismatch}

    return loss_fn


def stripe_pattern(shape):
    """A stripe pattern of the images' shape: ``g(x) = s·⟨pattern, x⟩`` adds it to gradients."""
    height, width = shape[:2]
    rows = jnp.arange(height)[:, None] + jnp.arange(width)[None, :]
    return jnp.broadcast_to((jnp.sin(rows * 0.8) > 0).astype(jnp.float32)[..., None], shape)


def fine_tune_summary(before: dict, after: dict, tempered: str, seed: int) -> dict:
    """Intervals of the fine-tune's per-image values, paired where before and after share images.

    Args:
      before, after: ``{kind: (N,)}`` on the same ``N`` test images: the fraction of each kind of
        gradient's energy inside the mask, and ``"accuracy"`` (booleans).
      tempered: the key of the high-temperature loss-gradients.
      seed: the bootstrap's resampling seed (the evaluation's, as for every paired interval).

    Returns:
      ``temperature_key``: ``tempered``; ``before``/``after``: mean energies (normal 95%
      intervals) and accuracy (Wilson); ``rise``: after − before per kind, paired bootstrap;
      ``accuracy_change``: paired, with the exact McNemar p; ``loss_rise_minus_half_logit_rise``
      (the resistance claim: < 0) and ``tempered_minus_loss_after`` (the temperature claim:
      > 0), paired bootstrap.
    """
    kinds = [k for k in before if k != "accuracy"]

    def intervals(values):
        return {k: mean_interval(values[k]) for k in kinds} | {
            "accuracy": proportion(values["accuracy"])
        }

    rise = {k: after[k] - before[k] for k in kinds}
    return {
        "temperature_key": tempered,
        "before": intervals(before),
        "after": intervals(after),
        "rise": {k: paired_difference(after[k], before[k], seed=seed) for k in kinds},
        "accuracy_change": accuracy_difference(after["accuracy"], before["accuracy"], seed=seed),
        "loss_rise_minus_half_logit_rise": paired_difference(
            rise["loss_gradient"], 0.5 * rise["logit_gradient"], seed=seed
        ),
        "tempered_minus_loss_after": paired_difference(
            after[tempered], after["loss_gradient"], seed=seed
        ),
    }


__all__ = [
    "fine_tune_summary",
    "stripe_pattern",
    "corner_mask",
    "energy_inside",
    "fooling_objective",
    "normalised_saliency",
    "shift_logits",
    "tempered_loss_gradients",
]
