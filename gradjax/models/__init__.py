"""Flax classifiers, built by name from an explicit registry.

Every model maps ``(B, H, W, C)`` float inputs in [0, 1] to ``(B, num_classes)`` logits with
examples independent (no batch statistics), as the core's batch-sum gradients require.
"""

from __future__ import annotations

import functools

import flax.linen as nn

from gradjax.checks import check_choice
from gradjax.config import ModelConfig
from gradjax.models.activations import get_activation, softplus_beta
from gradjax.models.resnet import ResNet
from gradjax.models.small import MLP, SmallCNN
from gradjax.models.vgg import VGG11

MODELS = {
    "resnet18": functools.partial(ResNet, stage_sizes=(2, 2, 2, 2), width=64),
    "resnet-small": functools.partial(ResNet, stage_sizes=(1, 1, 1, 1), width=16),
    "vgg11": VGG11,
    "cnn": SmallCNN,
    "mlp": MLP,
}


def make_model(name: str, num_classes: int, **overrides) -> nn.Module:
    """Builds model ``name`` from :data:`MODELS`; ``overrides`` set fields such as ``width``,
    ``activation`` (``"softplus"``/``"relu"``) or ``beta``. ``None`` overrides are ignored."""
    check_choice(name, "model", MODELS)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return MODELS[name](num_classes=num_classes, **overrides)


@functools.cache
def model_from_config(config: ModelConfig, num_classes: int) -> nn.Module:
    """The model a run's :class:`~gradjax.config.ModelConfig` describes. Cached: runs of one
    architecture share one module object, hence one ``apply_fn``, so functions jitted with
    ``apply_fn`` as a static argument compile once for all of them."""
    return make_model(
        config.name,
        num_classes,
        width=config.width,
        activation=config.activation,
        beta=config.beta,
    )


__all__ = [
    "MLP",
    "MODELS",
    "ResNet",
    "SmallCNN",
    "VGG11",
    "get_activation",
    "make_model",
    "model_from_config",
    "softplus_beta",
]
