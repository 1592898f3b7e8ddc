"""How a dataset is cut: a fixed random subset, examples drawn by a seed, shuffled training
batches that a resumed run sees exactly again (and a process's rows of them), and evaluation
batches. NumPy in, NumPy out."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gradjax.training.data import to_float

# Seed of the fixed random training subset (DataConfig.train_subset): ours, fixed so that runs
# of one study train on the same images.
SUBSET_SEED = 1234


def subset(
    images: np.ndarray, labels: np.ndarray, size: int | None, seed: int = SUBSET_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random subset of ``size`` examples (all of them when ``size`` is ``None`` or not
    smaller than the split), drawn by ``seed`` so that every run of a study sees the same one."""
    if size is None or size >= len(images):
        return images, labels
    chosen = _drawn_indices(len(images), size, seed)
    return images[chosen], labels[chosen]


def draw_examples(
    images: np.ndarray, labels: np.ndarray, count: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` examples (all of them when ``count`` is not smaller than the split) drawn
    without replacement by ``seed``, in the order drawn, as float images in [0, 1] and int32
    labels.

    Drawn, not the first ones, and kept in the order drawn: image-folder test splits are
    ordered by class, and the measurements that need fewer images take the first of the
    shared draw, so every prefix of a draw must itself be a uniform draw (the draw of ``k`` is
    the first ``k`` of any larger draw with the same seed).
    """
    chosen = _drawn_indices(len(images), count, seed)
    return to_float(images[chosen]), labels[chosen].astype(np.int32)


def _drawn_indices(num_examples: int, count: int, seed: int) -> np.ndarray:
    """The first ``count`` of a permutation of ``range(num_examples)`` drawn by ``seed``."""
    return np.random.default_rng(seed).permutation(num_examples)[:count]


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    """Full batches per epoch (the last partial batch is dropped: shapes stay static)."""
    if batch_size > num_examples:
        raise ValueError(f"batch_size {batch_size} exceeds the {num_examples} training examples.")
    return num_examples // batch_size


def train_batches(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    start: int = 0,
    rows: slice = slice(None),
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shuffled training batches of epoch ``epoch``, from batch index ``start`` on; only the
    ``rows`` of each batch (a process's share, see :mod:`gradjax.training.distributed`) are
    gathered.

    The order depends only on ``(seed, epoch)``, so a run resumed mid-epoch sees exactly the
    batches an uninterrupted run would (augmentation, in the train step, depends on the step).

    Yields:
      ``(images (batch_size, H, W, C) float32 in [0, 1], labels (batch_size,) int32)``.
    """
    order = np.random.default_rng([seed, epoch]).permutation(len(images))
    for index in range(start, steps_per_epoch(len(images), batch_size)):
        chosen = order[index * batch_size : (index + 1) * batch_size][rows]
        yield to_float(images[chosen]), labels[chosen]


def slices(*arrays, size: int):
    """Consecutive slices of ``size`` rows of equally long arrays (the last may be shorter)."""
    for start in range(0, len(arrays[0]), size):
        yield tuple(a[start : start + size] for a in arrays)


def eval_batches(
    images: np.ndarray, labels: np.ndarray, batch_size: int
) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Batches in order, the last one padded to ``batch_size`` (static shapes).

    Yields:
      ``(images float32 in [0, 1], labels, num_valid)``: only the first ``num_valid`` rows are
      real examples.
    """
    for batch_x, batch_y in slices(images, labels, size=batch_size):
        valid = len(batch_x)
        if valid < batch_size:
            pad = batch_size - valid
            batch_x = np.concatenate([batch_x, np.repeat(batch_x[:1], pad, 0)])
            batch_y = np.concatenate([batch_y, np.repeat(batch_y[:1], pad, 0)])
        yield to_float(batch_x), batch_y, valid


__all__ = [
    "SUBSET_SEED",
    "draw_examples",
    "eval_batches",
    "slices",
    "steps_per_epoch",
    "subset",
    "train_batches",
]
