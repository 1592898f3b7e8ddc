"""Per-example Hessian traces ``tr ∇²x fn(x)``: exact, Hutchinson, and the Taylor trace estimator.

All estimators take a *batched* ``fn: (B, *event) -> (B,)`` whose examples are independent, so
the Hessian of ``Σ_b fn(x)_b`` is block-diagonal and one Hessian-vector product of the sum
serves every example at once. A per-example function is lifted by the caller with ``jax.vmap``.

Nothing here is jit-decorated or knows about flax, optax or data: callers jit, and gradients
with respect to parameters that ``fn`` closes over flow through every estimator.

References: Hutchinson (1990), "A stochastic estimator of the trace of the influence matrix for
Laplacian smoothing splines"; the Taylor trace estimator is Srinivas & Fleuret, ICLR 2021, §3.2
eq. 3 and App. B eq. 8 (``h(x) = 2/σ² · E[f(x + v) − f(x)]``, ``v ~ N(0, σ²I)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from gradjax.core.checks import (
    check_batched_scalar_fn,
    check_choice,
    check_finite_positive_scalar,
    check_float_input,
    check_key,
    check_positive_int,
    working_precision,
)
from gradjax.core.loops import resolve_unroll

BatchedScalarFn = Callable[[jax.Array], jax.Array]

PROBE_SAMPLERS = {
    "gaussian": jax.random.normal,
    "rademacher": jax.random.rademacher,
}
HUTCHINSON_MODES = ("forward", "reverse")


def _prepared(fn: BatchedScalarFn, x: jax.Array) -> jax.Array:
    """Checks ``fn`` and ``x``; returns ``x`` in working precision (float16 and bfloat16
    promoted to float32, :func:`~gradjax.core.checks.working_precision`)."""
    check_float_input(x)
    check_batched_scalar_fn(fn, x)
    return working_precision(x)


def _hessian_vector_product(fn: BatchedScalarFn, x: jax.Array) -> Callable[[jax.Array], jax.Array]:
    """Returns ``v -> H v`` (per example) by forward-over-reverse, linearised once at ``x``.

    ``jax.linearize`` evaluates the gradient and stores its residuals once; each further probe
    costs one tangent pass instead of a full jvp-of-grad.
    """
    _, hvp = jax.linearize(jax.grad(lambda z: jnp.sum(fn(z))), x)
    return hvp


def _quadratic_form_forward(fn: BatchedScalarFn, x: jax.Array, v: jax.Array) -> jax.Array:
    """``vᵀ ∇²fn(x) v`` per example ``(B,)`` by forward-over-forward: the second directional
    derivative of ``fn`` along ``v``, two nested ``jvp`` and no backward pass."""
    return jax.jvp(lambda z: jax.jvp(fn, (z,), (v,))[1], (x,), (v,))[1]


def map_over_samples(fn: Callable[[jax.Array], jax.Array], samples: jax.Array) -> jax.Array:
    """``fn`` applied to each ``samples[n]``, stacked: ``(N, ...) -> (N, ...)``.

    One sample is a plain call; several go through a ``lax.scan`` rather than ``vmap``, so
    memory stays that of one sample: on CPU (softplus CNN, CIFAR shape, batch 32) sequential
    forward and forward-over-forward passes were faster per sample than vmapped ones, whose
    convolutions carry an extra sample axis (benchmarks/estimators.py --strategies). On CPU the
    scan unrolls (:func:`gradjax.core.loops.resolve_unroll`): a score-matching train step with two
    Taylor samples cost 40.8× the baseline step through a rolled ``lax.map``, 6.0× unrolled, and
    4.7× with one sample (``benchmarks/step_cost.py --batch-size 32 --num-samples 2``, 2 idle
    cores).
    """
    if samples.shape[0] == 1:
        return fn(samples[0])[None]
    _, stacked = jax.lax.scan(
        lambda carry, sample: (carry, fn(sample)),
        None,
        samples,
        unroll=resolve_unroll(None, samples.shape[0]),
    )
    return stacked


def standard_error(samples: jax.Array) -> jax.Array:
    """``(N, B) -> (B,)``: the standard error of the mean over the first axis,
    ``std(ddof=1) / √N`` (NaN for ``N = 1``: one sample says nothing about its spread)."""
    n = samples.shape[0]
    if n == 1:
        return jnp.full(samples.shape[1:], jnp.nan, samples.dtype)
    return jnp.std(samples, axis=0, ddof=1) / jnp.sqrt(n)


def _mean_and_stderr(samples: jax.Array, return_stderr: bool):
    mean = jnp.mean(samples, axis=0)
    return (mean, standard_error(samples)) if return_stderr else mean


def _flat_dot(a: jax.Array, b: jax.Array) -> jax.Array:
    """``(B, *event), (B, *event) -> (B,)``: per-example inner product."""
    return jnp.sum((a * b).reshape(a.shape[0], -1), axis=-1)


def hessian_trace(fn: BatchedScalarFn, x: jax.Array, /, *, chunk_size: int = 64) -> jax.Array:
    """Exact per-example Hessian trace, one basis direction per Hessian-vector product.

    Costs ``D = prod(event)`` tangent passes. Directions are processed ``chunk_size`` at a time
    (vmapped inside a ``lax.map``), so peak memory is about ``chunk_size`` times the memory of
    one tangent pass over the batch; at CIFAR size (D = 3072) lower ``chunk_size`` if needed.

    Args:
      fn: ``(B, *event) -> (B,)``, examples independent.
      x: ``(B, *event)`` floating-point inputs.
      chunk_size: basis directions per vmapped chunk, ``>= 1``.

    Returns:
      ``(B,)`` traces ``tr ∇²x fn(x)_b``.
    """
    x = _prepared(fn, x)
    check_positive_int(chunk_size, "chunk_size")
    batch = x.shape[0]
    dim = math.prod(x.shape[1:])
    chunk_size = min(chunk_size, dim)
    num_chunks = -(-dim // chunk_size)
    hvp = _hessian_vector_product(fn, x)

    def diagonal_entry(index):
        basis = jnp.zeros((batch, dim), x.dtype).at[:, index].set(1.0)
        return hvp(basis.reshape(x.shape)).reshape(batch, dim)[:, index]

    def chunk_sum(indices):
        # Padding indices (>= dim) repeat the last direction; they are masked out.
        valid = indices < dim
        entries = jax.vmap(diagonal_entry)(jnp.minimum(indices, dim - 1))
        return jnp.sum(jnp.where(valid[:, None], entries, 0.0), axis=0)

    indices = jnp.arange(num_chunks * chunk_size).reshape(num_chunks, chunk_size)
    return jnp.sum(jax.lax.map(chunk_sum, indices), axis=0)


def hutchinson_trace(
    fn: BatchedScalarFn,
    x: jax.Array,
    key: jax.Array,
    /,
    *,
    num_samples: int = 1,
    distribution: str = "gaussian",
    return_stderr: bool = False,
    mode: str = "forward",
) -> jax.Array | tuple[jax.Array, jax.Array]:
    """Hutchinson's estimator ``mean_n v_nᵀ H v_n``.

    Unbiased for ``E[v vᵀ] = I``. Variance per probe is ``2‖H‖²_F`` (gaussian) or
    ``2(‖H‖²_F − Σ_i H²_ii)`` (rademacher); see :func:`hutchinson_variance`.

    Two ways to the quadratic forms, equal up to float rounding:

    - ``"forward"`` (default): ``vᵀHv`` directly as the second directional derivative, two
      nested ``jvp`` per probe (:func:`_quadratic_form_forward`), no backward pass;
    - ``"reverse"``: Hessian-vector products by jvp-of-grad, the gradient linearised once
      (``jax.linearize``) and each probe one tangent pass through it, forward and backward.

    On CPU (softplus CNN, CIFAR shape, batch 32) forward mode costs 2.3 forward passes for one
    probe against 3.6 for matfree's jvp-of-grad, and a further probe 0.9–1.0 against 4.2
    through the linearised gradient (benchmarks/estimators.py --strategies). Forward mode pays
    for the activations' derivative rules at second order: with ``jax.nn.softplus``, whose
    rule (through ``logaddexp``) is costly to differentiate again, one probe cost 1.3× reverse
    mode; :func:`gradjax.models.activations.softplus` has a cheap rule.

    Args:
      fn: ``(B, *event) -> (B,)``, examples independent.
      x: ``(B, *event)`` floating-point inputs.
      key: PRNG key for the probes.
      num_samples: probes per example ``N >= 1``, applied in sequence.
      distribution: ``"gaussian"`` or ``"rademacher"``.
      return_stderr: also return each estimate's standard error from its own probes.
      mode: ``"forward"`` or ``"reverse"`` (above).

    Returns:
      ``(B,)`` trace estimates, or ``(estimates, stderr)`` with ``return_stderr``
      (:func:`standard_error`; NaN for one probe).
    """
    x = _prepared(fn, x)
    check_key(key)
    check_positive_int(num_samples, "num_samples")
    check_choice(distribution, "distribution", PROBE_SAMPLERS)
    check_choice(mode, "mode", HUTCHINSON_MODES)
    probes = PROBE_SAMPLERS[distribution](key, (num_samples, *x.shape), x.dtype)
    if mode == "forward":
        quadratic_forms = map_over_samples(lambda v: _quadratic_form_forward(fn, x, v), probes)
    else:
        hvp = _hessian_vector_product(fn, x)
        quadratic_forms = map_over_samples(lambda v: _flat_dot(v, hvp(v)), probes)
    return _mean_and_stderr(quadratic_forms, return_stderr)


def taylor_trace(
    fn: BatchedScalarFn,
    x: jax.Array,
    key: jax.Array,
    /,
    sigma: float,
    *,
    num_samples: int = 1,
    central: bool = False,
    fx: jax.Array | None = None,
    return_stderr: bool = False,
) -> jax.Array | tuple[jax.Array, jax.Array]:
    """Taylor trace estimator from forward passes only (Srinivas & Fleuret, 2021, §3.2 eq. 3, App. B
    eq. 8).

    Forward difference: ``h = 2/σ² · mean_n [fn(x + v_n) − fn(x)]``; central difference:
    ``h = mean_n [fn(x + v_n) + fn(x − v_n) − 2 fn(x)] / σ²``, with ``v_n ~ N(0, σ²I)``.
    Both are unbiased for quadratic ``fn``; their bias otherwise is ``O(σ²)``. The forward
    estimator pays ``4σ⁻²‖∇fn‖²`` extra variance per sample (:func:`taylor_variance`), which
    the central one cancels at the price of a second perturbed forward pass. Small ``σ`` loses
    precision to cancellation in ``fn(x + v) − fn(x)``.

    ``fn`` is applied to one perturbed batch of ``B`` examples at a time, so it may close over
    per-example data such as labels of shape ``(B,)``. ``sigma`` may be passed by position or
    keyword: ``taylor_trace(fn, x, key, 0.1)`` and ``taylor_trace(fn, x, key, sigma=0.1)``.

    Args:
      fn: ``(B, *event) -> (B,)``, examples independent.
      x: ``(B, *event)`` floating-point inputs (float16 and bfloat16 are promoted to float32:
        the differences and the averaging need its precision).
      key: PRNG key for the perturbations.
      sigma: standard deviation of the perturbation, a finite scalar ``> 0``.
      num_samples: perturbations per example ``N >= 1``.
      central: use the central difference.
      fx: ``(B,)`` values ``fn(x)`` the caller already has (e.g. from the cross-entropy forward
        pass); saves one forward pass. Gradients flow through it as through ``fn(x)``.
      return_stderr: also return each estimate's standard error from its own perturbations.

    Returns:
      ``(B,)`` trace estimates, or ``(estimates, stderr)`` with ``return_stderr``.
    """
    x = _prepared(fn, x)
    check_key(key)
    check_finite_positive_scalar(sigma, "sigma")
    check_positive_int(num_samples, "num_samples")
    if fx is None:
        fx = fn(x)
    elif jnp.shape(fx) != (x.shape[0],):
        raise ValueError(f"fx must have shape ({x.shape[0]},) to match x, got {jnp.shape(fx)}.")
    # Differences in the working precision (a half-precision fn's outputs are promoted first).
    fx = fx.astype(x.dtype)
    noise = sigma * jax.random.normal(key, (num_samples, *x.shape), x.dtype)

    def f(z):
        return fn(z).astype(x.dtype)

    if central:
        # Two maps, not one over the 2N concatenated samples: with N = 1 both are plain calls,
        # never a loop (which, rolled and differentiated on CPU, cost a train step 40×).
        f_plus = map_over_samples(f, x + noise)
        f_minus = map_over_samples(f, x - noise)
        return _mean_and_stderr((f_plus + f_minus - 2.0 * fx) / sigma**2, return_stderr)
    f_plus = map_over_samples(f, x + noise)
    return _mean_and_stderr(2.0 / sigma**2 * (f_plus - fx), return_stderr)


__all__ = [
    "HUTCHINSON_MODES",
    "PROBE_SAMPLERS",
    "hessian_trace",
    "hutchinson_trace",
    "map_over_samples",
    "standard_error",
    "taylor_trace",
]
