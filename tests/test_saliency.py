"""Saliency methods against closed forms and FullGrad completeness."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_models import trained_like

from gradjax.core.saliency import (
    gradient_x_input,
    integrated_gradients,
    noisy_gradient_moments,
    pixel_relevance,
    smoothgrad,
    smoothgrad_squared,
    vargrad,
)
from gradjax.evaluation.saliency_methods import (
    SALIENCY_METHODS,
    SaliencyOptions,
    compiled_saliency,
    compute_attribution,
    compute_saliency,
)
from gradjax.models import make_model
from gradjax.models.fullgrad import fullgrad, fullgrad_terms


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


@pytest.mark.parametrize("unroll", [False, True])
def test_integrated_gradients_is_complete(images, unroll):
    x, y = images
    attribution = integrated_gradients(quadratic_logits, x, y, steps=64, unroll=unroll)
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


@pytest.mark.parametrize(
    "name, extra",
    [
        ("resnet-small", {}),
        ("resnet-small", {"norm": "group-bias"}),
        ("vgg11", {}),
        ("cnn", {}),
        ("mlp", {}),
    ],
)
def test_fullgrad_is_complete_on_the_models_we_train(name, extra):
    # Softplus activations, weight-standardised convolutions, residual gains and GroupNorm all
    # contribute implicit biases; with them the decomposition sums to the logit.
    model = make_model(name, 5, **({} if name == "mlp" else {"width": 8}), **extra)
    x = jax.random.uniform(jax.random.key(0), (3, 16, 16, 3))
    y = jnp.array([0, 2, 4])
    params = trained_like(model.init(jax.random.key(1), x))
    input_term, bias_terms = fullgrad_terms(model.apply, params, x, y)
    total = input_term.reshape(3, -1).sum(1) + sum(
        t.reshape(3, -1).sum(1) for t in bias_terms.values()
    )
    logits = model.apply(params, x)[jnp.arange(3), y]
    np.testing.assert_allclose(total, logits, rtol=1e-4, atol=1e-4 * float(jnp.abs(logits).max()))


def test_pixel_relevance_sums_absolute_values_over_channels():
    s = jnp.array([[[[1.0, -2.0], [0.5, 0.0]]]])
    np.testing.assert_allclose(pixel_relevance(s), [[[3.0, 0.5]]])


@pytest.mark.parametrize("method", [m for m in SALIENCY_METHODS if m != "random"])
def test_every_method_ranks_the_pixel_that_drives_the_logit_first(method):
    # f_c(x) = w_c · x with one dominant input pixel for class 1: every method must put that
    # pixel first (a behaviour check, not a sign check) -- except VarGrad, which sees only
    # curvature and must be zero for a linear model.
    class Linear(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.Dense(3)(x.reshape(x.shape[0], -1))

    model = Linear()
    x = jnp.full((2, 4, 4, 1), 0.5)
    params = model.init(jax.random.key(0), x)
    kernel = 0.01 * jax.random.normal(jax.random.key(1), (16, 3))
    params = {"params": {"Dense_0": {"kernel": kernel.at[5, 1].set(3.0), "bias": jnp.zeros(3)}}}
    y = jnp.array([1, 1])
    options = SaliencyOptions(fullgrad_class="label", smoothgrad_samples=8, ig_steps=8)
    s = compute_saliency(method, model.apply, params, x, y, jax.random.key(2), options)
    assert s.shape == (2, 4, 4)
    if method == "vargrad":
        np.testing.assert_allclose(s, 0.0, atol=1e-10)
    else:
        assert [int(jnp.argmax(m)) for m in s.reshape(2, -1)] == [5, 5]


def test_fullgrad_explains_the_predicted_class_by_default():
    model = ReluNet()
    x = jax.random.uniform(jax.random.key(0), (2, 8, 8, 3))
    params = model.init(jax.random.key(1), x)
    predicted = jnp.argmax(model.apply(params, x), -1)
    wrong = (predicted + 1) % 5
    by_default = compute_saliency("fullgrad", model.apply, params, x, wrong, jax.random.key(0))
    np.testing.assert_allclose(by_default, fullgrad(model.apply, params, x, predicted), rtol=1e-6)


def test_each_method_compiles_once_per_shape():
    model = ReluNet()
    x = jax.random.uniform(jax.random.key(0), (2, 8, 8, 3))
    y = jnp.array([1, 3])
    p1, p2 = (model.init(jax.random.key(i), x) for i in (1, 2))
    before = compiled_saliency._cache_size()
    for params in (p1, p2, p1):  # two "runs" of one architecture, then the first again
        compiled_saliency(
            "logit-gradient", model.apply, params, x, y, jax.random.key(0), SaliencyOptions()
        )
    assert compiled_saliency._cache_size() == before + 1


def test_unknown_method_names_the_valid_ones():
    with pytest.raises(ValueError, match="fullgrad"):
        compute_saliency("lrp", None, None, jnp.zeros((1, 2, 2, 1)), jnp.zeros(1, int), None)


@pytest.mark.parametrize("unroll", [False, True])
def test_noisy_gradient_moments_match_a_loop_over_the_same_draws(images, unroll):
    # Independent reference: the same N(0, noise²) draws, gradients stacked by a Python loop,
    # numpy mean and (biased) variance; the scan rolled or unrolled.
    x, y = images
    key, n, noise = jax.random.key(3), 7, 0.2
    mean, var = noisy_gradient_moments(
        quadratic_logits, x, y, key, num_samples=n, noise=noise, unroll=unroll
    )
    grads = np.stack(
        [
            np.asarray(
                jax.grad(lambda z: jnp.sum(quadratic_logits(z)[jnp.arange(4), y]))(
                    x + noise * jax.random.normal(k, x.shape)
                )
            )
            for k in jax.random.split(key, n)
        ]
    )
    np.testing.assert_allclose(mean, grads.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var, grads.var(0), rtol=1e-4, atol=1e-6)


def test_vargrad_and_smoothgrad_squared_of_a_quadratic(images):
    # ∇f_c(x + ε) = −(c+1)(x + ε) + 1: variance (c+1)²·noise², whatever x is; SmoothGrad² adds
    # the squared gradient at x. With N = 2000 draws the relative standard error of a sample
    # variance is √(2/N) ≈ 3.2%; tolerance 5 of those.
    x, y = images
    c1 = y[:, None, None, None] + 1.0
    kw = dict(num_samples=2000, noise=0.15)
    expected_var = jnp.broadcast_to(c1**2 * 0.15**2, x.shape)
    np.testing.assert_allclose(
        vargrad(quadratic_logits, x, y, jax.random.key(4), **kw), expected_var, rtol=0.16
    )
    sg2 = smoothgrad_squared(quadratic_logits, x, y, jax.random.key(4), **kw)
    np.testing.assert_allclose(sg2, (-c1 * x + 1) ** 2 + expected_var, rtol=0.16, atol=0.02)


def test_attribution_keeps_signs_and_saliency_reduces_it():
    class Linear(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.Dense(2, use_bias=False)(x.reshape(x.shape[0], -1))

    x = jnp.ones((1, 2, 2, 2))
    kernel = jnp.arange(16.0).reshape(8, 2) - 8.0
    params = {"params": {"Dense_0": {"kernel": kernel}}}
    y = jnp.array([0])
    a = compute_attribution("logit-gradient", Linear().apply, params, x, y, jax.random.key(0))
    np.testing.assert_allclose(a.reshape(-1), kernel[:, 0])
    s = compute_saliency("logit-gradient", Linear().apply, params, x, y, jax.random.key(0))
    np.testing.assert_allclose(s, pixel_relevance(a))
    fg = compute_attribution("fullgrad", Linear().apply, params, x, y, jax.random.key(0))
    assert fg.shape == (1, 2, 2, 1)


def test_the_random_ranking_is_uniform_per_pixel_and_set_by_its_key():
    x = jnp.zeros((3, 5, 5, 2))
    y = jnp.zeros(3, jnp.int32)
    a = compute_saliency("random", None, None, x, y, jax.random.key(0))
    b = compute_saliency("random", None, None, x, y, jax.random.key(0))
    c = compute_saliency("random", None, None, x, y, jax.random.key(1))
    assert a.shape == (3, 5, 5) and float(a.min()) >= 0 and float(a.max()) < 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
