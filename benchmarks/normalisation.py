"""Compares the CIFAR ResNet's normalisation schemes (gradjax.models.layers.NORMS) at one fixed
short budget: test accuracy, training images/s, and contrast sensitivity (mean |f_y(2x) −
f_y(x)| and the cosine between ∇x f_y and x, both 0 for a contrast-invariant model).

    python benchmarks/normalisation.py --data-dir ../shared/data/cifar10-jpeg.tar

Prints one JSON line per scheme; runs go to $GRADJAX_RUNS/normalisation/<scheme> and are
resumed if interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import jax
import jax.numpy as jnp

from gradjax.core.gradients import logit_gradients, select_logits
from gradjax.models import NORMS, make_model
from gradjax.training.batches import draw_examples
from gradjax.training.config import (
    DataConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    TrainConfig,
)
from gradjax.training.data import load_dataset
from gradjax.training.fit import fit
from gradjax.training.rundir import RunDir


def contrast_sensitivity(model, params, x, y):
    """Mean |f_y(2x) − f_y(x)| and mean cos(∇x f_y(x), x) over the examples."""
    fn = jax.jit(lambda z: select_logits(model.apply(params, z), y))
    change = float(jnp.mean(jnp.abs(fn(2 * x) - fn(x))))
    grads = logit_gradients(lambda z: model.apply(params, z), x, y).reshape(len(x), -1)
    flat = x.reshape(len(x), -1)
    cosine = jnp.sum(grads * flat, 1) / (
        jnp.linalg.norm(grads, axis=1) * jnp.linalg.norm(flat, axis=1)
    )
    return change, float(jnp.mean(cosine))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--subset", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--norms", default=",".join(NORMS))
    args = parser.parse_args()
    root = Path(os.environ.get("GRADJAX_RUNS", Path.home() / ".cache/gradjax/runs"))
    dataset = load_dataset("folder", args.data_dir)
    x, y = draw_examples(dataset.test_images, dataset.test_labels, 256, seed=0)
    for norm in args.norms.split(","):
        config = TrainConfig(
            data=DataConfig("folder", args.data_dir, 128, True, args.subset),
            model=ModelConfig("resnet-small", 16, norm=norm),
            objective=ObjectiveConfig("baseline", diagnostics=False),
            optim=OptimConfig(lr=0.1, warmup_epochs=0.5),
            run=RunConfig(epochs=args.epochs, log_every=50),
        )
        workdir = root / "normalisation" / norm
        run = RunDir(workdir)
        if run.is_finished():
            record = run.epoch_records()[-1]
        else:
            record = fit(config, workdir, resume=run.is_run(), progress=False, dataset=dataset)
        model = make_model("resnet-small", 10, width=16, norm=norm)
        change, cosine = contrast_sensitivity(
            model, run.restore_params(), jnp.asarray(x), jnp.asarray(y)
        )
        seconds = sum(r["epoch_seconds"] for r in RunDir(workdir).epoch_records())
        print(
            json.dumps(
                {
                    "norm": norm,
                    "test_accuracy": record["test_accuracy"],
                    "images_per_s_incl_test_eval": args.subset * args.epochs / seconds,
                    "mean_abs_f(2x)-f(x)": change,
                    "cos(grad, x)": cosine,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
