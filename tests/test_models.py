"""Models: shapes, the softplus-β activation, and per-example independence."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gradjax import logit_gradients
from gradjax.models import MODELS, make_model, softplus_beta
from gradjax.models.activations import group_count


def test_softplus_beta_closed_form_and_limit():
    x = jnp.linspace(-2, 2, 9)
    np.testing.assert_allclose(softplus_beta(x, 10.0), np.log1p(np.exp(10 * x)) / 10, rtol=1e-6)
    np.testing.assert_allclose(softplus_beta(x, 1e4), np.maximum(x, 0), atol=1e-4)
    curvature = jax.grad(jax.grad(lambda z: softplus_beta(z, 10.0)))(0.0)
    np.testing.assert_allclose(curvature, 10.0 / 4, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_map_images_to_logits(name):
    model = make_model(name, 7, **({"width": 8} if name != "mlp" else {}))
    x = jnp.ones((2, 32, 32, 3))
    params = model.init(jax.random.key(0), x)
    assert model.apply(params, x).shape == (2, 7)


@pytest.mark.parametrize("name", ["resnet-small", "vgg11", "cnn"])
def test_batch_sum_gradients_are_per_example_gradients(name):
    # GroupNorm normalises within an example: the batch-sum trick stays exact.
    model = make_model(name, 5, width=8)
    x = jax.random.uniform(jax.random.key(1), (3, 16, 16, 3))
    y = jnp.array([0, 3, 4])
    params = model.init(jax.random.key(0), x)
    fn = lambda z: model.apply(params, z)  # noqa: E731
    batched = logit_gradients(fn, x, y)
    for b in range(3):
        alone = jax.grad(lambda z, b=b: fn(z[None])[0, y[b]])(x[b])
        np.testing.assert_allclose(batched[b], alone, rtol=1e-4, atol=1e-6)


def test_resnet18_has_the_standard_parameter_count():
    model = make_model("resnet18", 10)
    params = model.init(jax.random.key(0), jnp.zeros((1, 32, 32, 3)))
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
        make_model("cnn", 10, activation="tanh").init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))
