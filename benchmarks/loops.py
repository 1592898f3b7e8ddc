"""Loops over gradient passes, rolled against unrolled (gradjax.core.loops): seconds per pass.

The evaluation's loops that take input-gradients of the network (SmoothGrad's draws,
Integrated Gradients' steps, gradient-ascent sampling) on the study's model (small softplus
ResNet, width 16, normaliser-free), random parameters, CIFAR-shaped inputs. For each loop and
each way of running it: the first call's seconds (compilation included) and the median
milliseconds per gradient pass after it, beside one plain jitted gradient of the same batch.
Prints one JSON object per line: ``{"loop", "unroll", "passes", "first_call_s", "ms_per_pass"}``.

    python benchmarks/loops.py [--batch-size 250] [--repeats 3] [--ascent-steps 100]
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import interleaved_median_ms, print_record  # noqa: E402

from gradjax.core.gradients import logit_gradients  # noqa: E402
from gradjax.core.saliency import integrated_gradients, noisy_gradient_moments  # noqa: E402
from gradjax.evaluation.maths.sampling import gradient_ascent  # noqa: E402
from gradjax.models import MODELS, make_model  # noqa: E402


def loops(logits_fn, key, ascent_steps: int) -> dict[str, tuple[int, object]]:
    """``{loop: (gradient passes, fn(x, y, unroll))}``."""
    return {
        "smoothgrad (16 draws)": (
            16,
            lambda x, y, u: noisy_gradient_moments(logits_fn, x, y, key, unroll=u),
        ),
        "integrated-gradients (32 steps)": (
            32,
            lambda x, y, u: integrated_gradients(logits_fn, x, y, unroll=u),
        ),
        f"gradient-ascent ({ascent_steps} steps)": (
            ascent_steps,
            lambda x, y, u: gradient_ascent(logits_fn, x, y, steps=ascent_steps, unroll=u),
        ),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="resnet-small")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ascent-steps", type=int, default=100)
    args = parser.parse_args(argv)
    print(
        f"# jax {jax.__version__} on {jax.device_count()}x {jax.devices()[0].platform}",
        file=sys.stderr,
    )
    model = make_model(args.model, 10, width=args.width)
    key_x, key_init, key = jax.random.split(jax.random.key(0), 3)
    x = jax.random.uniform(key_x, (args.batch_size, 32, 32, 3))
    y = jnp.arange(args.batch_size) % 10
    logits_fn = functools.partial(model.apply, model.init(key_init, x[:1]))

    single = jax.jit(lambda x, y: logit_gradients(logits_fn, x, y))
    calls = {("one gradient", None, 1): (single, (x, y))}
    for name, (passes, fn) in loops(logits_fn, key, args.ascent_steps).items():
        for unroll in (False, True):
            calls[(name, unroll, passes)] = (jax.jit(functools.partial(fn, u=unroll)), (x, y))
    first = {}
    for label, (fn, call_args) in calls.items():
        start = time.perf_counter()
        jax.block_until_ready(fn(*call_args))
        first[label] = time.perf_counter() - start
    times = interleaved_median_ms(calls, repeats=args.repeats, block=1, warmup=0)
    for (name, unroll, passes), ms in times.items():
        print_record(
            loop=name,
            unroll=unroll,
            passes=passes,
            first_call_s=first[(name, unroll, passes)],
            ms_per_pass=ms / passes,
        )


if __name__ == "__main__":
    main()
