"""Sampling from the implicit density ``p(x | y) ∝ exp f_y(x)`` by gradient ascent on ``f_y``
(activity maximisation: arXiv v1 §4.2.1, ``x ← clamp(x + α∇x f_y(x), 0, 1)``; "denoising" from
test images with N(0, 0.1²) noise, arXiv v1 Fig. 5 and thesis Fig. 5.8), with the thesis's
Langevin variant (§5.10) as an option.

A model whose logit-gradients are the score of a density aligned with the data should produce
recognisable class samples; one whose gradients are unrelated to the data produces noise.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gradjax.core.checks import check_positive, check_positive_int
from gradjax.core.gradients import LogitsFn, logit_values_and_gradients, select_logits
from gradjax.core.loops import resolve_unroll


def gradient_ascent(
    logits_fn: LogitsFn,
    x0: jax.Array,
    y: jax.Array,
    *,
    steps: int = 100,
    step_size: float = 0.01,
    normalize: bool = False,
    langevin_scale: float = 0.0,
    key: jax.Array | None = None,
    clip: tuple[float, float] | None = (0.0, 1.0),
    unroll: bool | None = None,
) -> tuple[jax.Array, jax.Array]:
    """``steps`` updates ``x ← clip(x + α·d + √(2α)·s·ε)`` towards higher ``f_y``.

    Args:
      logits_fn: ``(B, *event) -> (B, C)``.
      x0: ``(B, *event)`` start (uniform noise, or noisy data for denoising).
      y: ``(B,)`` classes to sample.
      steps: number of updates.
      step_size: their size α.
      normalize: ``False`` (the paper's): ``d = ∇f_y``, plain gradient ascent / Langevin
        dynamics; ``True``: ``d = ∇f_y / rms(∇f_y)`` per example, so α is a per-pixel step in
        input units and models whose gradients differ in scale take equal step lengths.
      langevin_scale: ``s``; 0 is noise-free ascent, 1 with ``normalize=False`` is the
        unadjusted Langevin algorithm for ``exp f_y``.
      key: PRNG key, needed when ``langevin_scale > 0``.
      clip: the pixel range the iterates are clamped to; ``None``: no clamping.
      unroll: unroll the loop over the steps (default: on CPU, :mod:`gradjax.core.loops`).

    Returns:
      ``(x, trajectory)``: final samples of the shape of ``x0`` and ``(steps + 1, B)`` values
      of ``f_y`` along the way.
    """
    check_positive_int(steps, "steps")
    check_positive(step_size, "step_size")
    if langevin_scale and key is None:
        raise ValueError("gradient_ascent needs a key when langevin_scale > 0.")
    key = jax.random.key(0) if key is None else key

    def step(x, k):
        logits, grad = logit_values_and_gradients(logits_fn, x, y)
        if normalize:
            rms = jnp.sqrt(jnp.mean(grad.reshape(len(x), -1) ** 2, axis=1))
            grad = grad / jnp.maximum(rms, 1e-12).reshape(-1, *([1] * (x.ndim - 1)))
        x = x + step_size * grad
        if langevin_scale:
            x = x + jnp.sqrt(2 * step_size) * langevin_scale * jax.random.normal(k, x.shape)
        if clip is not None:
            x = jnp.clip(x, *clip)
        return x, select_logits(logits, y)

    x, values = jax.lax.scan(
        step, x0, jax.random.split(key, steps), unroll=resolve_unroll(unroll, steps)
    )
    final = select_logits(logits_fn(x), y)
    return x, jnp.concatenate([values, final[None]], axis=0)


def noisy_start(
    x: jax.Array, key: jax.Array, sigma: float, clip: tuple[float, float] = (0.0, 1.0)
) -> jax.Array:
    """Data plus Gaussian noise, clamped: the starting point of "denoising" samples."""
    return jnp.clip(x + sigma * jax.random.normal(key, x.shape, x.dtype), *clip)


__all__ = ["gradient_ascent", "noisy_start"]
