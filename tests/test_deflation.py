"""Hutch++ and XTrace against their definitions built by loops on explicit Hessians, exact
below their rank, unbiased with low variance, and the budget and probe options."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gradjax.core.deflation import hutchpp_trace, xtrace
from gradjax.core.trace import hutchinson_trace
from gradjax.core.trace_uncertainty import hutchinson_variance

B, D = 3, 10


def low_rank_quadratic(key, rank, noise):
    """Per-example f_b(x) = ½ xᵀ H_b x with H_b = U diag(big) Uᵀ + noise·(small symmetric)."""
    k1, k2, k3 = jax.random.split(key, 3)
    u = jax.random.normal(k1, (B, D, rank))
    big = jnp.einsum("bik,bjk->bij", u, u) * 3.0
    a = jax.random.normal(k2, (B, D, D)) / jnp.sqrt(D)
    hessians = big + noise * (a + jnp.swapaxes(a, 1, 2))
    x = jax.random.normal(k3, (B, D))

    def fn(z):
        return 0.5 * jnp.einsum("bi,bij,bj->b", z, hessians, z)

    return fn, x, hessians


def test_hutchpp_is_exact_for_a_low_rank_hessian():
    fn, x, hessians = low_rank_quadratic(jax.random.key(0), rank=2, noise=0.0)
    exact = jnp.trace(hessians, axis1=1, axis2=2)
    for distribution in ("rademacher", "gaussian"):
        got = hutchpp_trace(fn, x, jax.random.key(1), num_samples=6, distribution=distribution)
        np.testing.assert_allclose(got, exact, rtol=1e-4)


def test_hutchpp_matches_its_definition_with_the_probes_standard_error():
    fn, x, hessians = low_rank_quadratic(jax.random.key(10), rank=3, noise=0.2)
    key, k = jax.random.key(11), 2
    got, stderr = hutchpp_trace(fn, x, key, num_samples=3 * k, return_stderr=True)
    key_s, key_g = jax.random.split(key)
    s = np.asarray(jax.random.rademacher(key_s, (B, D, k), jnp.float32), np.float64)
    g = np.asarray(jax.random.rademacher(key_g, (B, D, k), jnp.float32), np.float64)
    h64 = np.asarray(hessians, np.float64)
    for b in range(B):
        q, _ = np.linalg.qr(h64[b] @ s[b])
        p = np.eye(D) - q @ q.T
        residual = [g[b][:, j] @ p @ h64[b] @ p @ g[b][:, j] for j in range(k)]
        want = np.trace(q.T @ h64[b] @ q) + np.mean(residual)
        np.testing.assert_allclose(got[b], want, rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(stderr[b], np.std(residual, ddof=1) / np.sqrt(k), rtol=1e-2)


def test_hutchpp_is_unbiased_and_beats_hutchinson_at_equal_budget():
    fn, x, hessians = low_rank_quadratic(jax.random.key(2), rank=2, noise=0.1)
    exact = jnp.trace(hessians, axis1=1, axis2=2)
    keys = jax.random.split(jax.random.key(3), 400)
    pp = jax.vmap(lambda k: hutchpp_trace(fn, x, k, num_samples=6))(keys)
    plain = jax.vmap(lambda k: hutchinson_trace(fn, x, k, num_samples=6))(keys)
    # Unbiased: the mean of 400 draws within 5 of its own standard errors.
    np.testing.assert_array_less(jnp.abs(pp.mean(0) - exact), 5 * pp.std(0) / 20 + 1e-4)
    # Far lower variance than plain Hutchinson's closed form 2‖H‖²_F / 6 (and its draws).
    closed = hutchinson_variance(hessians, num_samples=6)
    np.testing.assert_allclose(plain.var(0), closed, rtol=0.3)
    np.testing.assert_array_less(pp.var(0), 0.1 * closed)


def _xtrace_by_loop(hessian, omega, improved):
    """XTrace as defined, one QR per left-out probe, on an explicit Hessian."""
    dim, m = omega.shape
    estimates = []
    for i in range(m):
        q, _ = np.linalg.qr(hessian @ np.delete(omega, i, axis=1))
        p = np.eye(dim) - q @ q.T
        u = p @ omega[:, i]
        scale = (dim - m + 1) / (u @ u) if improved else 1.0
        estimates.append(np.trace(q.T @ hessian @ q) + scale * u @ hessian @ u)
    return np.asarray(estimates)


@pytest.mark.parametrize("improved", [False, True])
def test_xtrace_matches_its_definition_built_by_a_loop(improved):
    fn, x, hessians = low_rank_quadratic(jax.random.key(4), rank=3, noise=0.2)
    key, m = jax.random.key(5), 4
    distribution = "sphere" if improved else "gaussian"
    got, stderr = xtrace(
        fn,
        x,
        key,
        num_samples=2 * m,
        distribution=distribution,
        improved=improved,
        return_stderr=True,
    )
    g = np.asarray(jax.random.normal(key, (B, D, m)), np.float64)
    omega = np.sqrt(D) * g / np.linalg.norm(g, axis=1, keepdims=True) if improved else g
    for b in range(B):
        estimates = _xtrace_by_loop(np.asarray(hessians[b], np.float64), omega[b], improved)
        np.testing.assert_allclose(got[b], estimates.mean(), rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(stderr[b], estimates.std(ddof=1) / np.sqrt(m), rtol=1e-2)


def test_xtrace_is_exact_below_its_rank_and_unbiased_with_low_variance():
    fn, x, hessians = low_rank_quadratic(jax.random.key(6), rank=2, noise=0.0)
    got = xtrace(fn, x, jax.random.key(7), num_samples=6)  # m = 3 > rank
    np.testing.assert_allclose(got, jnp.trace(hessians, axis1=1, axis2=2), rtol=1e-4)
    fn, x, hessians = low_rank_quadratic(jax.random.key(8), rank=2, noise=0.1)
    exact = jnp.trace(hessians, axis1=1, axis2=2)
    keys = jax.random.split(jax.random.key(9), 400)
    for improved, distribution in ((True, "sphere"), (False, "gaussian"), (False, "rademacher")):
        xt = jax.vmap(
            lambda k, i=improved, d=distribution: xtrace(
                fn, x, k, num_samples=6, improved=i, distribution=d
            )
        )(keys)
        np.testing.assert_array_less(jnp.abs(xt.mean(0) - exact), 5 * xt.std(0) / 20 + 1e-4)
        closed = hutchinson_variance(hessians, num_samples=6)
        np.testing.assert_array_less(xt.var(0), 0.1 * closed)


@pytest.mark.parametrize(
    "method, budget, message",
    [
        (hutchpp_trace, 14, "multiple of 3, at least 3, for Hutch\\+\\+.*got 14; 12 or 15"),
        (hutchpp_trace, 0, "num_samples must be >= 1"),
        (hutchpp_trace, 2, "at least 3"),
        (xtrace, 7, "multiple of 2, at least 4, for XTrace.*got 7; 6 or 8"),
        (xtrace, 2, "at least 4"),
    ],
)
def test_a_budget_that_would_leave_products_unused_is_refused(method, budget, message):
    fn, x, _ = low_rank_quadratic(jax.random.key(0), rank=2, noise=0.0)
    with pytest.raises(ValueError, match=message):
        method(fn, x, jax.random.key(0), num_samples=budget)


def test_num_matvecs_still_works_with_a_deprecation_warning():
    fn, x, _ = low_rank_quadratic(jax.random.key(0), rank=2, noise=0.1)
    with pytest.warns(DeprecationWarning, match="renamed num_samples"):
        old = hutchpp_trace(fn, x, jax.random.key(1), num_matvecs=6)
    np.testing.assert_array_equal(old, hutchpp_trace(fn, x, jax.random.key(1), num_samples=6))
    with pytest.raises(ValueError, match="improved XTrace"):
        xtrace(fn, x, jax.random.key(0), distribution="gaussian")
