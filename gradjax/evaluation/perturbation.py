"""The discriminative pixel-perturbation test (Srinivas & Fleuret, 2021, §5.2.1, Fig. 3).

Pixels are ranked by a saliency map; the least relevant fraction is replaced by the image's
mean colour and the classifier's accuracy measured. Saliency that finds the pixels a classifier
does not need keeps accuracy high as the fraction grows. Two protocols: each model with its own
saliency (Fig. 3a), and one fixed baseline model classifying images perturbed with the
saliency of the others (Fig. 3b), which removes the effect of each model's own robustness.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gradjax.gradients import LogitsFn


def relevance_ranks(relevance: jax.Array, most_relevant_first: bool = False) -> jax.Array:
    """Rank of each pixel, 0 = removed first: ``(B, H, W) -> (B, H, W)`` int32.

    Least relevant first by default; ties keep raster order.
    """
    flat = relevance.reshape(relevance.shape[0], -1)
    order = jnp.argsort(-flat if most_relevant_first else flat, axis=1, stable=True)
    ranks = jnp.argsort(order, axis=1, stable=True)
    return ranks.reshape(relevance.shape).astype(jnp.int32)


def perturb(x: jax.Array, ranks: jax.Array, fraction: jax.Array) -> jax.Array:
    """Replaces the ``round(fraction · H·W)`` pixels of lowest rank by the image mean.

    Args:
      x: ``(B, H, W, C)`` images; ranks: ``(B, H, W)`` from :func:`relevance_ranks`;
      fraction: scalar in [0, 1].
    """
    num_pixels = ranks.shape[1] * ranks.shape[2]
    removed = ranks < jnp.round(fraction * num_pixels)
    mean = jnp.mean(x, axis=(1, 2), keepdims=True)
    return jnp.where(removed[..., None], mean, x)


def perturbation_correct(
    logits_fn: LogitsFn,
    x: jax.Array,
    y: jax.Array,
    relevance: jax.Array,
    fractions: jax.Array,
    *,
    most_relevant_first: bool = False,
) -> jax.Array:
    """Whether each perturbed image is classified correctly at each fraction: ``(F, B)`` bool
    (per example, so models tested on the same images can be compared pairwise).

    Args:
      logits_fn: the classifier that is tested (its own or a fixed baseline model).
      x: ``(B, H, W, C)``; y: ``(B,)``; relevance: ``(B, H, W)`` per-pixel saliency.
      fractions: ``(F,)`` fractions of pixels removed (0 gives clean accuracy).
      most_relevant_first: remove the most relevant pixels instead (accuracy should fall fast).
    """
    ranks = relevance_ranks(relevance, most_relevant_first)

    def at(fraction):
        logits = logits_fn(perturb(x, ranks, fraction))
        return jnp.argmax(logits, -1) == y

    return jax.lax.map(at, jnp.asarray(fractions, x.dtype))


__all__ = ["perturb", "perturbation_correct", "relevance_ranks"]
