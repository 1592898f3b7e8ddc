"""Train a classifier with one of the paper's objectives.

    python train.py --objective score-matching --dataset mnist5k --model cnn --epochs 3 \
        --workdir runs/sm

Defaults are the paper's settings (ResNet-18, CIFAR-100, λ/μ/τ per objective, softplus β=10);
see gradjax/config.py. The run directory receives config.json, checkpoints/ and metrics.jsonl;
--resume continues it. Multi-device: all local devices are used data-parallel; for several
hosts, call jax.distributed.initialize() first (see README).
"""

from __future__ import annotations

import argparse
import sys

from gradjax.argtypes import non_negative_float, positive_float, positive_int
from gradjax.config import (
    OBJECTIVES,
    DataConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    TrainConfig,
)
from gradjax.data import DATASETS
from gradjax.models import MODELS
from gradjax.objectives import ESTIMATORS
from gradjax.training import SCHEDULES, NonFiniteLossError, fit


def build_parser() -> argparse.ArgumentParser:
    d, m, o, op, r = DataConfig(), ModelConfig(), ObjectiveConfig(), OptimConfig(), RunConfig()
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--objective", choices=OBJECTIVES, default=o.name)
    p.add_argument("--dataset", choices=DATASETS, default=d.dataset)
    p.add_argument(
        "--data-dir",
        default=d.data_dir,
        help="image folder or .tar for --dataset folder; TFDS data dir otherwise",
    )
    p.add_argument("--train-subset", type=positive_int, default=d.train_subset)
    p.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=d.augment,
        help="random crop + flip (default: on for 32x32 RGB)",
    )
    p.add_argument("--model", choices=sorted(MODELS), default=m.name)
    p.add_argument("--width", type=positive_int, default=m.width)
    p.add_argument("--activation", choices=("softplus", "relu"), default=m.activation)
    p.add_argument("--beta", type=positive_float, default=m.beta)
    p.add_argument("--epochs", type=positive_int, default=r.epochs)
    p.add_argument("--batch-size", type=positive_int, default=d.batch_size)
    p.add_argument("--lr", type=positive_float, default=op.lr)
    p.add_argument("--momentum", type=non_negative_float, default=op.momentum)
    p.add_argument("--weight-decay", type=non_negative_float, default=op.weight_decay)
    p.add_argument("--schedule", choices=SCHEDULES, default=op.schedule)
    p.add_argument("--warmup-epochs", type=non_negative_float, default=op.warmup_epochs)
    p.add_argument("--grad-clip", type=positive_float, default=op.grad_clip)
    p.add_argument(
        "--lam",
        type=non_negative_float,
        default=None,
        help="regularisation strength (default: the paper's for the objective)",
    )
    p.add_argument("--mu", type=non_negative_float, default=o.mu)
    p.add_argument("--sigma", type=positive_float, default=o.sigma)
    p.add_argument("--tau", type=positive_float, default=o.tau)
    p.add_argument("--estimator", choices=ESTIMATORS, default=o.estimator)
    p.add_argument("--num-samples", type=positive_int, default=o.num_samples)
    p.add_argument(
        "--no-diagnostics",
        action="store_true",
        help="skip h and ‖∇f‖² metrics for objectives that do not use them",
    )
    p.add_argument("--workdir", required=True)
    p.add_argument("--seed", type=int, default=r.seed)
    p.add_argument("--log-every", type=positive_int, default=r.log_every)
    p.add_argument(
        "--keep-checkpoints",
        type=int,
        default=r.keep_checkpoints,
        help="epoch checkpoints to keep; 0 keeps all (for per-epoch evaluation)",
    )
    p.add_argument("--resume", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        data=DataConfig(
            args.dataset, args.data_dir, args.batch_size, args.augment, args.train_subset
        ),
        model=ModelConfig(args.model, args.width, args.activation, args.beta),
        objective=ObjectiveConfig(
            args.objective,
            args.lam,
            args.mu,
            args.tau,
            args.sigma,
            args.estimator,
            args.num_samples,
            not args.no_diagnostics,
        ),
        optim=OptimConfig(
            args.lr,
            args.momentum,
            False,
            args.weight_decay,
            args.schedule,
            args.warmup_epochs,
            args.grad_clip,
        ),
        run=RunConfig(
            args.epochs,
            args.seed,
            args.log_every,
            keep_checkpoints=args.keep_checkpoints or None,
        ),
    )


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        record = fit(
            config_from_args(args), args.workdir, resume=args.resume, progress=not args.no_progress
        )
    except (NonFiniteLossError, FileExistsError, FileNotFoundError, ValueError) as err:
        print(f"train.py: error: {err}", file=sys.stderr)
        return 2
    print(f"done: {args.workdir} (test accuracy {record.get('test_accuracy', float('nan')):.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
