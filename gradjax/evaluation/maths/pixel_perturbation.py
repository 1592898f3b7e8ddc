"""The discriminative pixel-perturbation test (Srinivas & Fleuret, 2021, §5.2.1, Fig. 3).

Pixels are ranked by a saliency map; the least relevant fraction is replaced by the image's
mean colour (or another fill of :data:`gradjax.evaluation.maths.fills.FILLS`) and the classifier's
accuracy measured. Saliency that finds the pixels a classifier
does not need keeps accuracy high as the fraction grows. Two protocols: each model with its own
saliency (Fig. 3a), and one fixed baseline model classifying images perturbed with the
saliency of the others (Fig. 3b), which removes the effect of each model's own robustness.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gradjax.core.checks import check_choice
from gradjax.core.gradients import LogitsFn
from gradjax.evaluation.maths.fills import FILLS, RANDOM_FILLS


def relevance_ranks(relevance: jax.Array, most_relevant_first: bool = False) -> jax.Array:
    """Rank of each pixel, 0 = removed first: ``(B, H, W) -> (B, H, W)`` int32.

    Least relevant first by default; ties keep raster order.
    """
    flat = relevance.reshape(relevance.shape[0], -1)
    order = jnp.argsort(-flat if most_relevant_first else flat, axis=1, stable=True)
    ranks = jnp.argsort(order, axis=1, stable=True)
    return ranks.reshape(relevance.shape).astype(jnp.int32)


def perturb(
    x: jax.Array,
    ranks: jax.Array,
    fraction: jax.Array,
    fill: str = "mean",
    key: jax.Array | None = None,
) -> jax.Array:
    """Replaces the ``round(fraction · H·W)`` pixels of lowest rank by ``fill``.

    Args:
      x: ``(B, H, W, C)`` images.
      ranks: ``(B, H, W)`` from :func:`relevance_ranks`.
      fraction: scalar in [0, 1].
      fill: a name in :data:`~gradjax.evaluation.maths.fills.FILLS` (the image's mean colour
        by default, as in the paper).
      key: for the random fills.
    """
    check_choice(fill, "fill", FILLS)
    if key is None and fill in RANDOM_FILLS:
        raise ValueError(f"fill {fill!r} is random: pass a key")
    num_pixels = ranks.shape[1] * ranks.shape[2]
    removed = ranks < jnp.round(fraction * num_pixels)
    return jnp.where(removed[..., None], FILLS[fill](x, removed, key), x)


def perturbation_correct(
    logits_fn: LogitsFn,
    x: jax.Array,
    y: jax.Array,
    relevance: jax.Array,
    fractions: jax.Array,
    *,
    most_relevant_first: bool = False,
    fill: str = "mean",
    key: jax.Array | None = None,
) -> jax.Array:
    """Whether each perturbed image is classified correctly at each fraction: ``(F, B)`` bool
    (per example, so models tested on the same images can be compared pairwise).

    Args:
      logits_fn: the classifier that is tested (its own or a fixed baseline model).
      x: ``(B, H, W, C)`` images.
      y: ``(B,)`` labels.
      relevance: ``(B, H, W)`` per-pixel saliency.
      fractions: ``(F,)`` fractions of pixels removed (0 gives clean accuracy).
      most_relevant_first: remove the most relevant pixels instead (accuracy should fall fast).
      fill: as :func:`perturb`.
      key: as :func:`perturb`; fraction ``i`` uses the ``i``-th of ``split(key, F)``.
    """
    ranks = relevance_ranks(relevance, most_relevant_first)
    fractions = jnp.asarray(fractions, x.dtype)
    keys = None if key is None else jax.random.split(key, fractions.shape[0])

    def at(args):
        fraction, k = args
        logits = logits_fn(perturb(x, ranks, fraction, fill, k))
        return jnp.argmax(logits, -1) == y

    return jax.lax.map(at, (fractions, keys))


# The fractions the normalised AUC averages over: removed pixels only, clean accuracy apart.
NORMALISED_RANGE = (0.1, 0.9)


def normalised_auc_statistic(fractions):
    """``statistic(correct, axis=-1)`` for (F, …, N) correctness: mean accuracy over the
    fractions in :data:`NORMALISED_RANGE` divided by the accuracy at fraction 0 (how much of
    its clean accuracy a model keeps as pixels go), for :func:`bootstrap_interval`."""
    fractions = np.asarray(fractions)
    inside = (fractions >= NORMALISED_RANGE[0] - 1e-9) & (fractions <= NORMALISED_RANGE[1] + 1e-9)
    clean = int(np.flatnonzero(fractions == 0)[0])

    def statistic(correct, axis=-1):
        accuracy = np.mean(correct, axis=axis)
        return accuracy[inside].mean(0) / accuracy[clean]

    return statistic


__all__ = [
    "NORMALISED_RANGE",
    "normalised_auc_statistic",
    "perturb",
    "perturbation_correct",
    "relevance_ranks",
]
