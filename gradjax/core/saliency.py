"""Gradient-based saliency maps as pure functions of ``logits_fn: (B, H, W, C) -> (B, classes)``
(examples independent), each returning an array of the input's shape: gradient × input, the
SmoothGrad family and Integrated Gradients, and :func:`pixel_relevance`, the per-pixel reduction
the pixel-perturbation test ranks. The registry of methods the measurements compare (with
FullGrad, which needs a Flax model's layers) is :mod:`gradjax.evaluation.saliency_methods`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gradjax.core.checks import check_positive_int
from gradjax.core.gradients import LogitsFn, logit_gradients
from gradjax.core.loops import resolve_unroll


def gradient_x_input(logits_fn: LogitsFn, x: jax.Array, y: jax.Array) -> jax.Array:
    """``∇x f_y(x) ⊙ x``, the shape of ``x``."""
    return logit_gradients(logits_fn, x, y) * x


def noisy_gradient_moments(
    logits_fn: LogitsFn,
    x: jax.Array,
    y: jax.Array,
    key: jax.Array,
    *,
    num_samples: int = 16,
    noise: float = 0.15,
    unroll: bool | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Mean and (biased) variance over ``ε ~ N(0, noise²I)`` of ``g = ∇x f_y(x + ε)``, each of
    the input's shape, from ``num_samples`` draws.

    ``noise`` is in input units (pixels in [0, 1]: 0.15 is 15% of the range, SmoothGrad's
    default). The draws are scanned with Welford's update, so memory is that of a few gradients
    whatever ``num_samples`` is, and the variance has no ``E[g²] − E[g]²`` cancellation.
    ``unroll``: unroll the scan (default: on CPU, :mod:`gradjax.core.loops`).
    """
    check_positive_int(num_samples, "num_samples")

    def step(carry, k):
        count, mean, m2 = carry
        g = logit_gradients(logits_fn, x + noise * jax.random.normal(k, x.shape, x.dtype), y)
        count = count + 1
        delta = g - mean
        mean = mean + delta / count
        return (count, mean, m2 + delta * (g - mean)), None

    zeros = jnp.zeros_like(x)
    init = (jnp.zeros((), x.dtype), zeros, zeros)
    (_, mean, m2), _ = jax.lax.scan(
        step, init, jax.random.split(key, num_samples), unroll=resolve_unroll(unroll, num_samples)
    )
    return mean, m2 / num_samples


def smoothgrad(logits_fn: LogitsFn, x: jax.Array, y: jax.Array, key: jax.Array, **noise_kw):
    """SmoothGrad (Smilkov et al., 2017): ``E[∇x f_y(x + ε)]``; keywords as
    :func:`noisy_gradient_moments`."""
    return noisy_gradient_moments(logits_fn, x, y, key, **noise_kw)[0]


def smoothgrad_squared(logits_fn: LogitsFn, x: jax.Array, y: jax.Array, key: jax.Array, **noise_kw):
    """SmoothGrad² (Hooker et al., 2019): ``E[(∇x f_y(x + ε))²]`` = mean² + variance."""
    mean, var = noisy_gradient_moments(logits_fn, x, y, key, **noise_kw)
    return mean**2 + var


def vargrad(logits_fn: LogitsFn, x: jax.Array, y: jax.Array, key: jax.Array, **noise_kw):
    """VarGrad (Adebayo et al., 2018): ``Var[∇x f_y(x + ε)]``, element-wise. For a model whose
    logit is quadratic in x it is independent of x (``noise²·diag(HHᵀ)``): it shows the
    curvature, not the input."""
    return noisy_gradient_moments(logits_fn, x, y, key, **noise_kw)[1]


def integrated_gradients(
    logits_fn: LogitsFn,
    x: jax.Array,
    y: jax.Array,
    *,
    baseline: jax.Array | None = None,
    steps: int = 32,
    unroll: bool | None = None,
) -> jax.Array:
    """Integrated Gradients (Sundararajan et al., 2017) by the midpoint rule.

    ``(x − x₀) ⊙ mean_k ∇f_y(x₀ + (k + ½)/steps · (x − x₀))`` with baseline ``x₀`` (default
    zeros, a black image). Its sum over the input approaches ``f_y(x) − f_y(x₀)``
    (completeness) as ``steps`` grows. ``unroll``: unroll the loop over the steps (default: on
    CPU, :mod:`gradjax.core.loops`).
    """
    check_positive_int(steps, "steps")
    baseline = jnp.zeros_like(x) if baseline is None else baseline
    alphas = (jnp.arange(steps, dtype=x.dtype) + 0.5) / steps

    def add(total, alpha):
        return total + logit_gradients(logits_fn, baseline + alpha * (x - baseline), y), None

    total, _ = jax.lax.scan(add, jnp.zeros_like(x), alphas, unroll=resolve_unroll(unroll, steps))
    return (x - baseline) * total / steps


def pixel_relevance(saliency: jax.Array) -> jax.Array:
    """``(B, H, W, C) -> (B, H, W)``: absolute values summed over channels."""
    return jnp.sum(jnp.abs(saliency), axis=-1)


__all__ = [
    "gradient_x_input",
    "integrated_gradients",
    "noisy_gradient_moments",
    "pixel_relevance",
    "smoothgrad",
    "smoothgrad_squared",
    "vargrad",
]
