"""Logit- and loss-gradients against per-example loops, and the paper's invariance observations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gradjax import logit_gradients, logit_values_and_gradients, loss_gradients, select_logits


def per_example_loop(scalar_of_logits, logits_fn, x, y):
    """Reference: jax.grad of one example's scalar, one example at a time."""
    rows = []
    for b in range(x.shape[0]):
        one = lambda z, b=b: scalar_of_logits(logits_fn(z[None])[0], y[b])  # noqa: E731
        rows.append(jax.grad(one)(x[b]))
    return jnp.stack(rows)


def cross_entropy(logits, label):
    return -jax.nn.log_softmax(logits)[label]


def test_logit_gradients_match_per_example_loop(mlp):
    params, logits_fn, x, y = mlp
    fn = lambda z: logits_fn(params, z)  # noqa: E731
    got = jax.jit(logit_gradients, static_argnums=0)(fn, x, y)
    expected = per_example_loop(lambda logits, label: logits[label], fn, x, y)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_loss_gradients_match_per_example_loop(mlp):
    params, logits_fn, x, y = mlp
    fn = lambda z: logits_fn(params, z)  # noqa: E731
    got = jax.jit(loss_gradients, static_argnums=0)(fn, x, y)
    np.testing.assert_allclose(got, per_example_loop(cross_entropy, fn, x, y), rtol=1e-5, atol=1e-6)


def test_logit_values_and_gradients_returns_the_forward_logits(mlp):
    params, logits_fn, x, y = mlp
    fn = lambda z: logits_fn(params, z)  # noqa: E731
    logits, grads = logit_values_and_gradients(fn, x, y)
    np.testing.assert_allclose(logits, fn(x), rtol=1e-6)
    np.testing.assert_allclose(grads, logit_gradients(fn, x, y), rtol=1e-6)
    np.testing.assert_allclose(select_logits(logits, y), logits[jnp.arange(5), y], rtol=0)


def test_shift_by_any_g_leaves_loss_gradients_but_moves_logit_gradients(mlp):
    # Paper §3: f_i(x) + g(x) has the same softmax, hence the same loss and loss-gradients,
    # while every logit-gradient moves by ∇g(x).
    params, logits_fn, x, y = mlp
    fn = lambda z: logits_fn(params, z)  # noqa: E731
    g = lambda z: (
        50.0 * jnp.sin(3.0 * z.reshape(z.shape[0], -1)).sum(-1)
        + z.reshape(z.shape[0], -1) @ jnp.arange(6.0)
    )  # noqa: E731, E501
    shifted = lambda z: fn(z) + g(z)[:, None]  # noqa: E731
    np.testing.assert_allclose(
        jax.nn.log_softmax(shifted(x)), jax.nn.log_softmax(fn(x)), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        loss_gradients(shifted, x, y), loss_gradients(fn, x, y), rtol=1e-4, atol=1e-5
    )
    grad_g = jax.grad(lambda z: jnp.sum(g(z)))(x)
    np.testing.assert_allclose(
        logit_gradients(shifted, x, y), logit_gradients(fn, x, y) + grad_g, rtol=1e-5, atol=1e-4
    )
    assert np.abs(grad_g).max() > 10 * np.abs(logit_gradients(fn, x, y)).max()


@pytest.mark.parametrize("frequency", [10.0, 1000.0])
def test_small_sinusoid_on_the_loss_moves_gradients_arbitrarily(mlp, frequency):
    # Paper App. A.1: L + ε·sin(m·Σ_i x_i) stays within ε of L, but its gradient moves by
    # ε·m·cos(m·Σ_i x_i) in every coordinate, m·ε·D in L1 norm where the cosine is 1.
    params, logits_fn, x, y = mlp
    fn = lambda z: logits_fn(params, z)  # noqa: E731
    eps, dim = 1e-3, x[0].size
    # Move example 0 so that m·Σ_i x_i is a multiple of 2π: the bound is attained there.
    x = x.at[0].add((2 * np.pi * 7 / frequency - x[0].sum()) / dim)
    per_example_loss = lambda z: jax.vmap(cross_entropy)(fn(z), y)  # noqa: E731
    wiggled_loss = lambda z: (
        per_example_loss(z) + eps * jnp.sin(frequency * z.reshape(5, -1).sum(-1))
    )  # noqa: E731, E501
    assert np.all(np.abs(wiggled_loss(x) - per_example_loss(x)) <= eps * (1 + 1e-3))
    moved = loss_gradients(fn, x, y) - jax.grad(lambda z: jnp.sum(wiggled_loss(z)))(x)
    cos = jnp.cos(frequency * x.reshape(5, -1).sum(-1))
    np.testing.assert_allclose(
        -moved, eps * frequency * cos[:, None, None] * jnp.ones_like(x), rtol=5e-3, atol=1e-6
    )
    l1 = np.abs(np.asarray(moved)).reshape(5, -1).sum(-1)
    assert np.all(l1 <= frequency * eps * dim * (1 + 5e-3))
    np.testing.assert_allclose(l1[0], frequency * eps * dim, rtol=5e-3)


BAD = [
    (lambda f, x, y: logit_gradients(f, x.astype(jnp.int32), y), TypeError, "int32"),
    (lambda f, x, y: logit_gradients(f, x, y[:3]), ValueError, r"y must have shape \(5,\)"),
    (lambda f, x, y: loss_gradients(f, x, y.at[0].set(4)), ValueError, r"\[0, 4\)"),
    (lambda f, x, y: loss_gradients(f, x, y.at[0].set(-1)), ValueError, r"\[0, 4\)"),
    (lambda f, x, y: logit_gradients(f, x, y.astype(jnp.float32)), TypeError, "integer"),
    (lambda f, x, y: logit_gradients(lambda z: f(z)[:, 0], x, y), ValueError, r"\(5, C\)"),
]


@pytest.mark.parametrize("call, error, match", BAD)
def test_bad_arguments_raise_naming_the_argument(mlp, call, error, match):
    params, logits_fn, x, y = mlp
    with pytest.raises(error, match=match):
        call(lambda z: logits_fn(params, z), x, y)
