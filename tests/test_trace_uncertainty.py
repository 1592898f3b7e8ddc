"""Standard errors of the stochastic trace estimators and the Hessian-free variance estimates,
against closed forms on per-example quadratics f_b(x) = ½ xᵀH_b x + g_bᵀx."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import random_quadratic

from gradjax.core.trace import hutchinson_trace, taylor_trace
from gradjax.core.trace_uncertainty import (
    estimated_hutchinson_variance,
    estimated_taylor_variance,
    frobenius_sq_estimate,
    gradient_sq_norm,
    hutchinson_variance,
    taylor_variance,
)

B, D = 3, 6


@pytest.fixture
def quadratic():
    fn, hessians, linear = random_quadratic(jax.random.key(0), B, D)
    x = jax.random.normal(jax.random.key(1), (B, D))
    grads = jnp.einsum("bij,bj->bi", hessians, x) + linear
    return fn, x, hessians, grads


def test_frobenius_estimate_is_unbiased_within_its_closed_form_spread(quadratic):
    fn, x, hessians, _ = quadratic
    n = 4000
    est, stderr = frobenius_sq_estimate(fn, x, jax.random.key(2), num_samples=n, return_stderr=True)
    exact = jnp.sum(hessians**2, axis=(1, 2))
    # ‖Hv‖² = vᵀH²v: a Gaussian quadratic form, variance 2·tr(H⁴).
    h2 = jnp.einsum("bij,bjk->bik", hessians, hessians)
    spread = jnp.sqrt(2 * jnp.sum(h2**2, axis=(1, 2)) / n)
    np.testing.assert_array_less(jnp.abs(est - exact), 5 * spread)
    np.testing.assert_allclose(stderr, spread, rtol=0.15)


def test_gradient_sq_norm_is_exact(quadratic):
    fn, x, _, grads = quadratic
    np.testing.assert_allclose(gradient_sq_norm(fn, x), jnp.sum(grads**2, -1), rtol=1e-5)


@pytest.mark.parametrize("central", [False, True])
def test_estimated_variances_match_the_closed_forms(quadratic, central):
    fn, x, hessians, grads = quadratic
    key = jax.random.key(3)
    np.testing.assert_allclose(
        estimated_hutchinson_variance(fn, x, key, num_samples=4, probes=4000),
        hutchinson_variance(hessians, num_samples=4),
        rtol=0.15,
    )
    np.testing.assert_allclose(
        estimated_taylor_variance(fn, x, key, 0.3, num_samples=2, central=central, probes=4000),
        taylor_variance(hessians, grads, 0.3, num_samples=2, central=central),
        rtol=0.15,
    )


def test_standard_errors_match_the_closed_form_variances(quadratic):
    fn, x, hessians, grads = quadratic
    n = 3000
    exact = jnp.trace(hessians, axis1=1, axis2=2)
    cases = [
        (
            hutchinson_trace(fn, x, jax.random.key(4), num_samples=n, return_stderr=True),
            hutchinson_variance(hessians, num_samples=n),
        ),
        (
            taylor_trace(fn, x, jax.random.key(5), 0.3, num_samples=n, return_stderr=True),
            taylor_variance(hessians, grads, 0.3, num_samples=n),
        ),
    ]
    for (estimate, stderr), variance in cases:
        np.testing.assert_allclose(stderr, jnp.sqrt(variance), rtol=0.15)
        np.testing.assert_array_less(jnp.abs(estimate - exact), 5 * stderr)


def test_one_sample_has_no_standard_error(quadratic):
    fn, x, _, _ = quadratic
    _, stderr = hutchinson_trace(fn, x, jax.random.key(0), return_stderr=True)
    assert stderr.shape == (B,) and bool(jnp.all(jnp.isnan(stderr)))


def test_fd_sliced_terms_are_unbiased_with_the_rademacher_spread(quadratic):
    # For quadratic f: f(x+v) + f(x−v) − 2f(x) = vᵀHv and (f(x+v) − f(x−v))/2 = vᵀ∇f exactly,
    # with v = σs, s Rademacher: Var(sᵀHs) = 2(‖H‖²_F − Σ H²ᵢᵢ), Var((sᵀg)²) = 2(‖g‖⁴ − Σ gᵢ⁴).
    from gradjax.core.estimators import fd_sliced_terms

    fn, x, hessians, grads = quadratic
    n, sigma = 20_000, 0.5
    terms = fd_sliced_terms(fn, x, jax.random.key(6), fn(x), sigma=sigma, num_samples=n)
    trace = jnp.trace(hessians, axis1=1, axis2=2)
    diag_sq = jnp.sum(jnp.diagonal(hessians, axis1=1, axis2=2) ** 2, -1)
    var_h = 2 * (jnp.sum(hessians**2, axis=(1, 2)) - diag_sq) / n
    g_sq = jnp.sum(grads**2, -1)
    var_g = 2 * (g_sq**2 - jnp.sum(grads**4, -1)) / n
    np.testing.assert_array_less(jnp.abs(terms["h"] - trace), 5 * jnp.sqrt(var_h) + 1e-3)
    np.testing.assert_array_less(jnp.abs(terms["grad_norm_sq"] - g_sq), 5 * jnp.sqrt(var_g) + 1e-3)


def test_score_matching_with_fd_ssm_takes_both_terms_from_forward_passes():
    from gradjax.core.estimators import make_trace_fn
    from gradjax.core.objectives import make_objective

    # Per-example quadratics as one "class" logit beside a zero logit.
    fn, hessians, linear = random_quadratic(jax.random.key(0), B, D)
    x = jax.random.normal(jax.random.key(1), (B, D))
    y = jnp.zeros(B, jnp.int32)

    @jax.custom_vjp
    def forward_only(z):
        return z

    def refuse_backward(residual, cotangent):
        raise AssertionError("a backward pass through the input")

    forward_only.defvjp(lambda z: (z, None), refuse_backward)

    def logits(params, z):
        return jnp.stack([params * fn(forward_only(z)), jnp.zeros(len(z))], axis=1)

    grads = jnp.einsum("bij,bj->bi", hessians, x) + linear
    loss_fn = make_objective(
        logits, "score-matching", trace_fn=make_trace_fn("fd-ssm", sigma=0.5, num_samples=50_000)
    )
    _, metrics = jax.jit(loss_fn)(1.0, (x, y), jax.random.key(2))
    np.testing.assert_allclose(
        metrics["h"], jnp.mean(jnp.trace(hessians, axis1=1, axis2=2)), atol=0.1
    )
    np.testing.assert_allclose(metrics["grad_norm_sq"], jnp.mean(jnp.sum(grads**2, -1)), rtol=0.05)
    # The default path back-propagates to the input for ‖∇x f‖², which the wrapper refuses.
    with pytest.raises(AssertionError, match="backward pass through the input"):
        make_objective(logits, "score-matching")(1.0, (x, y), jax.random.key(2))
