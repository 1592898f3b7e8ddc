"""How uncertain is a trace estimate, and how to reduce it, without building the Hessian?

The closed-form variances of :mod:`gradjax.core.trace` need ``‖H‖²_F`` and ``‖∇f‖²``; at CIFAR size
(D = 3072) the Hessian is out of reach, but both quantities are cheap:

* ``‖H‖²_F = tr(H²) = E‖Hv‖²`` for ``v ~ N(0, I)`` and symmetric ``H``: one Hessian-vector
  product per probe (:func:`frobenius_sq_estimate`);
* ``‖∇f‖²`` is one backward pass (:func:`gradient_sq_norm`).

So the variance of Hutchinson's estimator (``2‖H‖²_F / N``) and of the Taylor estimator
(``(2‖H‖²_F + 4σ⁻²‖∇f‖²) / N`` for quadratic ``f``) can be estimated per example, before
choosing N or σ; :func:`hutchpp_trace` and :func:`xtrace` lower it by low-rank deflation at
the same budget of Hessian-vector products. Functions take a batched
``fn: (B, *event) -> (B,)``, examples independent.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gradjax.core.checks import check_positive, check_positive_int
from gradjax.core.trace import (
    _check_fn_and_input,
    _hessian_vector_product,
    _map_over_samples,
    _mean_and_stderr,
)


def frobenius_sq_estimate(
    fn, x: jax.Array, key: jax.Array, /, *, num_samples: int = 8, return_stderr: bool = False
):
    """Unbiased per-example estimate of ``‖∇²x fn(x)‖²_F`` as ``mean_n ‖H v_n‖²``,
    ``v_n ~ N(0, I)``.

    Returns:
      ``(B,)`` estimates (and their standard errors with ``return_stderr``).
    """
    _check_fn_and_input(fn, x)
    check_positive_int(num_samples, "num_samples")
    probes = jax.random.normal(key, (num_samples, *x.shape), x.dtype)
    hvp = _hessian_vector_product(fn, x)
    batch = x.shape[0]
    squares = _map_over_samples(lambda v: jnp.sum(hvp(v).reshape(batch, -1) ** 2, -1), probes)
    return _mean_and_stderr(squares, return_stderr)


def gradient_sq_norm(fn, x: jax.Array, /) -> jax.Array:
    """``(B,)`` exact ``‖∇x fn(x)_b‖²`` from one backward pass of the batch sum."""
    _check_fn_and_input(fn, x)
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
    check_positive(sigma, "sigma")
    variance = estimated_hutchinson_variance(fn, x, key, num_samples=num_samples, probes=probes)
    if central:
        return variance
    return variance + 4.0 * gradient_sq_norm(fn, x) / (sigma**2 * num_samples)


def hutchpp_trace(fn, x: jax.Array, key: jax.Array, /, *, num_matvecs: int = 12) -> jax.Array:
    """Hutch++ (Meyer, Musco, Musco & Woodruff, SOSA 2021) per example: low-rank deflation, then
    Hutchinson on the rest, for ``num_matvecs`` Hessian-vector products in all.

    With ``k = num_matvecs // 3``: ``Q = orth(H S)`` for ``k`` Gaussian columns ``S``; the trace
    is ``tr(Qᵀ H Q) + (1/k) Σ gᵀ(I − QQᵀ) H (I − QQᵀ) g`` over ``k`` Gaussian probes ``g``.
    Exact when ``rank H ≤ k``; unbiased always; its variance is far below Hutchinson's at equal
    budget when a few eigenvalues dominate ``‖H‖_F``.

    Args:
      fn: ``(B, *event) -> (B,)``, examples independent.
      x: ``(B, *event)`` inputs.
      key: PRNG key.
      num_matvecs: Hessian-vector products per example, ``>= 3``.

    Returns:
      ``(B,)`` trace estimates.
    """
    _check_budget(fn, x, num_matvecs, 3, "Hutch++")
    k = num_matvecs // 3
    batch, dim = x.shape[0], x[0].size
    apply = _columns_hvp(fn, x)
    key_s, key_g = jax.random.split(key)
    sketch = jax.random.normal(key_s, (batch, dim, k), x.dtype)
    q, _ = jnp.linalg.qr(apply(sketch))  # (B, D, k)
    low_rank = jnp.einsum("bdk,bdk->b", q, apply(q))
    g = jax.random.normal(key_g, (batch, dim, k), x.dtype)
    g = g - q @ jnp.einsum("bdk,bdl->bkl", q, g)  # project out the captured subspace
    return low_rank + jnp.einsum("bdk,bdk->b", g, apply(g)) / k


def _check_budget(fn, x: jax.Array, num_matvecs: int, minimum: int, method: str) -> None:
    _check_fn_and_input(fn, x)
    check_positive_int(num_matvecs, "num_matvecs")
    if num_matvecs < minimum:
        raise ValueError(f"num_matvecs must be >= {minimum} for {method}, got {num_matvecs}.")


def _columns_hvp(fn, x: jax.Array):
    """``(B, D, m) -> (B, D, m)``: each example's Hessian times each of its ``m`` columns."""
    batch, dim = x.shape[0], x[0].size
    hvp = _hessian_vector_product(fn, x)

    def apply(columns):
        moved = jnp.moveaxis(columns, -1, 0).reshape(-1, *x.shape)
        out = _map_over_samples(hvp, moved).reshape(columns.shape[-1], batch, dim)
        return jnp.moveaxis(out, 0, -1)

    return apply


def xtrace(
    fn, x: jax.Array, key: jax.Array, /, *, num_matvecs: int = 12, return_stderr: bool = False
) -> jax.Array | tuple[jax.Array, jax.Array]:
    """XTrace (Epperly, Tropp & Webber, SIMAX 2024) per example: Hutch++'s deflation made
    exchangeable, every probe serving both as a sketch column and as a Hutchinson probe.

    With ``m = num_matvecs // 2`` Gaussian probes ``Ω`` and ``Y = HΩ``: for each ``i``, ``Q_i``
    spans ``Y`` without its column ``i``, and ``t_i = tr(Q_iᵀ H Q_i) + ω_iᵀ(I − Q_iQ_iᵀ) H
    (I − Q_iQ_iᵀ)ω_i``; the estimate is ``mean_i t_i``. Every ``Q_i`` lies in ``span(Q)`` for
    ``Y = QR``, so with ``Z = HQ`` all of it follows from ``2m`` Hessian-vector products:
    ``Q_i = Q C_i`` with ``C_i = orth(R without column i)``, ``H Q_i = Z C_i`` and
    ``H ω_i = y_i``. Unbiased; exact when ``rank H < m``.

    Args:
      fn: ``(B, *event) -> (B,)``, examples independent.
      x: ``(B, *event)`` inputs.
      key: PRNG key.
      num_matvecs: Hessian-vector products per example, ``>= 4``.
      return_stderr: also return ``std(t_i, ddof=1)/√m``, the paper's error estimate (the
        ``t_i`` share probes, so it is a heuristic, not an exact standard error).

    Returns:
      ``(B,)`` trace estimates, or ``(estimates, stderr)``.
    """
    _check_budget(fn, x, num_matvecs, 4, "XTrace")
    m = num_matvecs // 2
    batch, dim = x.shape[0], x[0].size
    apply = _columns_hvp(fn, x)
    omega = jax.random.normal(key, (batch, dim, m), x.dtype)
    y = apply(omega)
    q, r = jnp.linalg.qr(y)  # (B, D, m), (B, m, m)
    z = apply(q)
    h = jnp.einsum("bdk,bdl->bkl", q, z)
    h = 0.5 * (h + jnp.swapaxes(h, 1, 2))  # symmetric up to rounding
    w = jnp.einsum("bdk,bdi->bki", q, omega)  # Qᵀω_i, column i
    others = jnp.array([[j for j in range(m) if j != i] for i in range(m)])  # (m, m - 1)

    def leave_out(i):
        c, _ = jnp.linalg.qr(r[:, :, others[i]])  # (B, m, m - 1): orth(R without column i)
        in_span = jnp.einsum("bkj,bj->bk", c, jnp.einsum("bkj,bk->bj", c, w[:, :, i]))
        low_rank = jnp.einsum("bkj,bkl,blj->b", c, h, c)
        u = omega[:, :, i] - jnp.einsum("bdk,bk->bd", q, in_span)
        hu = y[:, :, i] - jnp.einsum("bdk,bk->bd", z, in_span)
        return low_rank + jnp.sum(u * hu, axis=1)

    estimates = jax.lax.map(leave_out, jnp.arange(m))  # (m, B)
    return _mean_and_stderr(estimates, return_stderr)


__all__ = [
    "estimated_hutchinson_variance",
    "estimated_taylor_variance",
    "frobenius_sq_estimate",
    "gradient_sq_norm",
    "hutchpp_trace",
    "xtrace",
]
