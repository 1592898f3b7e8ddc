"""Perturbation fills against dense references (ROAD's linear system, scipy's Gaussian filter)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import ndimage

from gradjax.evaluation.maths.fills import FILLS, gaussian_blur, linear_imputation
from gradjax.evaluation.maths.pixel_perturbation import perturb, relevance_ranks

WEIGHTS = {(1, 1): 1 / 12, (0, 1): 1 / 6, (-1, 1): 1 / 12, (1, -1): 1 / 12, (0, -1): 1 / 6}
WEIGHTS |= {(-1, -1): 1 / 12, (1, 0): 1 / 6, (-1, 0): 1 / 6}


def road_dense(image: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """ROAD's equations, one row per removed pixel, built by a loop and solved densely:
    Σ_valid w · x_i − Σ_removed w · x_j = Σ_known w · x_j."""
    h, w, c = image.shape
    index = {p: k for k, p in enumerate(zip(*np.nonzero(removed), strict=True))}
    a = np.zeros((len(index), len(index)))
    b = np.zeros((len(index), c))
    for (i, j), row in index.items():
        for (di, dj), wt in WEIGHTS.items():
            q = (i + di, j + dj)
            if not (0 <= q[0] < h and 0 <= q[1] < w):
                continue
            a[row, row] += wt
            if q in index:
                a[row, index[q]] -= wt
            else:
                b[row] += wt * image[q]
    out = image.astype(np.float64).copy()
    solved = np.linalg.solve(a, b)
    for p, row in index.items():
        out[p] = solved[row]
    return out


def test_linear_imputation_solves_roads_system():
    x = jax.random.uniform(jax.random.key(0), (2, 7, 6, 3))
    removed = jax.random.uniform(jax.random.key(1), (2, 7, 6)) < 0.6
    got = np.asarray(linear_imputation(x, removed))
    for k in range(2):
        expected = road_dense(np.asarray(x[k]), np.asarray(removed[k]))
        np.testing.assert_allclose(got[k], expected, rtol=1e-4, atol=1e-5)


def test_linear_imputation_with_every_pixel_removed_is_the_mean_colour():
    x = jax.random.uniform(jax.random.key(2), (1, 5, 5, 2))
    got = linear_imputation(x, jnp.ones((1, 5, 5), bool))
    np.testing.assert_allclose(
        got, jnp.broadcast_to(x.mean((1, 2), keepdims=True), x.shape), rtol=1e-5
    )


def test_gaussian_blur_matches_scipy_renormalised_at_the_border():
    x = np.asarray(jax.random.uniform(jax.random.key(3), (1, 12, 10, 2)))
    got = np.asarray(gaussian_blur(jnp.asarray(x), 1.5))
    for c in range(2):
        blur = lambda z: ndimage.gaussian_filter(z, 1.5, mode="constant", truncate=3.0)  # noqa: E731
        expected = blur(x[0, :, :, c]) / blur(np.ones((12, 10)))
        np.testing.assert_allclose(got[0, :, :, c], expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("fill", FILLS)
def test_every_fill_changes_only_the_removed_pixels(fill):
    x = jax.random.uniform(jax.random.key(4), (3, 6, 6, 2))
    ranks = relevance_ranks(jax.random.uniform(jax.random.key(5), (3, 6, 6)))
    out = perturb(x, ranks, jnp.float32(0.4), fill, jax.random.key(6))
    removed = np.asarray(ranks < round(0.4 * 36))
    np.testing.assert_array_equal(np.asarray(out)[~removed], np.asarray(x)[~removed])
    assert np.all(np.asarray(out)[removed] != np.asarray(x)[removed])


def test_random_fills_need_a_key_and_unknown_fills_name_the_valid_ones():
    x, ranks = jnp.zeros((1, 2, 2, 1)), jnp.zeros((1, 2, 2), jnp.int32)
    with pytest.raises(ValueError, match="key"):
        perturb(x, ranks, 0.5, "road")
    with pytest.raises(ValueError, match="blur"):
        perturb(x, ranks, 0.5, "inpaint")
