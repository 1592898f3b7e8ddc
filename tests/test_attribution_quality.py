"""Infidelity and max-sensitivity against closed forms and brute-force loops."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gradjax.core.gradients import logit_gradients
from gradjax.evaluation.maths.infidelity import infidelity, max_sensitivity

X = jax.random.uniform(jax.random.key(0), (3, 4, 4, 2))
Y = jnp.array([0, 1, 2])
W = jax.random.normal(jax.random.key(1), (32, 3))


def linear_logits(x):
    return x.reshape(x.shape[0], -1) @ W


def quadratic_logits(x):
    """f_c(x) = −½ (c + 1)‖x‖² + W[:, c]·x: ∇f_c = −(c + 1)x + W[:, c]."""
    flat = x.reshape(x.shape[0], -1)
    c = jnp.arange(3.0) + 1
    return -0.5 * c * jnp.sum(flat**2, -1, keepdims=True) + flat @ W


def test_the_gradient_of_a_linear_model_has_zero_infidelity_and_sensitivity():
    grad = logit_gradients(linear_logits, X, Y)
    for relative in (False, True):
        got = infidelity(linear_logits, X, Y, grad, jax.random.key(2), relative=relative)
        np.testing.assert_allclose(got, 0.0, atol=1e-9)
    sens = max_sensitivity(lambda z: logit_gradients(linear_logits, z, Y), X, jax.random.key(3))
    np.testing.assert_allclose(sens, 0.0, atol=1e-6)


def test_a_per_pixel_map_is_shared_by_the_channels():
    # Weights equal across the two channels: the per-pixel map w_hw explains f exactly.
    w_pixel = jax.random.normal(jax.random.key(4), (16,))
    w = jnp.repeat(w_pixel, 2)

    def f(x):
        return (x.reshape(x.shape[0], -1) @ w)[:, None]

    pixel_map = jnp.broadcast_to(w_pixel.reshape(1, 4, 4, 1), (3, 4, 4, 1))
    y = jnp.zeros(3, int)
    np.testing.assert_allclose(infidelity(f, X, y, pixel_map, jax.random.key(5)), 0.0, atol=1e-9)


def test_infidelity_matches_a_loop_over_the_same_draws():
    grad = logit_gradients(quadratic_logits, X, Y)
    key, n, noise = jax.random.key(6), 9, 0.3
    got = infidelity(quadratic_logits, X, Y, grad, key, num_perturbations=n, noise=noise)
    rel = infidelity(
        quadratic_logits, X, Y, grad, key, num_perturbations=n, noise=noise, relative=True
    )
    f = lambda z: np.asarray(quadratic_logits(z))[np.arange(3), np.asarray(Y)]  # noqa: E731
    dots, changes = [], []
    for k in jax.random.split(key, n):
        i = np.asarray(noise * jax.random.normal(k, X.shape))
        dots.append((i * np.asarray(grad)).reshape(3, -1).sum(1))
        changes.append(f(X) - f(X - i))
    dots, changes = np.array(dots, np.float64), np.array(changes, np.float64)
    for b in range(3):
        beta = np.dot(dots[:, b], changes[:, b]) / np.dot(dots[:, b], dots[:, b])
        expected = np.mean((beta * dots[:, b] - changes[:, b]) ** 2)
        np.testing.assert_allclose(got[b], expected, rtol=1e-3)
        np.testing.assert_allclose(rel[b], expected / np.mean(changes[:, b] ** 2), rtol=1e-3)
    assert np.all((rel > 0) & (rel < 1))


def test_max_sensitivity_of_a_quadratic_is_the_largest_relative_step():
    # ∇f_c(x + δ) − ∇f_c(x) = −(c + 1)δ: sensitivity = (c+1)·max_k ‖δ_k‖ / ‖∇f_c(x)‖.
    key, n, radius = jax.random.key(7), 6, 0.05
    attribution = lambda z: logit_gradients(quadratic_logits, z, Y)  # noqa: E731
    got = max_sensitivity(attribution, X, key, num_samples=n, radius=radius)
    norms = np.linalg.norm(np.asarray(attribution(X)).reshape(3, -1), axis=1)
    steps = np.array(
        [
            np.linalg.norm(
                np.asarray(jax.random.uniform(k, X.shape, X.dtype, -radius, radius)).reshape(3, -1),
                axis=1,
            )
            for k in jax.random.split(key, n)
        ]
    )
    expected = (np.asarray(Y) + 1.0) * steps.max(0) / norms
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_an_attribution_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        infidelity(linear_logits, X, Y, jnp.zeros((3, 4, 4, 3)), jax.random.key(0))
