"""Command-line flags derived from the config dataclasses: one flag per field of every section
of :class:`~gradjax.training.config.TrainConfig`, named after the field (``--batch-size``,
``--warmup-epochs``; the sections' ``name`` fields are ``--model`` and ``--objective``), typed
from its annotation, with its help text and default, and the valid names where a registry
lists them. A flag not given keeps the base config's value, so the same flags override the
defaults, a dataset's or a study's run."""

from __future__ import annotations

import argparse
import dataclasses

from gradjax.cli.flags import none_or
from gradjax.core.estimators import ESTIMATORS
from gradjax.core.objectives import OBJECTIVES
from gradjax.models import ACTIVATIONS, MODELS, NORMS
from gradjax.training.config import DATASET_DEFAULTS, SECTIONS, TrainConfig
from gradjax.training.data import DATASETS
from gradjax.training.optim import SCHEDULES

# Flag names that are not the field's own.
RENAMED = {("model", "name"): "model", ("objective", "name"): "objective"}
# The valid values of fields a registry lists.
CHOICES = {
    ("data", "dataset"): DATASETS,
    ("model", "name"): MODELS,
    ("model", "activation"): ACTIVATIONS,
    ("model", "norm"): NORMS,
    ("objective", "name"): OBJECTIVES,
    ("objective", "estimator"): ESTIMATORS,
    ("optim", "schedule"): SCHEDULES,
}
TYPES = {"int": int, "float": float, "str": str}


def flag(section: str, field: str) -> str:
    return "--" + RENAMED.get((section, field), field).replace("_", "-")


def _default_text(value, help_text: str) -> str:
    if value is None:
        return "per dataset, see below" if "per dataset" in help_text else "none"
    return str(value)


def add_config_flags(parser: argparse.ArgumentParser, defaults: TrainConfig) -> None:
    """One flag per config field, in a group per section, showing ``defaults``' values."""
    for section in SECTIONS:
        values = getattr(defaults, section)
        group = parser.add_argument_group(f"{section} ({type(values).__name__})")
        for field in dataclasses.fields(values):
            kind = field.type.split("|")[0].strip()
            optional = "None" in field.type
            choices = CHOICES.get((section, field.name))
            text = field.metadata.get("help", "")
            default = _default_text(getattr(values, field.name), text)
            help_text = f"{text} (default: {default})"
            if choices is not None:
                help_text += f"; one of: {', '.join(choices)}"
            kwargs = {"dest": f"{section}.{field.name}", "default": argparse.SUPPRESS}
            if kind == "bool":
                group.add_argument(
                    flag(section, field.name),
                    action=argparse.BooleanOptionalAction,
                    help=help_text,
                    **kwargs,
                )
                continue
            convert = TYPES[kind]
            group.add_argument(
                flag(section, field.name),
                type=none_or(convert) if optional else convert,
                choices=None if choices is None else list(choices),
                metavar=kind.upper() if choices is None else "NAME",
                help=help_text,
                **kwargs,
            )


def config_from_flags(args: argparse.Namespace, base: TrainConfig) -> TrainConfig:
    """``base`` with every field a flag gave replaced."""
    given = {k: v for k, v in vars(args).items() if "." in k}
    sections = {}
    for section in SECTIONS:
        fields = {k.split(".", 1)[1]: v for k, v in given.items() if k.startswith(section + ".")}
        sections[section] = dataclasses.replace(getattr(base, section), **fields)
    return TrainConfig(**sections)


def dataset_table() -> str:
    """The per-dataset defaults, for ``--help``."""
    rows = [
        f"  {name}: model {d.model}, lr {d.lr:g}, batch {d.batch_size}, augment "
        f"{'on' if d.augment else 'off'}, {d.epochs} epochs"
        for name, d in DATASET_DEFAULTS.items()
    ]
    return "per-dataset defaults (a flag overrides them):\n" + "\n".join(rows)


__all__ = ["CHOICES", "RENAMED", "add_config_flags", "config_from_flags", "dataset_table", "flag"]
