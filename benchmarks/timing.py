"""Wall-clock timing of compiled JAX functions for the benchmark scripts."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable

import jax


def interleaved_median_ms(
    calls: dict[str, tuple[Callable, tuple]],
    *,
    repeats: int = 20,
    block: int = 5,
    warmup: int = 2,
) -> dict[str, float]:
    """Median wall time in milliseconds of each ``fn(*args)`` in ``calls``.

    The calls are compiled and warmed up, then timed in blocks of ``block`` consecutive calls,
    the blocks of all candidates alternating until each has ``repeats`` timings: a slow spell of
    a shared machine hits every candidate alike, while consecutive calls keep the warm caches
    and allocator state a training loop would see (strict alternation penalised whichever call
    followed a memory-heavy one). Every call is synchronised with ``jax.block_until_ready``.
    """
    for fn, args in calls.values():
        for _ in range(warmup):
            jax.block_until_ready(fn(*args))
    times = {name: [] for name in calls}
    while min(len(t) for t in times.values()) < repeats:
        for name, (fn, args) in calls.items():
            jax.block_until_ready(fn(*args))  # settle after the previous candidate
            for _ in range(block):
                start = time.perf_counter()
                jax.block_until_ready(fn(*args))
                times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def print_record(**record) -> None:
    """Prints one JSON object on one line, floats rounded for reading."""
    rounded = {k: round(v, 3) if isinstance(v, float) else v for k, v in record.items()}
    print(json.dumps(rounded), flush=True)
