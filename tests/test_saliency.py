"""Saliency methods against closed forms and FullGrad completeness."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gradjax.saliency import (
    SALIENCY_METHODS,
    compute_saliency,
    fullgrad,
    fullgrad_terms,
    gradient_x_input,
    integrated_gradients,
    pixel_relevance,
    smoothgrad,
)


def quadratic_logits(x):
    """f_c(x) = −½ (c + 1)‖x‖² + Σx: ∇f_c = −(c + 1)x + 1."""
    flat = x.reshape(x.shape[0], -1)
    c = jnp.arange(3.0) + 1
    return -0.5 * c[None] * jnp.sum(flat**2, -1, keepdims=True) + jnp.sum(flat, -1, keepdims=True)


@pytest.fixture
def images():
    x = jax.random.uniform(jax.random.key(0), (4, 5, 5, 2))
    return x, jnp.array([0, 1, 2, 1])


def test_gradient_x_input_closed_form(images):
    x, y = images
    expected = (-(y[:, None, None, None] + 1.0) * x + 1) * x
    np.testing.assert_allclose(gradient_x_input(quadratic_logits, x, y), expected, rtol=1e-5)


def test_smoothgrad_of_a_quadratic_is_the_gradient_plus_mean_noise(images):
    # ∇f is affine, so SmoothGrad = ∇f(x) − (c+1)·mean(ε), and mean(ε) → 0 as 1/√N.
    x, y = images
    got = smoothgrad(quadratic_logits, x, y, jax.random.key(1), num_samples=400, noise=0.15)
    expected = -(y[:, None, None, None] + 1.0) * x + 1
    # Per-element std of the error: (c+1)·0.15/√400 ≤ 0.0225; 5 standard deviations.
    np.testing.assert_allclose(got, expected, atol=5 * 3 * 0.15 / 20)


def test_integrated_gradients_is_complete(images):
    x, y = images
    attribution = integrated_gradients(quadratic_logits, x, y, steps=64)
    f = quadratic_logits(x)[jnp.arange(4), y] - quadratic_logits(jnp.zeros_like(x))[:, 0]
    # Midpoint rule on an affine gradient is exact.
    np.testing.assert_allclose(attribution.reshape(4, -1).sum(1), f, rtol=1e-5)


class ReluNet(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(4, (3, 3))(x))
        x = nn.avg_pool(x, (2, 2), (2, 2))
        x = nn.relu(nn.Conv(6, (3, 3), strides=2)(x))
        x = nn.relu(nn.Dense(12)(x.reshape(x.shape[0], -1)))
        return nn.Dense(5)(x)


def test_fullgrad_terms_sum_to_the_logit_for_a_relu_network():
    x = jax.random.uniform(jax.random.key(0), (3, 8, 8, 3))
    y = jnp.array([0, 2, 4])
    model = ReluNet()
    params = model.init(jax.random.key(1), x)
    # Non-zero biases, so the bias terms matter.
    params = jax.tree_util.tree_map_with_path(
        lambda path, p: p + 0.1 if path[-1].key == "bias" else p, params
    )
    input_term, bias_terms = fullgrad_terms(model.apply, params, x, y)
    assert set(bias_terms) == {("Conv_0",), ("Conv_1",), ("Dense_0",), ("Dense_1",)}
    total = input_term.reshape(3, -1).sum(1) + sum(
        t.reshape(3, -1).sum(1) for t in bias_terms.values()
    )
    logits = model.apply(params, x)[jnp.arange(3), y]
    np.testing.assert_allclose(total, logits, rtol=1e-5, atol=1e-6)
    bias_share = sum(float(jnp.abs(t).sum()) for t in bias_terms.values())
    assert bias_share > 1e-3  # the completeness check is not carried by the input term alone
    saliency = fullgrad(model.apply, params, x, y)
    assert saliency.shape == (3, 8, 8) and bool(jnp.all(saliency >= 0))


def test_pixel_relevance_sums_absolute_values_over_channels():
    s = jnp.array([[[[1.0, -2.0], [0.5, 0.0]]]])
    np.testing.assert_allclose(pixel_relevance(s), [[[3.0, 0.5]]])


@pytest.mark.parametrize("method", SALIENCY_METHODS)
def test_every_method_gives_a_non_negative_pixel_map(method):
    model = ReluNet()
    x = jax.random.uniform(jax.random.key(0), (2, 8, 8, 3))
    params = model.init(jax.random.key(1), x)
    s = compute_saliency(method, model.apply, params, x, jnp.array([1, 3]), jax.random.key(2))
    assert s.shape == (2, 8, 8) and bool(jnp.all(s >= 0)) and bool(jnp.any(s > 0))


def test_unknown_method_names_the_valid_ones():
    with pytest.raises(ValueError, match="fullgrad"):
        compute_saliency("lrp", None, None, jnp.zeros((1, 2, 2, 1)), jnp.zeros(1, int), None)
