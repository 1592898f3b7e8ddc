"""GAN-test (Shmelkov et al., 2018) for class-conditional samples: the accuracy with which an
independently trained classifier recognises the class each sample was drawn for. High when the
samples look like their class to a model that did not produce them."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from gradjax.gradients import LogitsFn


def gan_test_accuracy(
    classifier_fn: LogitsFn, samples: np.ndarray, labels: np.ndarray, batch_size: int = 500
) -> float:
    """Fraction of ``samples (N, *event)`` that ``classifier_fn`` assigns to ``labels (N,)``."""
    samples, labels = np.asarray(samples), np.asarray(labels)
    if len(samples) != len(labels) or not len(samples):
        raise ValueError(
            f"gan_test_accuracy needs as many labels as samples (> 0); got {len(samples)} "
            f"samples and {len(labels)} labels."
        )
    correct = 0
    for start in range(0, len(samples), batch_size):
        logits = classifier_fn(jnp.asarray(samples[start : start + batch_size]))
        correct += int(jnp.sum(jnp.argmax(logits, -1) == labels[start : start + batch_size]))
    return correct / len(samples)


__all__ = ["gan_test_accuracy"]
