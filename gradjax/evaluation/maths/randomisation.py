"""Randomisation sanity checks for saliency maps (Adebayo et al., NeurIPS 2018).

* Cascading model-parameter randomisation: re-draw the parameters of the top layer, then the
  top two, … down to the input layer; a saliency method that explains the *model* must change
  as its layers are destroyed (rank correlation with the original map falls towards 0).
* Random logit: explain another class than the true one; a method that explains the *class*
  must change.

The paper's point that logit-gradients can be shifted at will makes these the natural
companions: they ask whether a map depends on what it claims to explain.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def layer_names(params) -> list[str]:
    """Top-level modules of a Flax ``{"params": {...}}`` tree that hold parameters, input side
    first (Flax keeps definition order)."""
    return list(params["params"])


def randomise_top(params, key: jax.Array, count: int):
    """``params`` with the ``count`` top-most layers (of :func:`layer_names`) re-drawn: every
    array replaced by Gaussian noise with that array's own mean and standard deviation (zero
    for constant arrays such as fresh biases), the scale of a trained layer without its
    structure."""
    names = layer_names(params)
    chosen = names[len(names) - count :] if count else []
    inner = dict(params["params"])
    for i, name in enumerate(chosen):
        leaves, tree = jax.tree.flatten(inner[name])
        keys = jax.random.split(jax.random.fold_in(key, i), len(leaves))
        inner[name] = jax.tree.unflatten(
            tree,
            [
                jnp.mean(a) + jnp.std(a) * jax.random.normal(k, a.shape, a.dtype)
                for a, k in zip(leaves, keys, strict=True)
            ],
        )
    return {**params, "params": inner}


def other_classes(y: jax.Array, num_classes: int, key: jax.Array) -> jax.Array:
    """A uniformly drawn class different from ``y`` for each example: ``(B,) -> (B,)``."""
    shift = jax.random.randint(key, y.shape, 1, num_classes)
    return (y + shift) % num_classes


def _average_ranks(a: jax.Array) -> jax.Array:
    """``(B, P)`` ranks 0…P−1 per row, tied values sharing their average rank (as in
    ``scipy.stats.rankdata``): saliency maps have many exact ties (zero background)."""

    def row(values):
        ordered = jnp.sort(values)
        below = jnp.searchsorted(ordered, values, side="left")
        through = jnp.searchsorted(ordered, values, side="right")
        return (below + through - 1) / 2.0

    return jax.vmap(row)(a.astype(jnp.float32))


def spearman(a: jax.Array, b: jax.Array) -> jax.Array:
    """Per-example Spearman rank correlation of two maps: ``(B, ...) , (B, ...) -> (B,)``
    (average ranks for ties; a constant map gives NaN)."""
    ra, rb = (_average_ranks(m.reshape(m.shape[0], -1)) for m in (a, b))
    ra, rb = ra - ra.mean(-1, keepdims=True), rb - rb.mean(-1, keepdims=True)
    return jnp.sum(ra * rb, -1) / jnp.sqrt(jnp.sum(ra**2, -1) * jnp.sum(rb**2, -1))


__all__ = ["layer_names", "other_classes", "randomise_top", "spearman"]
