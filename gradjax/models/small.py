"""Small classifiers for 8×8 (digits) and 28×28 (MNIST) inputs, fast on a CPU."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax

from gradjax.models.activations import Activation
from gradjax.paper import SOFTPLUS_BETA


class MLP(nn.Module):
    """Fully connected classifier on flattened inputs: ``(B, *event) -> (B, num_classes)``."""

    num_classes: int
    hidden: Sequence[int] = (256, 256)
    activation: str = "softplus"
    beta: float = SOFTPLUS_BETA

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = lambda z: Activation(self.activation, self.beta)(z)  # noqa: E731
        x = x.reshape(x.shape[0], -1)
        for size in self.hidden:
            x = act(nn.Dense(size)(x))
        return nn.Dense(self.num_classes)(x)


class SmallCNN(nn.Module):
    """Two conv layers with average pooling, then two dense layers.

    ``(B, H, W, C) -> (B, num_classes)``. No normalisation layer, so examples are independent.
    Average (not max) pooling keeps the network smooth, like the softplus activation.
    """

    num_classes: int
    width: int = 32
    activation: str = "softplus"
    beta: float = SOFTPLUS_BETA

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = lambda z: Activation(self.activation, self.beta)(z)  # noqa: E731
        x = act(nn.Conv(self.width, (3, 3))(x))
        x = nn.avg_pool(x, (2, 2), (2, 2))
        x = act(nn.Conv(2 * self.width, (3, 3))(x))
        x = nn.avg_pool(x, (2, 2), (2, 2))
        x = x.reshape(x.shape[0], -1)
        x = act(nn.Dense(4 * self.width)(x))
        return nn.Dense(self.num_classes)(x)
