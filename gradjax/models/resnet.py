"""CIFAR-style ResNets (He et al., 2016): 3×3 stem, no max-pool, four stages of basic blocks.

Normalisation is chosen by ``norm`` (see :mod:`gradjax.models.layers`); the default ``nf`` is
normaliser-free: scaled weight-standardised convolutions with biases and pre-activation blocks
whose residual branch is multiplied by a learnable gain initialised at zero, so every block is
the identity at initialisation. No scheme uses batch statistics (BatchNorm in training mode
couples the examples of a batch, and then ``∇x Σ_b f(x)_b`` is no longer each example's
input-gradient), and ``nf`` is not invariant to the input's contrast, unlike GroupNorm after a
bias-free convolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax

from gradjax.models.activations import Activation, mean_pool_flatten
from gradjax.models.layers import conv_norm
from gradjax.paper import SOFTPLUS_BETA

PRE_ACTIVATION = ("nf", "skipinit")  # schemes without normalisation layers


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a residual connection (projection when the shape changes)."""

    channels: int
    stride: int
    activation: str
    beta: float
    norm: str

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        c, s, norm = self.channels, self.stride, self.norm
        act = lambda: Activation(self.activation, self.beta)  # noqa: E731
        project = s != 1 or x.shape[-1] != c
        if norm in PRE_ACTIVATION:
            h = act()(x)
            y = conv_norm(act()(conv_norm(h, c, 3, s, norm)), c, 3, 1, norm)
            shortcut = conv_norm(h, c, 1, s, norm) if project else x
            return shortcut + self.param("skip_gain", nn.initializers.zeros, ()) * y
        y = conv_norm(act()(conv_norm(x, c, 3, s, norm)), c, 3, 1, norm)
        return act()((conv_norm(x, c, 1, s, norm) if project else x) + y)


class ResNet(nn.Module):
    """``(B, H, W, C) -> (B, num_classes)``; stage ``i`` has ``width·2^i`` channels."""

    num_classes: int
    stage_sizes: Sequence[int] = (2, 2, 2, 2)
    width: int = 64
    activation: str = "softplus"
    beta: float = SOFTPLUS_BETA
    norm: str = "nf"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = lambda: Activation(self.activation, self.beta)  # noqa: E731
        x = conv_norm(x, self.width, 3, 1, self.norm)
        if self.norm not in PRE_ACTIVATION:
            x = act()(x)
        for stage, num_blocks in enumerate(self.stage_sizes):
            for block in range(num_blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                channels = self.width * 2**stage
                x = BasicBlock(channels, stride, self.activation, self.beta, self.norm)(x)
        if self.norm in PRE_ACTIVATION:
            x = act()(x)
        return nn.Dense(self.num_classes)(mean_pool_flatten(x))
