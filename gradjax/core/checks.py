"""Argument checks shared by the core functions.

Every check runs at trace time on static information (shapes, dtypes, Python scalars) or on
concrete values when the caller passed them; traced values (inside ``jit``) are not inspected, so
the checks never force a host sync or break compilation.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np


def concrete_or_none(value):
    """Returns ``value`` as a NumPy array if it is concrete, ``None`` if it is a tracer."""
    if isinstance(value, jax.core.Tracer):
        return None
    return np.asarray(value)


def check_float_input(x, name: str = "x") -> None:
    """Raises TypeError unless ``x`` is a floating-point array with a batch axis."""
    dtype = jnp.result_type(x)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(
            f"{name} must be a floating-point array (inputs are differentiated), got dtype "
            f"{dtype}; convert images with x.astype(jnp.float32) / 255."
        )
    if jnp.ndim(x) < 1:
        raise ValueError(f"{name} must have a leading batch axis, got a scalar.")


# Dtypes too coarse for finite differences and QR factorisations: the estimators promote them.
LOW_PRECISION = (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))


def working_precision(x):
    """``x`` promoted to float32 when it is float16 or bfloat16, else unchanged.

    A forward difference ``fn(x + v) − fn(x)`` in bfloat16 (8 bits of mantissa) loses most of
    its digits to cancellation (the Taylor estimators were biased by several times the trace),
    and ``jnp.linalg.qr`` has no half-precision kernels; the estimators work in float32 and
    return float32."""
    return x.astype(jnp.float32) if jnp.result_type(x) in LOW_PRECISION else x


def check_key(key, name: str = "key") -> None:
    """Raises unless ``key`` is one PRNG key: a typed key (``jax.random.key(seed)``) or a
    legacy ``uint32[2]`` one (``jax.random.PRNGKey(seed)``)."""
    dtype = getattr(key, "dtype", None)
    shape = getattr(key, "shape", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if shape != ():
            raise ValueError(f"{name} must be one PRNG key, got an array of keys of shape {shape}.")
        return
    if dtype == jnp.uint32 and shape == (2,):
        return
    described = f"dtype {dtype}, shape {shape}" if dtype is not None else type(key).__name__
    raise TypeError(f"{name} must be a PRNG key from jax.random.key(seed), got {described}.")


def check_finite_positive_scalar(value, name: str) -> None:
    """Raises unless ``value`` is a scalar and, when concrete, finite and > 0."""
    if jnp.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {jnp.shape(value)}.")
    concrete = concrete_or_none(value)
    if concrete is not None and not (np.isfinite(concrete) and concrete > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}.")


def check_square(matrix, name: str) -> int:
    """Raises unless ``matrix`` is ``(..., D, D)``; returns ``D``."""
    shape = jnp.shape(matrix)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{name} must have shape (..., D, D) (square matrices), got {shape}.")
    return shape[-1]


def check_labels(y, num_classes: int, batch: int | None = None) -> None:
    """Raises unless ``y`` holds integer labels in ``[0, num_classes)`` (of shape ``(batch,)``
    when given). Under ``jit`` the labels are traced and their range cannot be checked: an
    out-of-range label there selects no logit (:func:`gradjax.select_logits` gives NaN)."""
    if batch is not None and jnp.shape(y) != (batch,):
        raise ValueError(f"y must have shape ({batch},) to match x, got {jnp.shape(y)}.")
    if not jnp.issubdtype(jnp.result_type(y), jnp.integer):
        raise TypeError(f"y must hold integer class labels, got dtype {jnp.result_type(y)}.")
    labels = concrete_or_none(y)
    if labels is not None and labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"y must hold labels in [0, {num_classes}), got values in "
            f"[{labels.min()}, {labels.max()}]."
        )


def check_positive(value, name: str) -> None:
    """Raises ValueError if a concrete ``value`` is not strictly positive."""
    concrete = concrete_or_none(value)
    if concrete is not None and not np.all(concrete > 0):
        raise ValueError(f"{name} must be > 0, got {value!r}.")


def check_positive_int(value, name: str) -> None:
    """Raises unless ``value`` is a Python int >= 1 (such arguments set array shapes)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}.")


def check_choice(value: str, name: str, choices) -> None:
    """Raises ValueError naming the valid choices if ``value`` is not one of them."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; valid: {', '.join(sorted(choices))}.")


def check_batched_scalar_fn(fn: Callable, x) -> None:
    """Raises ValueError unless ``fn(x)`` has shape ``(B,)`` where ``B = x.shape[0]``.

    Uses ``jax.eval_shape``: no computation is done.
    """
    out = jax.eval_shape(fn, x)
    expected = (x.shape[0],)
    if not hasattr(out, "shape") or out.shape != expected:
        got = getattr(out, "shape", type(out).__name__)
        raise ValueError(
            f"fn must map x of shape {x.shape} to one value per example, shape {expected}; "
            f"got {got}. Lift a per-example function with jax.vmap."
        )


def check_logits_and_labels(logits_fn: Callable, x, y) -> int:
    """Validates ``logits_fn(x) -> (B, C)`` and labels ``y: (B,)`` ints in ``[0, C)``.

    Returns:
      The number of classes ``C``.
    """
    check_float_input(x)
    out = jax.eval_shape(logits_fn, x)
    batch = x.shape[0]
    if len(out.shape) != 2 or out.shape[0] != batch:
        raise ValueError(
            f"logits_fn must map x of shape {x.shape} to logits of shape ({batch}, C); "
            f"got {out.shape}."
        )
    num_classes = out.shape[1]
    check_labels(y, num_classes, batch)
    return num_classes
