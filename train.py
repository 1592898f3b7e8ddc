"""Train a classifier with one of the paper's objectives.

    python train.py --objective score-matching --dataset mnist5k --epochs 3 --workdir runs/sm
    python train.py --preset cifar10 --run score-matching --data-dir … --epochs 6 --workdir …

Model, learning rate, batch size and augmentation default per dataset (one table,
gradjax.config.DATASET_DEFAULTS, printed at the start); the objectives' constants are the
paper's (gradjax.objectives.OBJECTIVES). With --preset and --run every setting starts from that
run of a `python -m gradjax.reproduce` preset instead, and the other flags override it. The run
directory receives config.json, checkpoints/ and metrics.jsonl; --resume continues it. All
devices are used data-parallel, on one process or several (--coordinator/--num-processes/
--process-id, or --distributed auto on SLURM/TPU; python -m gradjax.launch starts several local
processes).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from gradjax.argtypes import (
    add_distributed_flags,
    non_negative_float,
    positive_float,
    positive_int,
    start_distributed,
)
from gradjax.config import (
    DATASET_DEFAULTS,
    DataConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    TrainConfig,
)
from gradjax.data import DATASETS
from gradjax.distributed import is_primary
from gradjax.estimators import ESTIMATORS
from gradjax.models import ACTIVATIONS, MODELS, NORMS
from gradjax.objectives import OBJECTIVES
from gradjax.optim import SCHEDULES
from gradjax.presets import PRESETS
from gradjax.rundir import CheckpointError
from gradjax.training import NonFiniteLossError, fit

PER_DATASET = "default: per dataset, see the table printed at the start"


def build_parser() -> argparse.ArgumentParser:
    d, m, o, op, r = DataConfig(), ModelConfig(), ObjectiveConfig(), OptimConfig(), RunConfig()
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from a preset's run (--run)")
    p.add_argument("--run", metavar="RUN", help="with --preset: the run, e.g. score-matching")
    p.add_argument("--objective", choices=OBJECTIVES, default=o.name)
    p.add_argument("--dataset", choices=DATASETS, default=d.dataset)
    p.add_argument("--data-dir", help="image folder or .tar for --dataset folder; TFDS data dir")
    p.add_argument("--train-subset", type=positive_int, help="train on a fixed random subset")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, help=PER_DATASET)
    p.add_argument("--model", choices=sorted(MODELS), help=PER_DATASET)
    p.add_argument("--width", type=positive_int, help="default: the model's")
    p.add_argument("--norm", choices=NORMS, help="ResNet/VGG normalisation; default: nf")
    p.add_argument("--activation", choices=ACTIVATIONS, default=m.activation)
    p.add_argument("--beta", type=positive_float, default=m.beta)
    p.add_argument("--epochs", type=positive_int, default=r.epochs)
    p.add_argument("--batch-size", type=positive_int, help=PER_DATASET)
    p.add_argument("--lr", type=positive_float, help=PER_DATASET)
    p.add_argument("--momentum", type=non_negative_float, default=op.momentum)
    p.add_argument("--weight-decay", type=non_negative_float, default=op.weight_decay)
    p.add_argument("--schedule", choices=SCHEDULES, default=op.schedule)
    p.add_argument("--warmup-epochs", type=non_negative_float, default=op.warmup_epochs)
    p.add_argument("--grad-clip", type=positive_float, default=op.grad_clip)
    p.add_argument("--lam", type=non_negative_float, help="default: the paper's for the objective")
    p.add_argument("--mu", type=non_negative_float, default=o.mu)
    p.add_argument("--sigma", type=positive_float, default=o.sigma)
    p.add_argument("--tau", type=positive_float, default=o.tau)
    p.add_argument("--estimator", choices=ESTIMATORS, default=o.estimator)
    p.add_argument("--num-samples", type=positive_int, default=o.num_samples)
    p.add_argument(
        "--no-diagnostics",
        action="store_true",
        help="do not log h and ‖∇f‖² for objectives that do not train on them",
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
    p.add_argument("--checkpoint-minutes", type=positive_float, default=r.checkpoint_minutes)
    p.add_argument("--resume", action="store_true")
    p.add_argument(
        "--stop-after-epoch",
        type=positive_int,
        metavar="K",
        help="train the first K epochs of the --epochs schedule, then stop; --resume continues",
    )
    p.add_argument("--no-progress", action="store_true")
    add_distributed_flags(p)
    return p


def preset_defaults(preset: str, run: str) -> dict:
    """Parser defaults (``dest -> value``) under which no other flag gives the run ``run`` of
    the preset ``preset`` exactly (:func:`config_from_args` rebuilds its ``TrainConfig``).

    Raises:
      ValueError: ``run`` is not one of the preset's runs.
    """
    configs = PRESETS[preset].run_configs()
    if run not in configs:
        raise ValueError(f"preset {preset!r} has no run {run!r}; its runs: {', '.join(configs)}")
    c = configs[run]
    d, m, o, op, r = c.data, c.model, c.objective, c.optim, c.run
    return {
        "dataset": d.dataset,
        "data_dir": d.data_dir,
        "batch_size": d.batch_size,
        "augment": d.augment,
        "train_subset": d.train_subset,
        "model": m.name,
        "width": m.width,
        "activation": m.activation,
        "beta": m.beta,
        "norm": m.norm,
        "objective": o.name,
        "lam": o.lam,
        "mu": o.mu,
        "tau": o.tau,
        "sigma": o.sigma,
        "estimator": o.estimator,
        "num_samples": o.num_samples,
        "no_diagnostics": not o.diagnostics,
        "lr": op.lr,
        "momentum": op.momentum,
        "weight_decay": op.weight_decay,
        "schedule": op.schedule,
        "warmup_epochs": op.warmup_epochs,
        "grad_clip": op.grad_clip,
        "epochs": r.epochs,
        "seed": r.seed,
        "log_every": r.log_every,
        "keep_checkpoints": r.keep_checkpoints or 0,
        "checkpoint_minutes": r.checkpoint_minutes,
    }


def parse_args(argv=None) -> argparse.Namespace:
    """The command line, with a ``--preset``'s ``--run`` as the defaults the flags override."""
    parser = build_parser()
    chosen = argparse.ArgumentParser(add_help=False)
    chosen.add_argument("--preset")
    chosen.add_argument("--run")
    known, _ = chosen.parse_known_args(argv)
    if (known.preset is None) != (known.run is None):
        parser.error("--preset and --run go together")
    if known.preset is not None and known.preset in PRESETS:
        try:
            parser.set_defaults(**preset_defaults(known.preset, known.run))
        except ValueError as err:
            parser.error(str(err))
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run's config: flags where given, else the ``--preset``'s run (set as the parser's
    defaults by :func:`parse_args`), else the dataset's defaults, else the paper's."""
    defaults = DATASET_DEFAULTS[args.dataset]
    pick = lambda flag, default: default if flag is None else flag  # noqa: E731
    return TrainConfig(
        data=DataConfig(
            args.dataset,
            args.data_dir,
            pick(args.batch_size, defaults.batch_size),
            pick(args.augment, defaults.augment),
            args.train_subset,
        ),
        model=ModelConfig(
            pick(args.model, defaults.model),
            pick(args.width, defaults.width if args.model is None else None),
            args.activation,
            args.beta,
            args.norm,
        ),
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
            pick(args.lr, defaults.lr),
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
            checkpoint_minutes=args.checkpoint_minutes,
        ),
    )


def describe_defaults(args: argparse.Namespace, config: TrainConfig) -> str:
    defaults = dataclasses.asdict(DATASET_DEFAULTS[args.dataset])
    used = {
        "model": config.model.name,
        "width": config.model.width,
        "lr": config.optim.lr,
        "batch_size": config.data.batch_size,
        "augment": config.data.augment,
    }
    if args.preset is not None:
        cells = [f"{k}={v}" for k, v in used.items()]
        return f"train.py: preset {args.preset}, run {args.run} ({args.dataset}): " + ", ".join(
            cells
        )
    cells = [
        f"{k}={v}" + ("" if defaults[k] == v else f" (flag; dataset default {defaults[k]})")
        for k, v in used.items()
    ]
    return f"train.py: {args.dataset}: " + ", ".join(cells)


def main(argv=None) -> int:
    args = parse_args(argv)
    start_distributed(args)
    config = config_from_args(args)
    if is_primary():
        print(describe_defaults(args, config), flush=True)
    try:
        record = fit(
            config,
            args.workdir,
            resume=args.resume,
            progress=not args.no_progress,
            stop_after_epoch=args.stop_after_epoch,
        )
    except (
        NonFiniteLossError,
        FileExistsError,
        FileNotFoundError,
        ValueError,
        CheckpointError,
    ) as err:
        print(f"train.py: error: {err}", file=sys.stderr)
        return 2
    if is_primary():
        accuracy = record.get("test_accuracy", float("nan"))
        print(f"done: {args.workdir} (test accuracy {accuracy:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
