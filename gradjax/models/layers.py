"""Convolutions for the CIFAR models, one per normalisation scheme (:data:`NORMS`).

Every scheme keeps examples independent (no batch statistics): the batch-sum input-gradient and
the Taylor estimator's perturbed forward pass need that. They differ in whether the model is
invariant to the input's contrast:

* ``nf`` (default): normaliser-free, scaled weight standardisation (Brock et al., ICLR 2021,
  "Characterizing signal propagation to close the performance gap in unnormalized ResNets"),
  with biases. ``f(kx) ≠ f(x)``: the density of the implicit model depends on contrast, as
  the data's does.
* ``skipinit``: plain convolutions with biases, no normalisation (used with the zero-initialised
  residual gain of the ResNet blocks, De & Smith, NeurIPS 2020).
* ``group-bias``: convolution with bias, then GroupNorm. The bias breaks exact scale
  invariance, but only by ``b`` against ``k·Wx``.
* ``group``: bias-free convolution, then GroupNorm: ``GN(k·Wx) = GN(Wx)``, so ``f(kx) = f(x)``
  for every ``k > 0`` and ``∇x f ⟂ x``. Kept only to measure that defect (REPRODUCTION.md).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from gradjax.models.activations import group_count

NORMS = ("nf", "skipinit", "group-bias", "group")
# Variance-preserving gain of ReLU for unit-Gaussian inputs, √(2 / (1 − 1/π)) (Brock et al.);
# softplus with β = 10 is close enough to ReLU to share it.
RELU_GAIN = math.sqrt(2.0 / (1.0 - 1.0 / math.pi))


class WSConv(nn.Module):
    """Convolution with scaled weight standardisation: ``W ← g·γ·(W − mean)/(std·√fan_in)``
    per output channel, learnable gain ``g`` (init 1) and bias. ``(B, H, W, C) -> (B, H', W',
    features)``, "SAME" padding."""

    features: int
    kernel_size: tuple[int, int] = (3, 3)
    strides: int = 1
    gamma: float = RELU_GAIN

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        shape = (*self.kernel_size, x.shape[-1], self.features)
        kernel = self.param("kernel", nn.initializers.lecun_normal(), shape)
        gain = self.param("gain", nn.initializers.ones, (self.features,))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        fan_in = math.prod(shape[:-1])
        mean = jnp.mean(kernel, axis=(0, 1, 2))
        var = jnp.var(kernel, axis=(0, 1, 2))
        scale = gain * self.gamma * jax.lax.rsqrt(jnp.maximum(var * fan_in, 1e-4))
        weight = (kernel - mean) * scale
        y = jax.lax.conv_general_dilated(
            x,
            weight,
            (self.strides, self.strides),
            "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        return y + bias


def conv_norm(x: jax.Array, features: int, kernel: int, stride: int, norm: str) -> jax.Array:
    """The convolution of scheme ``norm`` (one of :data:`NORMS`) and its normalisation."""
    size = (kernel, kernel)
    if norm == "nf":
        return WSConv(features, size, stride)(x)
    y = nn.Conv(features, size, stride, use_bias=norm != "group")(x)
    if norm.startswith("group"):
        y = nn.GroupNorm(num_groups=group_count(features))(y)
    return y


__all__ = ["NORMS", "RELU_GAIN", "WSConv", "conv_norm"]
