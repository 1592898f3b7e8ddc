"""VGG-11 (Simonyan & Zisserman, 2015) for 32×32 inputs, the paper's independent GAN-test
classifier (§5). Convolutions follow ``norm`` (:mod:`gradjax.models.layers`); the default
``nf`` (weight-standardised, with biases, no normalisation layer) keeps examples independent and
the model sensitive to input contrast.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from gradjax.models.activations import Activation
from gradjax.models.layers import conv_norm
from gradjax.paper import SOFTPLUS_BETA

# Channel multipliers of the base width; "M" is a 2×2 max-pool.
VGG11_LAYOUT = (1, "M", 2, "M", 4, 4, "M", 8, 8, "M", 8, 8, "M")


class VGG11(nn.Module):
    """``(B, H, W, C) -> (B, num_classes)``; ``width`` = 64 is the original network."""

    num_classes: int
    width: int = 64
    activation: str = "softplus"
    beta: float = SOFTPLUS_BETA
    norm: str = "nf"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for item in VGG11_LAYOUT:
            if item == "M":
                # Small inputs (8×8 digits) run out of resolution: pool only while H, W ≥ 2.
                if min(x.shape[1:3]) >= 2:
                    x = nn.max_pool(x, (2, 2), (2, 2))
                continue
            x = conv_norm(x, self.width * item, 3, 1, self.norm)
            x = Activation(self.activation, self.beta)(x)
        return nn.Dense(self.num_classes)(x.reshape(x.shape[0], -1))
