"""VGG-11 (Simonyan & Zisserman, 2015) for 32×32 inputs, with GroupNorm for per-example
independence (see resnet.py). Used as the independent GAN-test classifier and in the fooling
experiment.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from gradjax.models.activations import get_activation, group_count

# Channel multipliers of the base width; "M" is a 2×2 max-pool.
VGG11_LAYOUT = (1, "M", 2, "M", 4, 4, "M", 8, 8, "M", 8, 8, "M")


class VGG11(nn.Module):
    """``(B, H, W, C) -> (B, num_classes)``; ``width`` = 64 is the original network."""

    num_classes: int
    width: int = 64
    activation: str = "softplus"
    beta: float = 10.0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = get_activation(self.activation, self.beta)
        for item in VGG11_LAYOUT:
            if item == "M":
                # Small inputs (8×8 digits) run out of resolution: pool only while H, W ≥ 2.
                if min(x.shape[1:3]) >= 2:
                    x = nn.max_pool(x, (2, 2), (2, 2))
                continue
            channels = self.width * item
            x = nn.Conv(channels, (3, 3), use_bias=False)(x)
            x = act(nn.GroupNorm(num_groups=group_count(channels))(x))
        x = x.reshape(x.shape[0], -1)
        return nn.Dense(self.num_classes)(x)
