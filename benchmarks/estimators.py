"""Cost of the trace estimators relative to one forward pass (CPU, softplus CNN, CIFAR shape).

Prints one JSON object per line: {"name", "ms", "ratio_to_forward"}. Targets (issue #2): the
Taylor estimator with f(x) given ≤ 1.2× a forward pass (floor 1.0: one extra forward pass);
Hutchinson with one probe ≤ 4× a forward pass. ``hessian_trace`` is timed on a small MLP on 8×8
inputs (D = 64), against that MLP's forward pass.

    python benchmarks/estimators.py [--batch-size 128] [--repeats 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import interleaved_median_ms, print_record  # noqa: E402

from gradjax import hessian_trace, hutchinson_trace, select_logits, taylor_trace  # noqa: E402
from gradjax.models import make_model  # noqa: E402


def selected_logit_fn(model, params, y):
    return lambda x: select_logits(model.apply(params, x), y)


def time_estimators(model_name, shape, repeats, include_exact=False):
    """Times forward / Taylor / Hutchinson (/ exact) for ``model_name`` at input ``shape``."""
    key_x, key_init, key_est = jax.random.split(jax.random.key(0), 3)
    model = make_model(model_name, num_classes=10)
    x = jax.random.uniform(key_x, shape)
    y = jnp.arange(shape[0]) % 10
    params = model.init(key_init, x)

    def forward(params, x):
        return selected_logit_fn(model, params, y)(x)

    def taylor(params, x, fx, key, central):
        return taylor_trace(
            selected_logit_fn(model, params, y), x, key, 0.1, fx=fx, central=central
        )

    def hutchinson(params, x, key):
        return hutchinson_trace(selected_logit_fn(model, params, y), x, key)

    def exact(params, x):
        return hessian_trace(selected_logit_fn(model, params, y), x)

    fx = jax.jit(forward)(params, x)
    calls = {"forward": (jax.jit(forward), (params, x))}
    if include_exact:
        calls["hessian_trace_exact"] = (jax.jit(exact), (params, x))
    else:
        taylor_jit = jax.jit(taylor, static_argnums=4)
        calls["taylor_fx_given"] = (taylor_jit, (params, x, fx, key_est, False))
        calls["taylor_central_fx_given"] = (taylor_jit, (params, x, fx, key_est, True))
        calls["hutchinson_1_probe"] = (jax.jit(hutchinson), (params, x, key_est))
    times = interleaved_median_ms(calls, repeats=repeats)
    suffix = f"{model_name}_{'x'.join(map(str, shape))}"
    for name, ms in times.items():
        print_record(name=f"{name}_{suffix}", ms=ms, ratio_to_forward=ms / times["forward"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    print(f"# jax {jax.__version__} on {jax.devices()[0].platform}", file=sys.stderr)
    time_estimators("cnn", (args.batch_size, 32, 32, 3), args.repeats)
    time_estimators("mlp", (args.batch_size, 8, 8, 1), args.repeats, include_exact=True)


if __name__ == "__main__":
    main()
