"""What replaces the removed pixels in the pixel-perturbation test.

The paper fills with the image's mean colour (§5.2.1). The choice matters: a fill the
classifier never saw in training (a flat patch, black, noise) can change its output through
the shape of the removed region rather than through the information removed (Hooker et al.
2019; Rong et al. 2022). :data:`FILLS` maps each name to
``(x, removed, key) -> (B, H, W, C)`` replacement images, of which only the removed pixels are
used:

- ``mean``: the image's mean colour (the paper);
- ``black``: zeros;
- ``noise``: uniform noise on [0, 1] (pixels in [0, 1] assumed);
- ``blur``: the image blurred by a Gaussian of :data:`BLUR_SIGMA` pixels;
- ``road``: noisy linear imputation (ROAD, Rong et al. 2022): each removed pixel is the
  weighted mean of its 8 neighbours (weights 1/6 edge, 1/12 diagonal, renormalised at the
  border), known pixels fixed, solved exactly by conjugate gradients, plus
  ``N(0, ROAD_NOISE²)``.

Arguments: ``x`` ``(B, H, W, C)``; ``removed`` ``(B, H, W)`` bool; ``key`` for the random
fills.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

BLUR_SIGMA = 2.0
ROAD_NOISE = 0.01
# ROAD's neighbour weights: 1/6 for the 4 edge neighbours, 1/12 for the 4 diagonal ones. A NumPy
# constant: a jax array here would start the XLA backend on import, before a multi-process
# program (train.py, which imports the presets) could call jax.distributed.initialize.
_ROAD_KERNEL = np.array(
    [[1 / 12, 1 / 6, 1 / 12], [1 / 6, 0.0, 1 / 6], [1 / 12, 1 / 6, 1 / 12]], np.float32
)


def _per_channel_conv(z: jax.Array, kernel: jax.Array) -> jax.Array:
    """Zero-padded 'same' correlation of every channel of ``z`` ``(B, H, W, C)`` with the 2-D
    ``kernel``."""
    b, h, w, c = z.shape
    planes = jnp.moveaxis(z, -1, 1).reshape(b * c, h, w, 1)
    out = jax.lax.conv_general_dilated(
        planes,
        kernel[:, :, None, None].astype(z.dtype),
        (1, 1),
        "SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )
    return jnp.moveaxis(out.reshape(b, c, h, w), 1, -1)


def gaussian_blur(x: jax.Array, sigma: float = BLUR_SIGMA) -> jax.Array:
    """``(B, H, W, C)`` blurred per channel by a Gaussian of ``sigma`` pixels (radius 3σ),
    renormalised at the border so that a constant image stays constant."""
    radius = max(1, int(3 * sigma + 0.5))
    t = jnp.arange(-radius, radius + 1, dtype=jnp.float32)
    g = jnp.exp(-0.5 * (t / sigma) ** 2)
    kernel = jnp.outer(g, g) / jnp.sum(g) ** 2
    return _per_channel_conv(x, kernel) / _per_channel_conv(jnp.ones_like(x[..., :1]), kernel)


def linear_imputation(x: jax.Array, removed: jax.Array, *, max_iterations: int = 500) -> jax.Array:
    """ROAD's linear imputation without its noise: ``(B, H, W, C)``, removed pixels replaced.

    Removed pixels ``u`` solve ``d_i u_i − Σ_j∈removed w_ij u_j = Σ_j∈known w_ij x_j`` with
    ``d_i = Σ_j w_ij`` over the neighbours inside the image: the Laplacian block of the
    removed pixels, symmetric positive definite when a pixel is known, solved by conjugate
    gradients from the mean-colour fill to a relative residual of 1e-5 (on 28×28 images with
    10–90% removed: within 5e-4 of the converged solution, 5% of ROAD's added noise, in 0.6–0.9
    of the time for 1e-6). An image with every pixel removed (a singular block) gets its mean
    colour.
    """
    mean = jnp.mean(x, axis=(1, 2), keepdims=True)
    all_removed = jnp.all(removed, axis=(1, 2))[:, None, None, None]
    m = jnp.where(all_removed, 0.0, removed[..., None].astype(x.dtype))
    degree = _per_channel_conv(jnp.ones_like(x[..., :1]), _ROAD_KERNEL)

    def operator(u):  # identity on known pixels, so the whole operator is SPD
        return m * (degree * u - _per_channel_conv(m * u, _ROAD_KERNEL)) + (1 - m) * u

    rhs = m * _per_channel_conv((1 - m) * x, _ROAD_KERNEL)
    u, _ = jax.scipy.sparse.linalg.cg(operator, rhs, x0=m * mean, tol=1e-5, maxiter=max_iterations)
    return jnp.where(all_removed, mean, jnp.where(m > 0, u, x))


def _road(x, removed, key):
    imputed = linear_imputation(x, removed)
    return imputed + ROAD_NOISE * jax.random.normal(key, x.shape, x.dtype)


FILLS: dict[str, Callable] = {
    "mean": lambda x, removed, key: jnp.broadcast_to(jnp.mean(x, (1, 2), keepdims=True), x.shape),
    "black": lambda x, removed, key: jnp.zeros_like(x),
    "noise": lambda x, removed, key: jax.random.uniform(key, x.shape, x.dtype),
    "blur": lambda x, removed, key: gaussian_blur(x),
    "road": _road,
}
# The fills that draw from their key.
RANDOM_FILLS = frozenset({"noise", "road"})

__all__ = [
    "BLUR_SIGMA",
    "FILLS",
    "RANDOM_FILLS",
    "ROAD_NOISE",
    "gaussian_blur",
    "linear_imputation",
]
