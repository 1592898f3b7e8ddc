"""Models: shapes, the softplus-β activation, per-example independence and contrast
sensitivity for every registered model."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gradjax import logit_gradients
from gradjax.models import MODELS, make_model, softplus_beta
from gradjax.models.activations import group_count, softplus

SIZES = {"mlp": {}, "cnn": {"width": 8}}


def small(name, **extra):
    return make_model(name, 5, **SIZES.get(name, {"width": 8}), **extra)


def trained_like(params, seed=7):
    """Perturbs every parameter, so that zero-initialised gains and biases are non-zero as
    after training."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return jax.tree.unflatten(
        tree, [p + 0.1 * jax.random.normal(k, p.shape) for p, k in zip(leaves, keys, strict=True)]
    )


def test_softplus_beta_closed_form_and_limit():
    x = jnp.linspace(-2, 2, 9)
    np.testing.assert_allclose(softplus_beta(x, 10.0), np.log1p(np.exp(10 * x)) / 10, rtol=1e-6)
    np.testing.assert_allclose(softplus_beta(x, 1e4), np.maximum(x, 0), atol=1e-4)
    curvature = jax.grad(jax.grad(lambda z: softplus_beta(z, 10.0)))(0.0)
    np.testing.assert_allclose(curvature, 10.0 / 4, rtol=1e-6)


def test_softplus_rule_matches_jax_softplus():
    # Values and slopes bit-for-bit (finite inputs, both tails). Second and third derivatives
    # against the closed forms σ(1−σ) and σ(1−σ)(1−2σ) in float64: float32 leaves ≈ 5e-7
    # absolute error from 1 − σ (jax.nn.softplus's own error is the same size); the
    # forward-over-forward second derivative equals the reverse one.
    z = jnp.concatenate([jnp.linspace(-90.0, 90.0, 2001), jnp.array([-1e4, -30.0, 0.0, 1e4])])
    np.testing.assert_array_equal(softplus(z), jax.nn.softplus(z))
    slope = jax.vmap(jax.grad(softplus))
    np.testing.assert_array_equal(slope(z), jax.vmap(jax.grad(jax.nn.softplus))(z))
    z64 = np.asarray(z, np.float64)
    s = np.exp(-np.logaddexp(0.0, -z64))
    second = jax.vmap(jax.grad(jax.grad(softplus)))(z)
    np.testing.assert_allclose(second, s * (1 - s), rtol=0, atol=1e-6)
    third = jax.vmap(jax.grad(jax.grad(jax.grad(softplus))))(z)
    np.testing.assert_allclose(third, s * (1 - s) * (1 - 2 * s), rtol=0, atol=1e-6)
    one = jnp.ones_like(z)
    forward = jax.jvp(lambda u: jax.jvp(softplus, (u,), (one,))[1], (z,), (one,))[1]
    np.testing.assert_allclose(forward, second, rtol=0, atol=1e-7)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_map_images_to_logits(name):
    model = small(name)
    x = jax.ShapeDtypeStruct((2, 32, 32, 3), jnp.float32)
    params = jax.eval_shape(model.init, jax.random.key(0), x)
    assert jax.eval_shape(model.apply, params, x).shape == (2, 5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_are_not_invariant_to_input_contrast(name):
    # Natural images are not contrast-invariant, so their density is not: f(kx) must change.
    model = small(name)
    x = jax.random.uniform(jax.random.key(1), (4, 16, 16, 3))
    params = trained_like(model.init(jax.random.key(0), x))
    fx = model.apply(params, x)
    for k in (0.5, 2.0):
        change = float(jnp.max(jnp.abs(model.apply(params, k * x) - fx)))
        assert change > 1e-2 * float(jnp.max(jnp.abs(fx))), (name, k, change)


def test_groupnorm_after_a_bias_free_conv_is_contrast_invariant():
    # The defect the "group" scheme is kept to demonstrate (REPRODUCTION.md, normalisation).
    model = make_model("resnet-small", 5, width=8, norm="group")
    x = jax.random.uniform(jax.random.key(1), (2, 16, 16, 3))
    params = trained_like(model.init(jax.random.key(0), x))
    np.testing.assert_allclose(model.apply(params, 2 * x), model.apply(params, x), atol=1e-4)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_examples_are_independent(name):
    # Perturbing example 0 leaves example 1's logits and logit-gradients unchanged, and the
    # batch-sum gradient equals each example's own gradient.
    model = small(name)
    x = jax.random.uniform(jax.random.key(1), (3, 16, 16, 3))
    y = jnp.array([0, 3, 4])
    params = trained_like(model.init(jax.random.key(0), x))
    fn = lambda z: model.apply(params, z)  # noqa: E731
    batched = logit_gradients(fn, x, y)
    moved = x.at[0].add(0.3)
    np.testing.assert_allclose(fn(moved)[1:], fn(x)[1:], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logit_gradients(fn, moved, y)[1:], batched[1:], rtol=1e-4, atol=1e-6)
    for b in range(3):
        alone = jax.grad(lambda z, b=b: fn(z[None])[0, y[b]])(x[b])
        np.testing.assert_allclose(batched[b], alone, rtol=1e-4, atol=1e-6)


def test_resnet18_with_groupnorm_has_the_standard_parameter_count():
    model = make_model("resnet18", 10, norm="group")
    x = jax.ShapeDtypeStruct((1, 32, 32, 3), jnp.float32)
    params = jax.eval_shape(model.init, jax.random.key(0), x)
    # 11.17M for CIFAR ResNet-18 (GroupNorm has as many affine parameters as BatchNorm).
    assert sum(p.size for p in jax.tree.leaves(params)) == 11_173_962


def test_group_count_divides_channels():
    for channels in [3, 4, 16, 24, 64, 144, 512]:
        g = group_count(channels)
        assert channels % g == 0 and g <= 32 and (channels // g >= 4 or g == 1)


def test_unknown_model_and_activation_fail_with_valid_names():
    with pytest.raises(ValueError, match="resnet18"):
        make_model("resnet50", 10)
    with pytest.raises(ValueError, match="softplus"):
        make_model("cnn", 10, activation="tanh")
