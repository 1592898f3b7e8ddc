"""Arguments that used to give a silent wrong answer now give the right one or a clear error
naming the argument: half-precision inputs, labels, sigma, PRNG keys, Hessian shapes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradjax

A = jnp.array([0.3, -0.5, 0.62])  # per-dimension curvatures: the trace is 0.42


def quadratic(x):
    """(B, 3) -> (B,): ½ Σ a_i x_i², its Hessian diag(a) whatever x."""
    return 0.5 * jnp.sum(A * x**2, axis=1)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
@pytest.mark.parametrize("central", [False, True])
def test_half_precision_taylor_estimates_are_unbiased(dtype, central):
    x = jnp.array([[0.5, -1.0, 2.0]], dtype)
    keys = jax.random.split(jax.random.key(0), 2000)
    draws = jax.vmap(lambda k: gradjax.taylor_trace(quadratic, x, k, 0.1, central=central))(keys)
    assert draws.dtype == jnp.float32
    mean, se = float(draws.mean()), float(draws.std() / np.sqrt(len(keys)))
    assert abs(mean - 0.42) < 3 * se, (mean, se)


@pytest.mark.parametrize("estimator", [gradjax.hutchpp_trace, gradjax.xtrace])
def test_half_precision_inputs_reach_the_deflating_estimators_in_float32(estimator):
    x = jnp.array([[0.5, -1.0, 2.0]], jnp.bfloat16)
    got = estimator(quadratic, x, jax.random.key(0), num_samples=6)  # rank 3 < 6 / 2 … exact
    assert got.dtype == jnp.float32
    if estimator is gradjax.hutchpp_trace:  # k = 2 < rank: not exact, only finite
        assert bool(jnp.isfinite(got).all())
    else:
        np.testing.assert_allclose(got, [0.42], rtol=1e-4)


def test_labels_are_checked_when_concrete_and_nan_under_jit():
    logits = jnp.zeros((2, 3))
    with pytest.raises(ValueError, match=r"y must hold labels in \[0, 3\)"):
        gradjax.select_logits(logits, jnp.array([0, 3]))
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        gradjax.select_logits(logits, jnp.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        gradjax.select_logits(logits, jnp.array([0, 1, 2]))
    # Traced labels cannot be checked: an out-of-range one gives NaN, never a plausible number.
    out = jax.jit(gradjax.select_logits)(logits, jnp.array([0, 3]))
    assert float(out[0]) == 0.0 and bool(jnp.isnan(out[1]))
    # hessian_trace and taylor_trace of such an f_y refuse it outside jit.
    x = jnp.ones((2, 4))

    def f_y(z):
        return gradjax.select_logits(
            jnp.stack([z.sum(1), -z.sum(1), z[:, 0]], 1), jnp.array([0, 5])
        )

    with pytest.raises(ValueError, match="labels in"):
        gradjax.hessian_trace(f_y, x)
    with pytest.raises(ValueError, match="labels in"):
        gradjax.taylor_trace(f_y, x, jax.random.key(0), 0.1)


@pytest.mark.parametrize("sigma", [float("inf"), float("nan"), 0.0, -0.1])
def test_sigma_must_be_a_finite_positive_number(sigma):
    x = jnp.ones((1, 3))
    with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
        gradjax.taylor_trace(quadratic, x, jax.random.key(0), sigma)
    with pytest.raises(ValueError, match="sigma must be a scalar"):
        gradjax.taylor_trace(quadratic, x, jax.random.key(0), jnp.array([0.1, 0.2]))


@pytest.mark.parametrize(
    "key, error, message",
    [
        (0, TypeError, "key must be a PRNG key from jax.random.key"),
        (jnp.zeros(3, jnp.uint32), TypeError, "key must be a PRNG key"),
        (jax.random.split(jax.random.key(0), 2), ValueError, "one PRNG key"),
    ],
)
def test_a_bad_key_is_named(key, error, message):
    x = jnp.ones((1, 3))
    for estimate in (
        lambda k: gradjax.hutchinson_trace(quadratic, x, k),
        lambda k: gradjax.taylor_trace(quadratic, x, k, 0.1),
        lambda k: gradjax.hutchpp_trace(quadratic, x, k, num_samples=3),
    ):
        with pytest.raises(error, match=message):
            estimate(key)
    # Legacy uint32[2] keys still work.
    gradjax.hutchinson_trace(quadratic, x, jax.random.PRNGKey(0))


def test_hessians_must_be_square_and_gradients_match_them():
    with pytest.raises(ValueError, match=r"hessian must have shape \(\.\.\., D, D\)"):
        gradjax.hutchinson_variance(jnp.ones((3, 4)))
    with pytest.raises(ValueError, match=r"gradient must have shape \(2, 4\)"):
        gradjax.taylor_variance(jnp.ones((2, 4, 4)), jnp.ones((2, 3)), 0.1)
    np.testing.assert_allclose(gradjax.hutchinson_variance(jnp.eye(3)), 6.0)
