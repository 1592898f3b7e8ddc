"""gradjax: input-gradients of classifiers as scores of implicit class-conditional densities.

The core API takes plain functions: ``logits_fn: (B, *event) -> (B, C)`` for gradients and
``fn: (B, *event) -> (B,)`` for Hessian traces, with examples independent within a batch.
"""

from gradjax.core.deflation import hutchpp_trace, xtrace
from gradjax.core.gradients import (
    logit_gradients,
    logit_values_and_gradients,
    loss_gradients,
    select_logits,
)
from gradjax.core.trace import (
    hessian_trace,
    hutchinson_trace,
    standard_error,
    taylor_trace,
)
from gradjax.core.trace_uncertainty import (
    estimated_hutchinson_variance,
    estimated_taylor_variance,
    frobenius_sq_estimate,
    gradient_sq_norm,
    hutchinson_variance,
    taylor_variance,
)

__all__ = [
    "estimated_hutchinson_variance",
    "estimated_taylor_variance",
    "frobenius_sq_estimate",
    "gradient_sq_norm",
    "hessian_trace",
    "hutchpp_trace",
    "xtrace",
    "hutchinson_trace",
    "hutchinson_variance",
    "logit_gradients",
    "logit_values_and_gradients",
    "loss_gradients",
    "select_logits",
    "standard_error",
    "taylor_trace",
    "taylor_variance",
]
__version__ = "0.1.0"
