"""CIFAR-style ResNets (He et al., 2016): 3×3 stem, no max-pool, four stages of basic blocks.

Normalisation is GroupNorm, not BatchNorm: BatchNorm in training mode couples the examples of a
batch, and then ``∇x Σ_b f(x)_b`` is no longer the per-example input-gradient that the
score-matching objectives need. GroupNorm normalises within each example, so the batch-sum trick
stays exact in training and evaluation alike, and train and test behaviour coincide.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax

from gradjax.models.activations import get_activation, group_count, mean_pool_flatten


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a residual connection (projection when the shape changes)."""

    channels: int
    stride: int
    activation: str
    beta: float

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = get_activation(self.activation, self.beta)
        norm = lambda: nn.GroupNorm(num_groups=group_count(self.channels))  # noqa: E731
        y = nn.Conv(self.channels, (3, 3), self.stride, use_bias=False)(x)
        y = act(norm()(y))
        y = nn.Conv(self.channels, (3, 3), use_bias=False)(y)
        y = norm()(y)
        if self.stride != 1 or x.shape[-1] != self.channels:
            x = nn.Conv(self.channels, (1, 1), self.stride, use_bias=False)(x)
            x = norm()(x)
        return act(x + y)


class ResNet(nn.Module):
    """``(B, H, W, C) -> (B, num_classes)``; stage ``i`` has ``width·2^i`` channels."""

    num_classes: int
    stage_sizes: Sequence[int] = (2, 2, 2, 2)
    width: int = 64
    activation: str = "softplus"
    beta: float = 10.0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = get_activation(self.activation, self.beta)
        x = nn.Conv(self.width, (3, 3), use_bias=False)(x)
        x = act(nn.GroupNorm(num_groups=group_count(self.width))(x))
        for stage, num_blocks in enumerate(self.stage_sizes):
            for block in range(num_blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                x = BasicBlock(self.width * 2**stage, stride, self.activation, self.beta)(x)
        return nn.Dense(self.num_classes)(mean_pool_flatten(x))
