"""Classification accuracy and cross-entropy over a whole split, per example: the one
evaluation that training (test accuracy per epoch) and the evaluation's measurements share.
Per-example correctness is kept so that models evaluated on the same images can be compared
with paired intervals."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gradjax.training.batches import eval_batches


@dataclasses.dataclass(frozen=True)
class SplitScores:
    """``correct (N,) bool`` and ``ce (N,) float`` per example, and their means."""

    correct: np.ndarray
    ce: np.ndarray

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.correct))

    @property
    def mean_ce(self) -> float:
        return float(np.mean(self.ce))


def make_eval_step(apply_fn: Callable) -> Callable:
    """Jitted ``(params, x (B, ...), y (B,)) -> (correct (B,) bool, ce (B,))``."""

    @jax.jit
    def eval_step(params, x, y):
        logits = apply_fn(params, x)
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, y)
        return jnp.argmax(logits, -1) == y, ce

    return eval_step


def score_split(
    eval_step: Callable, params, images: np.ndarray, labels: np.ndarray, batch_size: int
) -> SplitScores:
    """Scores every example of ``images (N, H, W, C) uint8`` with ``eval_step``; the last batch
    is padded to ``batch_size`` (one compilation) and the padding dropped."""
    correct, ce = [], []
    for x, y, valid in eval_batches(images, labels, batch_size):
        c, e = eval_step(params, x, y)
        correct.append(np.asarray(c)[:valid])
        ce.append(np.asarray(e)[:valid])
    return SplitScores(np.concatenate(correct), np.concatenate(ce))


__all__ = ["SplitScores", "make_eval_step", "score_split"]
