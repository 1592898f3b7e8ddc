"""Cost of the trace estimators relative to one forward pass (CPU, softplus CNN, CIFAR shape).

Prints one JSON object per line: {"name", "ms", "ratio_to_forward"}. Targets (issue #2): the
Taylor estimator with f(x) given ≤ 1.2× a forward pass (floor 1.0: one extra forward pass);
Hutchinson with one probe ≤ 4× a forward pass. ``hessian_trace`` is timed on a small MLP on 8×8
inputs (D = 64), against that MLP's forward pass.

    python benchmarks/estimators.py [--batch-size 128] [--repeats 20]

``--strategies`` instead compares the routes to Hutchinson's ``vᵀHv`` on the same CNN (CIFAR
shape, batch 32 by default) at 1, 4 and 16 gaussian probes, one jit each: gradjax's
``hutchinson_trace`` in each mode, a plain ``vmap`` over probes of jvp-of-grad, one forward
pass (the unit of ``ratio_to_forward``) and, if it is installed (``pip install -e
'.[bench]'``), matfree 0.6.3's Monte-Carlo estimator vmapped over examples with jvp-of-grad
matvecs; ``ratio_to_peer`` is each time over matfree's.
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


def time_hutchinson_strategies(shape, repeats, probe_counts=(1, 4, 16)):
    """Times the routes to Hutchinson's estimate at each probe count (see the module doc)."""
    key_x, key_init, key_est = jax.random.split(jax.random.key(0), 3)
    model = make_model("cnn", num_classes=10)
    x = jax.random.uniform(key_x, shape)
    y = jnp.arange(shape[0]) % 10
    params = model.init(key_init, x)

    def gradjax_mode(mode, n):
        def run(params, x, key):
            fn = selected_logit_fn(model, params, y)
            return hutchinson_trace(fn, x, key, num_samples=n, mode=mode)

        return run

    def vmap_jvp_of_grad(n):
        def run(params, x, key):
            grad = jax.grad(lambda z: jnp.sum(selected_logit_fn(model, params, y)(z)))
            probes = jax.random.normal(key, (n, *x.shape))

            def form(v):
                return jnp.sum((v * jax.jvp(grad, (x,), (v,))[1]).reshape(x.shape[0], -1), -1)

            return jnp.mean(jax.vmap(form)(probes), 0)

        return run

    def matfree_peer(n):
        from matfree import stochtrace

        def run(params, x, key):
            def one(xb, yb, k):
                fb = lambda z: select_logits(model.apply(params, z[None]), yb[None])[0]  # noqa: E731
                matvec = lambda v: jax.jvp(jax.grad(fb), (xb,), (v,))[1]  # noqa: E731
                sampler = stochtrace.sampler_normal(xb, num=n)
                estimate = stochtrace.estimator_monte_carlo(stochtrace.monte_carlo_trace(), sampler)
                return estimate(matvec, k)

            return jax.vmap(one)(x, y, jax.random.split(key, x.shape[0]))

        return run

    try:
        import matfree  # noqa: F401

        has_peer = True
    except ImportError:
        has_peer = False
        print("# matfree not installed: no peer (pip install -e '.[bench]')", file=sys.stderr)
    for n in probe_counts:
        candidates = {f"hutchinson_{m}": gradjax_mode(m, n) for m in ("forward", "reverse")}
        candidates["forward_pass"] = lambda params, x, key: selected_logit_fn(model, params, y)(x)
        candidates["vmap_jvp_of_grad"] = vmap_jvp_of_grad(n)
        if has_peer:
            candidates["matfree_0.6.3"] = matfree_peer(n)
        calls = {name: (jax.jit(fn), (params, x, key_est)) for name, fn in candidates.items()}
        times = interleaved_median_ms(calls, repeats=repeats)
        for name, ms in times.items():
            record = {
                "name": name,
                "probes": n,
                "ms": ms,
                "ratio_to_forward": ms / times["forward_pass"],
            }
            if has_peer:
                record["ratio_to_peer"] = ms / times["matfree_0.6.3"]
            print_record(**record)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--batch-size", type=int, default=None, help="default 128 (32 with --strategies)"
    )
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--strategies", action="store_true", help="compare routes to Hutchinson (batch 32)"
    )
    args = parser.parse_args(argv)
    print(f"# jax {jax.__version__} on {jax.devices()[0].platform}", file=sys.stderr)
    if args.strategies:
        time_hutchinson_strategies((args.batch_size or 32, 32, 32, 3), args.repeats)
        return
    batch = args.batch_size or 128
    time_estimators("cnn", (batch, 32, 32, 3), args.repeats)
    time_estimators("mlp", (batch, 8, 8, 1), args.repeats, include_exact=True)


if __name__ == "__main__":
    main()
