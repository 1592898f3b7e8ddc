"""argparse value types and flags shared by the command lines (train.py, eval.py,
gradjax.cli.reproduce): each type rejects a bad value with a message that names it, which argparse
prints with the option's name."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def none_or(convert):
    """An argparse type: ``convert(text)``, or ``None`` for the word ``none``."""

    def parse(text: str):
        return None if text.lower() == "none" else convert(text)

    parse.__name__ = convert.__name__
    return parse


def add_distributed_flags(parser: argparse.ArgumentParser) -> None:
    """``--coordinator``, ``--num-processes``, ``--process-id`` and ``--distributed auto``
    (defaults from the environment gradjax.cli.launch sets; see gradjax.training.distributed)."""
    group = parser.add_argument_group("several processes (see README, 'Several hosts')")
    group.add_argument("--coordinator", help="host:port of process 0")
    group.add_argument("--num-processes", type=positive_int)
    group.add_argument("--process-id", type=int)
    group.add_argument(
        "--distributed",
        choices=("auto",),
        help="let jax.distributed.initialize() detect the cluster (SLURM, TPU pods)",
    )


def start_distributed(args: argparse.Namespace) -> bool:
    """Initialises the multi-process runtime from the flags or the environment, if asked."""
    from gradjax.training.distributed import initialize

    return initialize(
        args.coordinator,
        args.num_processes,
        args.process_id,
        auto=args.distributed == "auto",
    )
