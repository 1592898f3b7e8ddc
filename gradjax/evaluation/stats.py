"""95% intervals for the evaluation's numbers, and the verdict they support.

* :func:`wilson_interval`: a proportion (accuracy, GAN-test) from ``k`` of ``n``.
* :func:`mean_interval`: a mean of per-example values (density ratios), normal approximation.
* :func:`paired_difference`: the difference of two statistics measured on the *same* examples
  (two models on the same test images), by a paired bootstrap over examples.
* :func:`mcnemar_p`: exact McNemar test for two classifiers' paired correctness.
* :func:`accuracy_difference`: both of the above for two accuracies on the same examples.
* :func:`independent_proportion_difference`, :func:`independent_mean_difference`: differences
  of two statistics known only as saved summaries (evaluations run apart), unpaired.
* :func:`log_mean_exp`, :func:`bootstrap_interval`: the paper's density statistic
  ``log E[exp r]`` and a percentile bootstrap of any statistic of per-example values.
* :func:`seed_interval`: a mean over training seeds with its Student-t interval (the unit of a
  claim about an objective is the seed).
* :func:`excludes_zero`, :func:`verdict`: what an interval of a difference says.

Every function is NumPy in, floats out; seeds are explicit.
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (``(0, 1)`` when ``n = 0``)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(correct: np.ndarray) -> dict[str, float]:
    """``{"value", "low", "high", "n"}`` of a boolean array's mean, Wilson 95% interval."""
    correct = np.asarray(correct, bool)
    low, high = wilson_interval(int(correct.sum()), correct.size)
    return {"value": float(correct.mean()), "low": low, "high": high, "n": int(correct.size)}


def mean_interval(values: np.ndarray, z: float = Z95) -> dict[str, float]:
    """``{"value", "low", "high", "n"}``: mean ± z·sd/√n over the last axis."""
    values = np.asarray(values, np.float64)
    n = values.shape[-1]
    mean = values.mean(-1)
    half = z * values.std(-1, ddof=1) / math.sqrt(n) if n > 1 else np.inf
    return {"value": mean, "low": mean - half, "high": mean + half, "n": n}


def paired_difference(
    a: np.ndarray,
    b: np.ndarray,
    *,
    statistic=np.mean,
    num_resamples: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """``statistic(a) − statistic(b)`` with a 95% paired-bootstrap percentile interval.

    Args:
      a: ``(..., N)`` per-example values of one model.
      b: the same for another model on the same ``N`` examples (the last axis is resampled
        jointly, which keeps the pairing).
      statistic: reduces the last axis, e.g. ``np.mean``.
      num_resamples: bootstrap resamples.
      seed: resampling seed.

    Returns:
      ``{"value", "low", "high", "n"}`` (arrays of the leading shape when ``a`` has more axes).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal shapes, got {a.shape} and {b.shape}.")
    n = a.shape[-1]
    index = np.random.default_rng(seed).integers(0, n, (num_resamples, n))
    # (..., R): one resampled difference per bootstrap draw, for every leading index.
    diffs = statistic(a[..., index], axis=-1) - statistic(b[..., index], axis=-1)
    low, high = np.percentile(diffs, [2.5, 97.5], axis=-1)
    return {
        "value": statistic(a, axis=-1) - statistic(b, axis=-1),
        "low": low,
        "high": high,
        "n": n,
    }


def log_mean_exp(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log mean exp(values)`` along ``axis``, without overflow: the paper's density statistic
    ``log E[exp(f_y(x+η) − f_y(x))]`` (§5.1.1) from per-example log-ratios."""
    values = np.asarray(values, np.float64)
    top = np.max(values, axis=axis, keepdims=True)
    mean = np.mean(np.exp(values - top), axis=axis, keepdims=True)
    return np.squeeze(top + np.log(mean), axis=axis)


def bootstrap_interval(
    values: np.ndarray, *, statistic=np.mean, num_resamples: int = 2000, seed: int = 0
) -> dict[str, float]:
    """``statistic`` of per-example ``values`` (``(..., N)``, examples on the last axis) with a
    95% percentile-bootstrap interval over the examples: ``{"value", "low", "high", "n"}``.
    ``statistic(array, axis=-1)`` reduces the last axis."""
    values = np.asarray(values, np.float64)
    n = values.shape[-1]
    index = np.random.default_rng(seed).integers(0, n, (num_resamples, n))
    draws = statistic(values[..., index], axis=-1)
    low, high = np.percentile(draws, [2.5, 97.5], axis=-1)
    return {"value": statistic(values, axis=-1), "low": low, "high": high, "n": n}


def seed_interval(values) -> dict:
    """Mean of per-seed values (one number per training seed, e.g. each seed's difference
    between two objectives) with a 95% Student-t interval over the seeds:
    ``{"value", "low", "high", "n", "per_seed"}``; with one seed the interval is unbounded."""
    from scipy.stats import t as student_t

    values = np.asarray(values, np.float64)
    n = values.size
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        half = math.inf
    else:
        half = float(student_t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return {
        "value": mean,
        "low": mean - half,
        "high": mean + half,
        "n": n,
        "per_seed": values.tolist(),
    }


def mcnemar_p(correct_a: np.ndarray, correct_b: np.ndarray) -> float:
    """Two-sided exact McNemar p-value: are the discordant pairs split evenly?"""
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def accuracy_difference(correct_a: np.ndarray, correct_b: np.ndarray, seed: int = 0) -> dict:
    """Accuracy of ``a`` minus ``b`` on the same ``N`` examples (``(N,)`` booleans each): the
    paired bootstrap of :func:`paired_difference` and ``"mcnemar_p"``, the exact McNemar test."""
    return {
        **paired_difference(correct_a, correct_b, seed=seed),
        "mcnemar_p": mcnemar_p(correct_a, correct_b),
    }


def independent_proportion_difference(
    successes_a: int, n_a: int, successes_b: int, n_b: int, z: float = Z95
) -> dict[str, float]:
    """``k_a/n_a − k_b/n_b`` with Newcombe's hybrid score interval (his method 10).

    Built from the two Wilson intervals; unlike the Wald interval it stays inside [−1, 1] and
    keeps its coverage near 0 or 1 (Newcombe 1998, Statistics in Medicine 17:873). For two
    independent samples: where both proportions come from the same examples, the paired
    :func:`paired_difference` is narrower.
    """
    if min(n_a, n_b) < 1:
        raise ValueError(f"both samples need at least one example, got n = {n_a} and {n_b}.")
    p_a, p_b = successes_a / n_a, successes_b / n_b
    low_a, high_a = wilson_interval(successes_a, n_a, z)
    low_b, high_b = wilson_interval(successes_b, n_b, z)
    d = p_a - p_b
    return {
        "value": d,
        "low": d - math.hypot(p_a - low_a, high_b - p_b),
        "high": d + math.hypot(high_a - p_a, p_b - low_b),
        "n": min(n_a, n_b),
    }


def independent_mean_difference(a: dict, b: dict, z: float = Z95) -> dict[str, float]:
    """Difference of two means given as :func:`mean_interval` records, unpaired.

    Each record's standard error is read back from its interval, ``(high − low) / 2z``; the
    difference gets ``± z·√(se_a² + se_b²)`` (Welch's normal approximation). Values, lows and
    highs may be arrays of one shape (a mean per noise level): the result is elementwise.
    """
    value_a, value_b = np.asarray(a["value"], np.float64), np.asarray(b["value"], np.float64)
    if value_a.shape != value_b.shape:
        raise ValueError(f"means of different shapes: {value_a.shape} and {value_b.shape}.")
    se_a = (np.asarray(a["high"], np.float64) - np.asarray(a["low"], np.float64)) / (2 * z)
    se_b = (np.asarray(b["high"], np.float64) - np.asarray(b["low"], np.float64)) / (2 * z)
    half = z * np.hypot(se_a, se_b)
    d = value_a - value_b
    return {"value": d, "low": d - half, "high": d + half, "n": min(a["n"], b["n"])}


def excludes_zero(low: float, high: float) -> bool:
    """Whether the interval ``[low, high]`` leaves 0 out (a detected difference)."""
    return not low <= 0 <= high


def verdict(low: float, high: float, *, higher: str = "higher", lower: str = "lower") -> str:
    """``"no difference detected"`` when the interval covers 0, else which side it is on."""
    if not excludes_zero(low, high):
        return "no difference detected"
    return higher if low > 0 else lower


def to_json(tree):
    """NumPy scalars and arrays in nested dicts/lists to plain Python for ``json.dumps``."""
    if isinstance(tree, dict):
        return {k: to_json(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return [to_json(v) for v in tree]
    if isinstance(tree, np.ndarray):
        return tree.tolist()
    if isinstance(tree, np.generic):
        return tree.item()
    return tree


__all__ = [
    "Z95",
    "accuracy_difference",
    "bootstrap_interval",
    "excludes_zero",
    "independent_mean_difference",
    "independent_proportion_difference",
    "log_mean_exp",
    "mcnemar_p",
    "mean_interval",
    "paired_difference",
    "proportion",
    "seed_interval",
    "to_json",
    "verdict",
    "wilson_interval",
]
