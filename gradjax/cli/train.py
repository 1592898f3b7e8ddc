"""Train a classifier with one of the paper's objectives.

    python train.py --workdir runs/sm                          # score-matching on mnist5k
    python train.py --objective baseline --dataset digits --workdir runs/base
    python train.py --study cifar10-6ep --run score-matching --data-dir DATA --workdir runs/sm
    python train.py --config runs/sm/config.json --seed 1 --workdir runs/sm-seed1

Every field of the run's config is a flag (``--help`` lists them with their defaults); those
marked "per dataset" default from one table, printed at the start. With ``--study`` and
``--run`` every setting starts from that run of a registered study instead, and the other flags
override it. The run directory receives config.json (the resolved settings), checkpoints/ and
metrics.jsonl; ``--resume`` continues it, refusing other settings than it was trained with. All
devices are used data-parallel, on one process or several (--coordinator/--num-processes/
--process-id, or --distributed auto on SLURM/TPU; python -m gradjax.launch starts several local
processes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gradjax.cli.config_flags import add_config_flags, config_from_flags, dataset_table
from gradjax.cli.flags import add_distributed_flags, positive_int, start_distributed
from gradjax.studies.registry import STUDIES
from gradjax.training.config import ConfigError, TrainConfig
from gradjax.training.distributed import is_primary
from gradjax.training.fit import fit
from gradjax.training.guards import NonFiniteLossError
from gradjax.training.rundir import CheckpointError


def base_config(argv) -> tuple[TrainConfig, str | None]:
    """The config the flags override: a study's run (``--study``/``--run``), a config.json
    (``--config``, e.g. a run directory's), else the defaults; and where it came from."""
    chosen = argparse.ArgumentParser(add_help=False)
    chosen.add_argument("--study")
    chosen.add_argument("--run")
    chosen.add_argument("--config")
    known, _ = chosen.parse_known_args(argv)
    if known.config is not None:
        if known.study is not None or known.run is not None:
            raise ValueError("--config and --study/--run are two ways to name one base: pick one")
        path = Path(known.config)
        if not path.is_file():
            raise ValueError(f"--config: no file {str(path)!r}")
        return TrainConfig.from_json(path.read_text(), str(path)), f"config {path}"
    if known.study is None and known.run is None:
        return TrainConfig(), None
    if known.study is None or known.run is None:
        raise ValueError("--study and --run go together")
    if known.study not in STUDIES:
        raise ValueError(f"no study {known.study!r}; the studies: {', '.join(STUDIES)}")
    runs = STUDIES[known.study].runs
    if known.run not in runs:
        raise ValueError(
            f"study {known.study!r} has no run {known.run!r}; its runs: {', '.join(runs)}"
        )
    return runs[known.run], f"study {known.study}, run {known.run}"


def build_parser(defaults: TrainConfig) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=dataset_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--workdir", required=True, help="the run directory")
    p.add_argument("--study", choices=sorted(STUDIES), help="start from a study's run (--run)")
    p.add_argument("--run", metavar="RUN", help="with --study: the run, e.g. score-matching")
    p.add_argument("--config", metavar="FILE", help="start from a config.json (a run's, say)")
    p.add_argument("--resume", action="store_true", help="continue the run in --workdir")
    p.add_argument(
        "--stop-after-epoch",
        type=positive_int,
        metavar="K",
        help="train the first K epochs of the --epochs schedule, then stop; --resume continues",
    )
    p.add_argument("--no-progress", action="store_true")
    add_config_flags(p, defaults)
    add_distributed_flags(p)
    return p


def parse(argv) -> tuple[argparse.Namespace, TrainConfig, str | None]:
    """The arguments, the run's resolved config, and where its base came from."""
    try:
        base, source = base_config(argv)
    except ValueError as err:
        build_parser(TrainConfig()).error(str(err))
    parser = build_parser(base)
    args = parser.parse_args(argv)
    try:
        config = config_from_flags(args, base).resolved()
    except ValueError as err:
        parser.error(str(err))
    epochs = config.run.epochs
    if args.stop_after_epoch is not None and args.stop_after_epoch > epochs:
        parser.error(f"--stop-after-epoch {args.stop_after_epoch} is beyond --epochs {epochs}")
    return args, config, source


def describe(config: TrainConfig, source: str | None) -> str:
    c = config
    head = f"train.py: {source} ({c.data.dataset})" if source else f"train.py: {c.data.dataset}"
    return (
        f"{head}: objective {c.objective.name}, model {c.model.name}, lr {c.optim.lr:g}, "
        f"batch {c.data.batch_size}, augment {c.data.augment}, {c.run.epochs} epochs, "
        f"seed {c.run.seed}"
    )


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args, config, source = parse(argv)
    start_distributed(args)
    if is_primary():
        print(describe(config, source), flush=True)
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
        ConfigError,
        ImportError,
    ) as err:
        print(f"train.py: error: {err}", file=sys.stderr)
        return 2
    if is_primary():
        accuracy = record.get("test_accuracy", float("nan"))
        print(f"done: {args.workdir} (test accuracy {accuracy:.4f})")
    return 0


__all__ = ["base_config", "build_parser", "describe", "main", "parse"]

if __name__ == "__main__":
    sys.exit(main())
