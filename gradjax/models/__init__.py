"""Flax classifiers, built by name from the registry :data:`MODELS`.

Every model maps ``(B, H, W, C)`` float inputs in [0, 1] to ``(B, num_classes)`` logits with
examples independent (no batch statistics), as the core's batch-sum gradients require, and none
is invariant to the input's contrast (``f(kx) ≠ f(x)``; tested). Adding a model is one module
and one line in :data:`MODELS`.
"""

from __future__ import annotations

from gradjax.extras import require

require("train", "gradjax.models", ("flax",))

import functools

import flax.linen as nn

from gradjax.core.checks import check_choice
from gradjax.models.activations import ACTIVATIONS, Activation, softplus_beta
from gradjax.models.layers import NORMS, WSConv
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


@functools.cache
def make_model(name: str, num_classes: int, **overrides) -> nn.Module:
    """Builds model ``name`` from :data:`MODELS`; ``overrides`` set fields such as ``width``,
    ``activation`` (a name of :data:`ACTIVATIONS`), ``beta`` or ``norm`` (ResNet, VGG).
    ``None`` overrides are ignored.

    Cached: equal arguments give the same module object, hence the same ``apply`` function, so
    functions jitted with ``apply`` as a static argument compile once for all runs of one
    architecture.
    """
    check_choice(name, "model", MODELS)
    if overrides.get("activation") is not None:
        check_choice(overrides["activation"], "activation", ACTIVATIONS)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return MODELS[name](num_classes=num_classes, **overrides)


__all__ = [
    "ACTIVATIONS",
    "MLP",
    "MODELS",
    "NORMS",
    "Activation",
    "ResNet",
    "SmallCNN",
    "VGG11",
    "WSConv",
    "make_model",
    "softplus_beta",
]
