"""Infidelity and max-sensitivity of attribution maps (Yeh et al., NeurIPS 2019).

Both take attribution maps of shape ``(B, H, W, C')`` with ``C'`` equal to the input's channels
or 1 (a per-pixel map, shared by the channels), as :func:`gradjax.core.saliency.compute_attribution`
returns them; examples are independent and every result is per example, ``(B,)``.

- Infidelity: how badly the attribution, read as a linear model, predicts the logit's change
  under random perturbations ``I``: ``E_I[(β·⟨I, Φ(x)⟩ − (f_y(x) − f_y(x − I)))²]``. ``β`` is
  the per-example least-squares scale (Captum's ``normalize=True``): methods report in
  different units (SmoothGrad² in squared gradient units, FullGrad in [0, #maps]), and only the
  best-scaled linear prediction is comparable. ``relative=True`` divides by ``E[Δf²]``, giving
  the fraction of the logit's change left unexplained, 1 − R² through the origin, in [0, 1],
  comparable across models whose logits have different scales.
- Max-sensitivity: ``max_k ‖Φ(x + δ_k) − Φ(x)‖ / ‖Φ(x)‖`` over draws ``δ_k`` uniform in the
  L∞ ball of radius ``radius`` (Captum's ``sensitivity_max`` sampling; divided by ``‖Φ(x)‖``
  as in Quantus, so that scale does not decide).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from gradjax.core.checks import check_positive_int
from gradjax.core.gradients import LogitsFn, select_logits


def _per_example_dot(a: jax.Array, b: jax.Array) -> jax.Array:
    """``Σ a·b`` over all but the first axis, ``b`` broadcast over channels if it has one."""
    return jnp.sum((a * b).reshape(a.shape[0], -1), axis=1)


def infidelity(
    logits_fn: LogitsFn,
    x: jax.Array,
    y: jax.Array,
    attribution: jax.Array,
    key: jax.Array,
    *,
    num_perturbations: int = 32,
    noise: float = 0.1,
    relative: bool = False,
) -> jax.Array:
    """Infidelity under Gaussian perturbations ``I ~ N(0, noise²I)``, per example ``(B,)``.

    Args:
      logits_fn: ``(B, H, W, C) -> (B, classes)``, examples independent.
      x: ``(B, H, W, C)`` inputs; y: ``(B,)`` classes the attribution explains.
      attribution: ``(B, H, W, C)`` or ``(B, H, W, 1)`` maps at ``x``.
      key: draws of ``I``; num_perturbations: how many; noise: their std in input units.
      relative: divide by ``E[Δf²]`` (fraction of the change unexplained, in [0, 1]).
    """
    check_positive_int(num_perturbations, "num_perturbations")
    if attribution.shape[:3] != x.shape[:3] or attribution.shape[3] not in (1, x.shape[3]):
        raise ValueError(f"attribution {attribution.shape} does not fit inputs {x.shape}")
    f_x = select_logits(logits_fn(x), y)

    def draw(k):
        perturbation = noise * jax.random.normal(k, x.shape, x.dtype)
        change = f_x - select_logits(logits_fn(x - perturbation), y)
        return _per_example_dot(perturbation, attribution), change

    predicted, change = jax.lax.map(draw, jax.random.split(key, num_perturbations))  # (N, B)
    scale = jnp.sum(predicted * change, 0) / jnp.maximum(jnp.sum(predicted**2, 0), 1e-30)
    error = jnp.mean((scale * predicted - change) ** 2, axis=0)
    return error / jnp.maximum(jnp.mean(change**2, axis=0), 1e-30) if relative else error


def max_sensitivity(
    attribution_fn: Callable[[jax.Array], jax.Array],
    x: jax.Array,
    key: jax.Array,
    *,
    num_samples: int = 10,
    radius: float = 0.02,
) -> jax.Array:
    """Relative max-sensitivity, per example ``(B,)``.

    Args:
      attribution_fn: ``(B, H, W, C) -> (B, H, W, C')`` maps, examples independent; a
        stochastic method should close over a fixed key, so that the draws of the method do
        not count as sensitivity to the input.
      x: ``(B, H, W, C)``; key: the draws ``δ``; num_samples: how many; radius: L∞ radius in
        input units.
    """
    check_positive_int(num_samples, "num_samples")
    at_x = attribution_fn(x)
    norm = jnp.sqrt(_per_example_dot(at_x, at_x))

    def draw(k):
        delta = jax.random.uniform(k, x.shape, x.dtype, -radius, radius)
        moved = attribution_fn(x + delta) - at_x
        return jnp.sqrt(_per_example_dot(moved, moved))

    distances = jax.lax.map(draw, jax.random.split(key, num_samples))
    return jnp.max(distances, axis=0) / jnp.maximum(norm, 1e-30)


__all__ = ["infidelity", "max_sensitivity"]
