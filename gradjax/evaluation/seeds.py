"""Runs that differ from a reference run only in their seed: the run-to-run yardstick for a
difference between two objectives. Two seeds of one objective differ by chance alone (the
initialisation, the order of the batches, the augmentation), so a difference between two
objectives that is no larger than theirs is not evidence of an effect of the objective, even
when its interval over the test images excludes 0 (that interval covers the sampling of images,
not of training runs).

One partner gives one draw of the seed-to-seed difference, not its spread: the comparison is a
yardstick, not a test.
"""

from __future__ import annotations

from collections.abc import Mapping


def _without_seed(config: Mapping) -> dict:
    return {
        section: {k: v for k, v in fields.items() if (section, k) != ("run", "seed")}
        for section, fields in config.items()
    }


def seed_partner(configs: Mapping[str, Mapping], reference: str) -> str | None:
    """The first run (in the order of ``configs``) whose config equals ``reference``'s in
    everything but ``run.seed``; ``None`` if there is none.

    Args:
      configs: ``{run name: TrainConfig as a dict}`` (``dataclasses.asdict``, or the
        ``"config"`` a metrics file holds per run); ``reference`` must be among them.
    """
    if reference not in configs:
        raise KeyError(f"reference run {reference!r} is not among {sorted(configs)}")
    wanted = _without_seed(configs[reference])
    seed = configs[reference]["run"]["seed"]
    for name, config in configs.items():
        if name != reference and config["run"]["seed"] != seed and _without_seed(config) == wanted:
            return name
    return None


def within_seed_spread(difference: Mapping, seed_difference: Mapping) -> bool:
    """Whether ``difference``'s point value is no larger in magnitude than the seed pair's
    (both ``{"value", ...}`` records of the same quantity against the same reference)."""
    return abs(difference["value"]) <= abs(seed_difference["value"])


__all__ = ["seed_partner", "within_seed_spread"]
