"""How uncertain is a trace estimate, and how to reduce it, without building the Hessian?

The closed-form variances (:func:`hutchinson_variance`, :func:`taylor_variance`) need
``‖H‖²_F`` and ``‖∇f‖²``; at CIFAR size
(D = 3072) the Hessian is out of reach, but both quantities are cheap:

* ``‖H‖²_F = tr(H²) = E‖Hv‖²`` for ``v ~ N(0, I)`` and symmetric ``H``: one Hessian-vector
  product per probe (:func:`frobenius_sq_estimate`);
* ``‖∇f‖²`` is one backward pass (:func:`gradient_sq_norm`).

So the variance of Hutchinson's estimator (``2‖H‖²_F / N``) and of the Taylor estimator
(``(2‖H‖²_F + 4σ⁻²‖∇f‖²) / N`` for quadratic ``f``) can be estimated per example, before
choosing N or σ; :mod:`gradjax.core.deflation` lowers it by low-rank deflation at the same
budget of Hessian-vector products. Functions take a batched
``fn: (B, *event) -> (B,)``, examples independent.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gradjax.core.checks import (
    check_choice,
    check_finite_positive_scalar,
    check_key,
    check_positive_int,
    check_square,
)
from gradjax.core.trace import (
    PROBE_SAMPLERS,
    _hessian_vector_product,
    _mean_and_stderr,
    _prepared,
    map_over_samples,
)


def hutchinson_variance(
    hessian: jax.Array, /, *, num_samples: int = 1, distribution: str = "gaussian"
) -> jax.Array:
    """Closed-form variance of :func:`hutchinson_trace` for a Hessian ``H`` (exact for any f).

    Gaussian probes: ``2‖H‖²_F / N``; Rademacher: ``2(‖H‖²_F − Σ_i H²_ii) / N``.

    Args:
      hessian: ``(..., D, D)`` symmetric Hessians.
      num_samples: probes averaged, ``N >= 1``.
      distribution: ``"gaussian"`` or ``"rademacher"``.

    Returns:
      ``(...)`` variances.
    """
    check_square(hessian, "hessian")
    check_positive_int(num_samples, "num_samples")
    check_choice(distribution, "distribution", PROBE_SAMPLERS)
    frobenius_sq = jnp.sum(hessian**2, axis=(-2, -1))
    if distribution == "rademacher":
        frobenius_sq = frobenius_sq - jnp.sum(jnp.diagonal(hessian, axis1=-2, axis2=-1) ** 2, -1)
    return 2.0 * frobenius_sq / num_samples


def taylor_variance(
    hessian: jax.Array,
    gradient: jax.Array,
    sigma: float,
    /,
    *,
    num_samples: int = 1,
    central: bool = False,
) -> jax.Array:
    """Closed-form variance of :func:`taylor_trace` for a *quadratic* ``fn``.

    With ``v = σz``, the forward difference is ``2∇fᵀz/σ + zᵀHz``: variance
    ``(2‖H‖²_F + 4σ⁻²‖∇f‖²) / N`` (the cross term vanishes by symmetry of the Gaussian). The
    central difference is exactly ``zᵀHz``: the Gaussian Hutchinson variance ``2‖H‖²_F / N``.

    Args:
      hessian: ``(..., D, D)`` Hessians.
      gradient: ``(..., D)`` gradients at the evaluation point.
      sigma: perturbation standard deviation, ``> 0``.
      num_samples: perturbations averaged, ``N >= 1``.
      central: the central-difference variant.

    Returns:
      ``(...)`` variances.
    """
    check_finite_positive_scalar(sigma, "sigma")
    dim = check_square(hessian, "hessian")
    if jnp.shape(gradient) != (*jnp.shape(hessian)[:-2], dim):
        raise ValueError(
            f"gradient must have shape {(*jnp.shape(hessian)[:-2], dim)} to match the hessian, "
            f"got {jnp.shape(gradient)}."
        )
    variance = hutchinson_variance(hessian, num_samples=num_samples)
    if central:
        return variance
    return variance + 4.0 * jnp.sum(gradient**2, axis=-1) / (sigma**2 * num_samples)


def frobenius_sq_estimate(
    fn, x: jax.Array, key: jax.Array, /, *, num_samples: int = 8, return_stderr: bool = False
):
    """Unbiased per-example estimate of ``‖∇²x fn(x)‖²_F`` as ``mean_n ‖H v_n‖²``,
    ``v_n ~ N(0, I)``.

    Returns:
      ``(B,)`` estimates (and their standard errors with ``return_stderr``).
    """
    x = _prepared(fn, x)
    check_key(key)
    check_positive_int(num_samples, "num_samples")
    probes = jax.random.normal(key, (num_samples, *x.shape), x.dtype)
    hvp = _hessian_vector_product(fn, x)
    batch = x.shape[0]
    squares = map_over_samples(lambda v: jnp.sum(hvp(v).reshape(batch, -1) ** 2, -1), probes)
    return _mean_and_stderr(squares, return_stderr)


def gradient_sq_norm(fn, x: jax.Array, /) -> jax.Array:
    """``(B,)`` exact ``‖∇x fn(x)_b‖²`` from one backward pass of the batch sum."""
    x = _prepared(fn, x)
    grads = jax.grad(lambda z: jnp.sum(fn(z)))(x)
    return jnp.sum(grads.reshape(x.shape[0], -1) ** 2, axis=-1)


def estimated_hutchinson_variance(
    fn, x: jax.Array, key: jax.Array, /, *, num_samples: int = 1, probes: int = 8
) -> jax.Array:
    """``(B,)`` estimate of :func:`gradjax.core.trace.hutchinson_variance` (gaussian probes, ``N =
    num_samples``) from ``probes`` Hessian-vector products, no Hessian."""
    check_positive_int(num_samples, "num_samples")
    return 2.0 * frobenius_sq_estimate(fn, x, key, num_samples=probes) / num_samples


def estimated_taylor_variance(
    fn,
    x: jax.Array,
    key: jax.Array,
    /,
    sigma: float,
    *,
    num_samples: int = 1,
    central: bool = False,
    probes: int = 8,
) -> jax.Array:
    """``(B,)`` estimate of :func:`gradjax.core.trace.taylor_variance` (exact for quadratic ``fn``):
    ``(2‖H‖²_F + 4σ⁻²‖∇f‖²) / N``, the second term only for the forward difference."""
    check_finite_positive_scalar(sigma, "sigma")
    variance = estimated_hutchinson_variance(fn, x, key, num_samples=num_samples, probes=probes)
    if central:
        return variance
    return variance + 4.0 * gradient_sq_norm(fn, x) / (sigma**2 * num_samples)


__all__ = [
    "estimated_hutchinson_variance",
    "estimated_taylor_variance",
    "frobenius_sq_estimate",
    "gradient_sq_norm",
    "hutchinson_variance",
    "taylor_variance",
]
