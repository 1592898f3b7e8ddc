"""Density ratios of the implicit class-conditional model (Srinivas & Fleuret, 2021, Fig. 1).

With logits read as unnormalised log-densities, ``log p(x+η | y) − log p(x | y) =
f_y(x + η) − f_y(x)``: a model whose implicit density is aligned with the data should find
noisy images *less* likely than clean ones, increasingly so as the noise grows.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gradjax.core.gradients import LogitsFn, select_logits


def density_ratios(
    logits_fn: LogitsFn,
    x: jax.Array,
    y: jax.Array,
    key: jax.Array,
    sigmas: jax.Array,
) -> jax.Array:
    """``f_y(x + η) − f_y(x)`` with ``η ~ N(0, σ²I)``, one draw per example and noise level.

    Args:
      logits_fn: ``(B, *event) -> (B, C)``.
      x: ``(B, *event)`` inputs (pixels in [0, 1]); the noisy inputs are not clipped: the
        implicit density is over the whole input space.
      y: ``(B,)`` labels.
      key: PRNG key; the same standard-normal draw is scaled by every σ, so the curve over σ
        is smooth.
      sigmas: ``(S,)`` noise standard deviations (σ = 0 gives exactly 0).

    Returns:
      ``(S, B)`` log-density ratios.
    """
    sigmas = jnp.asarray(sigmas, x.dtype)
    noise = jax.random.normal(key, x.shape, x.dtype)
    both_y = jnp.concatenate([y, y])

    def at(sigma):
        # Clean and noisy images in one call: the same program evaluates both, so σ = 0 gives
        # exactly 0 rather than the rounding difference of two differently fused programs.
        f = select_logits(logits_fn(jnp.concatenate([x, x + sigma * noise])), both_y)
        return f[len(x) :] - f[: len(x)]

    return jax.lax.map(at, sigmas)


def check_sigmas(sigmas) -> np.ndarray:
    """Validates a noise grid: a non-empty 1-D sequence of finite values ≥ 0."""
    sigmas = np.asarray(sigmas, np.float32)
    if sigmas.ndim != 1 or not len(sigmas) or not np.all(np.isfinite(sigmas) & (sigmas >= 0)):
        raise ValueError(f"sigmas must be a non-empty 1-D sequence of values >= 0, got {sigmas}.")
    return sigmas


__all__ = ["check_sigmas", "density_ratios"]
