"""Whether a loop over gradient passes is unrolled: fully on CPU, not elsewhere.

XLA:CPU runs a convolutional network's input-gradient about four times slower inside a while
loop (``lax.scan``, ``lax.map``, ``fori_loop``) than outside one. ``benchmarks/loops.py`` (the
study's softplus ResNet, width 16, 250 CIFAR-shaped images, 2 idle cores, jax 0.10.2): one
jitted gradient 189 ms; per pass inside SmoothGrad's 16 draws, Integrated Gradients' 32 steps
and 100 gradient-ascent steps 741 / 773 / 796 ms rolled, 168 / 199 / 194 ms unrolled; the first
call, compilation included, 15 / 27 / 84 s rolled and 9 / 12 / 42 s unrolled. Partial
unrolling (2 or 4 passes per iteration) ran as slowly as none: the loop is what costs, and
forward passes inside loops run at full speed. jax-ml/jax#12868 reports convolutions slowed
inside loop bodies on CPU.

So these loops unroll completely on CPU by default, up to :data:`MAX_UNROLLED` passes (a
program of thousands of copies takes longer to compile, and more memory, than it saves). On
accelerators, where loops run well and compile time matters more, they stay rolled.
"""

from __future__ import annotations

import jax

# Loops of up to this many passes unroll by default: the evaluation's 16 draws, 32 steps and 100
# ascent steps do.
MAX_UNROLLED = 128


def resolve_unroll(unroll: bool | None, length: int) -> bool:
    """``unroll`` as given, or (``None``) whether to unroll a loop of ``length`` gradient
    passes: when JAX's default backend is the CPU and ``length <= MAX_UNROLLED``.

    The backend is the one computations go to without explicit placement
    (``jax.default_backend()``); pass ``unroll`` yourself when you place work elsewhere.
    """
    if unroll is not None:
        return bool(unroll)
    return jax.default_backend() == "cpu" and length <= MAX_UNROLLED


__all__ = ["MAX_UNROLLED", "resolve_unroll"]
