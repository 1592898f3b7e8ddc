"""Trace estimators that deflate the dominant eigenspace before probing the rest: Hutch++ and
XTrace, per example, from Hessian-vector products of a batched ``fn: (B, *event) -> (B,)``.

Both are unbiased and exact when the Hessian's rank is below their sketch size; at a budget of
``num_samples`` Hessian-vector products their variance is far below Hutchinson's when a few
eigenvalues dominate ``‖H‖_F``. The budget is spent whole: Hutch++ needs a multiple of 3
(sketch, its image, probes), XTrace an even number (probes, their basis's image); others are
refused rather than silently rounded down.

References: Meyer, Musco, Musco & Woodruff, "Hutch++", SOSA 2021; Epperly, Tropp & Webber,
"XTrace: making the most of every sample in stochastic trace estimation", SIMAX 2024 (its
"improved" variant: probes on the sphere of radius √D and each leave-one-out residual rescaled
to that sphere's complement).
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp

from gradjax.core.checks import check_choice, check_key, check_positive_int
from gradjax.core.trace import (
    PROBE_SAMPLERS,
    _hessian_vector_product,
    _mean_and_stderr,
    _prepared,
    map_over_samples,
    standard_error,
)


def _sphere(key, shape, dtype):
    """Gaussian columns scaled to the sphere of radius √D (``shape = (B, D, m)``)."""
    g = jax.random.normal(key, shape, dtype)
    return jnp.sqrt(shape[1]) * g / jnp.linalg.norm(g, axis=1, keepdims=True)


XTRACE_PROBES = {**PROBE_SAMPLERS, "sphere": _sphere}


def _budget(num_samples, num_matvecs, multiple: int, minimum: int, method: str) -> int:
    """The budget, from ``num_samples`` or the deprecated ``num_matvecs``; refuses one that
    is not a multiple of ``multiple`` or below ``minimum``."""
    if num_matvecs is not None:
        warnings.warn(
            f"{method}: num_matvecs is renamed num_samples (the Hessian-vector products per "
            "example, as for every estimator); num_matvecs will be removed.",
            DeprecationWarning,
            stacklevel=3,
        )
        num_samples = num_matvecs
    check_positive_int(num_samples, "num_samples")
    if num_samples < minimum or num_samples % multiple:
        lower = max(minimum, num_samples - num_samples % multiple)
        raise ValueError(
            f"num_samples must be a multiple of {multiple}, at least {minimum}, for {method} "
            f"(every product is used), got {num_samples}; {lower} or {lower + multiple} would "
            "be."
        )
    return num_samples


def _columns_hvp(fn, x: jax.Array):
    """``(B, D, m) -> (B, D, m)``: each example's Hessian times each of its ``m`` columns."""
    batch, dim = x.shape[0], x[0].size
    hvp = _hessian_vector_product(fn, x)

    def apply(columns):
        moved = jnp.moveaxis(columns, -1, 0).reshape(-1, *x.shape)
        out = map_over_samples(hvp, moved).reshape(columns.shape[-1], batch, dim)
        return jnp.moveaxis(out, 0, -1)

    return apply


def hutchpp_trace(
    fn,
    x: jax.Array,
    key: jax.Array,
    /,
    *,
    num_samples: int = 12,
    distribution: str = "rademacher",
    return_stderr: bool = False,
    num_matvecs: int | None = None,
) -> jax.Array | tuple[jax.Array, jax.Array]:
    """Hutch++ per example: low-rank deflation, then Hutchinson on the rest.

    With ``k = num_samples / 3``: ``Q = orth(H S)`` for ``k`` probe columns ``S``; the trace
    is ``tr(Qᵀ H Q) + (1/k) Σ gᵀ(I − QQᵀ) H (I − QQᵀ) g`` over ``k`` probes ``g``. Exact when
    ``rank H ≤ k``; unbiased always.

    Args:
      fn: ``(B, *event) -> (B,)``, examples independent.
      x: ``(B, *event)`` inputs (float16/bfloat16 promoted to float32).
      key: PRNG key.
      num_samples: Hessian-vector products per example, a multiple of 3 (``>= 3``).
      distribution: the probes' law, ``"rademacher"`` (the authors' choice) or ``"gaussian"``.
      return_stderr: also return the standard error of the Hutchinson part from its ``k``
        probes (the deflated part is exact given the sketch).
      num_matvecs: deprecated name of ``num_samples``.

    Returns:
      ``(B,)`` trace estimates, or ``(estimates, stderr)``.
    """
    num_samples = _budget(num_samples, num_matvecs, 3, 3, "Hutch++")
    x = _prepared(fn, x)
    check_key(key)
    check_choice(distribution, "distribution", PROBE_SAMPLERS)
    k = num_samples // 3
    batch, dim = x.shape[0], x[0].size
    apply = _columns_hvp(fn, x)
    key_s, key_g = jax.random.split(key)
    sample = PROBE_SAMPLERS[distribution]
    q, _ = jnp.linalg.qr(apply(sample(key_s, (batch, dim, k), x.dtype)))  # (B, D, k)
    low_rank = jnp.einsum("bdk,bdk->b", q, apply(q))
    g = sample(key_g, (batch, dim, k), x.dtype)
    g = g - q @ jnp.einsum("bdk,bdl->bkl", q, g)  # project out the captured subspace
    residual = jnp.einsum("bdk,bdk->kb", g, apply(g))  # (k, B): one quadratic form per probe
    estimate = low_rank + jnp.mean(residual, axis=0)
    return (estimate, standard_error(residual)) if return_stderr else estimate


def xtrace(
    fn,
    x: jax.Array,
    key: jax.Array,
    /,
    *,
    num_samples: int = 12,
    distribution: str = "sphere",
    improved: bool = True,
    return_stderr: bool = False,
    num_matvecs: int | None = None,
) -> jax.Array | tuple[jax.Array, jax.Array]:
    """XTrace per example: Hutch++'s deflation made exchangeable, every probe serving both as
    a sketch column and as a Hutchinson probe.

    With ``m = num_samples / 2`` probes ``Ω`` and ``Y = HΩ``: for each ``i``, ``Q_i`` spans
    ``Y`` without its column ``i``, ``u_i = (I − Q_iQ_iᵀ)ω_i`` and ``t_i = tr(Q_iᵀ H Q_i) +
    s_i·u_iᵀ H u_i``; the estimate is ``mean_i t_i``. Every ``Q_i`` lies in ``span(Q)`` for
    ``Y = QR``, so with ``Z = HQ`` all of it follows from ``2m`` products: ``Q_i = Q C_i`` with
    ``C_i = orth(R without column i)``, ``H Q_i = Z C_i`` and ``H ω_i = y_i``. ``s_i = 1``
    plainly; ``improved`` (with sphere probes) rescales each residual to the sphere of its
    ``D − m + 1``-dimensional complement, ``s_i = (D − m + 1)/‖u_i‖²``, which lowers the
    variance. Unbiased; exact when ``rank H < m``.

    Args:
      fn: ``(B, *event) -> (B,)``, examples independent.
      x: ``(B, *event)`` inputs (float16/bfloat16 promoted to float32).
      key: PRNG key.
      num_samples: Hessian-vector products per example, even and ``>= 4``.
      distribution: ``"sphere"`` (radius √D), ``"gaussian"`` or ``"rademacher"``.
      improved: the rescaled residuals (needs ``distribution="sphere"``).
      return_stderr: also return ``std(t_i, ddof=1)/√m``, the authors' error estimate (the
        ``t_i`` share probes, so it is a heuristic, not an exact standard error).
      num_matvecs: deprecated name of ``num_samples``.

    Returns:
      ``(B,)`` trace estimates, or ``(estimates, stderr)``.
    """
    num_samples = _budget(num_samples, num_matvecs, 2, 4, "XTrace")
    x = _prepared(fn, x)
    check_key(key)
    check_choice(distribution, "distribution", XTRACE_PROBES)
    if improved and distribution != "sphere":
        raise ValueError(
            f"improved XTrace rescales residuals of sphere probes; got distribution "
            f"{distribution!r}: pass distribution='sphere' or improved=False."
        )
    m = num_samples // 2
    batch, dim = x.shape[0], x[0].size
    apply = _columns_hvp(fn, x)
    omega = XTRACE_PROBES[distribution](key, (batch, dim, m), x.dtype)
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
        scale = (dim - m + 1) / jnp.sum(u * u, axis=1) if improved else 1.0
        return low_rank + scale * jnp.sum(u * hu, axis=1)

    estimates = jax.lax.map(leave_out, jnp.arange(m))  # (m, B)
    return _mean_and_stderr(estimates, return_stderr)


__all__ = ["XTRACE_PROBES", "hutchpp_trace", "xtrace"]
