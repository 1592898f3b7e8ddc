"""Cost of one compiled train step per objective, relative to the baseline step.

Same model and batch for all four objectives: small softplus ResNet (width 16, normaliser-free
unless --norm says otherwise), batch 128,
32×32×3, CPU unless an accelerator is present. Each step is the full ``compile_train_step``
update (loss, gradients in the parameters, SGD with momentum). Prints one JSON object per line:
``{"objective", "diagnostics", "ms_per_step", "ratio_to_baseline", "images_per_second",
"first_call_seconds"}`` (the first call's wall time: compilation and one step).

Targets (issue #3), with diagnostics off (an objective computes only the terms it uses):
score-matching (taylor) ≤ 3.0× baseline, gradient-norm ≤ 2.1×, anti-score-matching ≤ 2.1×.
With ``--diagnostics`` every objective also computes h and ‖∇x f_y‖² as metrics (what train.py
does by default), and the ratio is against the baseline that computes them too.

    python benchmarks/step_cost.py [--batch-size 128] [--repeats 10] [--model resnet-small]
        [--estimator taylor] [--num-samples 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flax.training.train_state import TrainState  # noqa: E402
from timing import interleaved_median_ms, print_record  # noqa: E402

from gradjax.core.estimators import ESTIMATORS, make_trace_fn  # noqa: E402
from gradjax.core.objectives import OBJECTIVES, make_objective  # noqa: E402
from gradjax.models import MODELS, NORMS, make_model  # noqa: E402
from gradjax.training.optim import make_optimizer  # noqa: E402
from gradjax.training.steps import (  # noqa: E402
    compile_train_step,
    data_mesh,
    make_train_step,
    place_state,
    shard_batch,
)


class _Stepper:
    """Calls a compiled step on its own previous output state (the input is donated)."""

    def __init__(self, step, state, batch):
        self.step, self.state, self.batch = step, state, batch

    def __call__(self):
        self.state, metrics = self.step(self.state, self.batch)
        return metrics


def step_timings(
    model_name, width, norm, batch_size, diagnostics, estimator, num_samples, repeats, objectives
):
    """``({objective: median ms per compiled train step}, {objective: first call's seconds})``."""
    model = make_model(model_name, 10, width=width, norm=norm)
    key_x, key_init = jax.random.split(jax.random.key(0))
    x = jax.random.uniform(key_x, (batch_size, 32, 32, 3))
    y = jnp.arange(batch_size) % 10
    params = model.init(key_init, x[:1])
    mesh = data_mesh()
    batch = shard_batch((x, y), mesh)
    tx = make_optimizer(lr=0.1, total_steps=1000)
    calls = {}
    for name in objectives:
        loss_fn = make_objective(
            model.apply,
            name,
            trace_fn=make_trace_fn(estimator, num_samples=num_samples),
            diagnostics=diagnostics,
        )
        step = compile_train_step(make_train_step(loss_fn, 0), mesh)
        # Each objective owns its state: the compiled step donates (deletes) its input state.
        own_params = jax.tree.map(jnp.copy, params)
        calls[name] = (
            _Stepper(
                step,
                place_state(
                    TrainState.create(apply_fn=model.apply, params=own_params, tx=tx), mesh
                ),
                batch,
            ),
            (),
        )
    first_call = {}
    for name, (fn, args) in calls.items():
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        first_call[name] = time.perf_counter() - start
    return interleaved_median_ms(calls, repeats=repeats, block=3), first_call


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="resnet-small")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--norm", choices=NORMS, default=None, help="default: the model's")
    parser.add_argument(
        "--objectives", default=",".join(OBJECTIVES), help="comma-separated; baseline first"
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--estimator", choices=ESTIMATORS, default="taylor")
    parser.add_argument("--num-samples", type=int, default=1, help="probes per trace estimate")
    parser.add_argument(
        "--diagnostics",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="every objective also computes h and the gradient norm as metrics",
    )
    args = parser.parse_args(argv)
    print(
        f"# jax {jax.__version__} on {jax.device_count()}x {jax.devices()[0].platform}",
        file=sys.stderr,
    )
    objectives = args.objectives.split(",")
    times, first_call = step_timings(
        args.model,
        args.width,
        args.norm,
        args.batch_size,
        args.diagnostics,
        args.estimator,
        args.num_samples,
        args.repeats,
        objectives,
    )
    for name, ms in times.items():
        print_record(
            objective=name,
            diagnostics=args.diagnostics,
            num_samples=args.num_samples,
            ms_per_step=ms,
            ratio_to_baseline=ms / times[objectives[0]],
            images_per_second=1e3 * args.batch_size / ms,
            first_call_seconds=first_call[name],
        )


if __name__ == "__main__":
    main()
