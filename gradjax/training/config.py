"""Run configuration: one frozen dataclass per concern (data, model, objective, optimiser,
run), each field with its help text; the command lines derive their flags from these fields.

Defaults are the paper's where it fixes a setting (:mod:`gradjax.paper`, §5: softplus β = 10,
SGD with momentum, its λ, μ, τ, and for CIFAR data ResNet-18 for 200 epochs), except that the
dataset defaults to the embedded ``mnist5k`` so that a run with no flags works on any machine;
settings marked "per dataset" come from :data:`DATASET_DEFAULTS` (ours, sized for the data).
Choices the paper does not fix are ours and marked so: σ of the Taylor estimator, the learning
rate schedule, weight decay.

A :class:`TrainConfig` is written as ``config.json`` in the run directory (see
:mod:`gradjax.training.rundir`), so a run describes itself. Only :mod:`gradjax.training.fit`
and the command lines unpack configs; every factory takes plain arguments.
"""

from __future__ import annotations

import dataclasses
import json
import math

from gradjax.core.checks import check_choice
from gradjax.core.objectives import OBJECTIVES
from gradjax.models import make_model
from gradjax.paper import MU, SOFTPLUS_BETA, TAU


def _field(default, help: str):
    """A config field with its ``--help`` text (the command lines read it)."""
    return dataclasses.field(default=default, metadata={"help": help})


# ``None`` in a field marked "per dataset" means the dataset's value from DATASET_DEFAULTS;
# TrainConfig.resolved() fills those in, and run directories record the resolved config.


@dataclasses.dataclass(frozen=True)
class DataConfig:
    dataset: str = _field("mnist5k", "dataset (the paper's: cifar100 through TFDS)")
    data_dir: str | None = _field(None, "image folder or .tar (--dataset folder); TFDS data dir")
    batch_size: int | None = _field(None, "per dataset")
    augment: bool | None = _field(None, "random crop + flip in the train step; per dataset")
    train_subset: int | None = _field(None, "train on a fixed random subset of N examples")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    name: str | None = _field(None, "model; per dataset (the paper's: resnet18)")
    width: int | None = _field(None, "channels of the first stage; none: the model's own")
    activation: str = _field("softplus", "activation (the paper's: softplus, §5)")
    beta: float = _field(SOFTPLUS_BETA, "softplus β (the paper's, §5)")
    norm: str | None = _field(None, "ResNet/VGG normalisation; none: the model's own (nf)")


@dataclasses.dataclass(frozen=True)
class ObjectiveConfig:
    name: str = _field("score-matching", "objective (§5)")
    lam: float | None = _field(None, "λ; none: the paper's for the objective (§5)")
    mu: float = _field(MU, "score-matching's μ (the paper's, §5)")
    tau: float = _field(TAU, "anti-score-matching's threshold τ (the paper's, §5)")
    sigma: float = _field(0.1, "the Taylor estimator's σ in pixel units (ours; not in the paper)")
    estimator: str = _field("taylor", "trace estimator for h (the paper's: taylor)")
    num_samples: int = _field(1, "estimator samples per example")
    diagnostics: bool = _field(True, "log h and ‖∇x f_y‖² for every objective")
    epsilon: float = _field(1.5, "the adversarial objective's L2 radius, pixel units (ours)")
    attack_steps: int = _field(5, "the adversarial objective's PGD steps (ours)")

    @property
    def resolved_lam(self) -> float:
        return OBJECTIVES[self.name].lam if self.lam is None else self.lam


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    lr: float | None = _field(None, "SGD learning rate; per dataset")
    momentum: float = _field(0.9, "SGD momentum (the paper's optimiser, §5)")
    nesterov: bool = _field(False, "Nesterov momentum")
    weight_decay: float = _field(5e-4, "decoupled weight decay")
    schedule: str = _field("cosine", "learning-rate schedule")
    warmup_epochs: float = _field(0.0, "linear warm-up, in epochs")
    grad_clip: float | None = _field(None, "clip the global gradient norm; none: off")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    epochs: int | None = _field(None, "epochs of the schedule; per dataset (the paper's: 200)")
    seed: int = _field(0, "initialisation, batch order, augmentation and noise")
    log_every: int = _field(50, "steps between logged training records")
    eval_batch_size: int = _field(500, "batch of the per-epoch test evaluation")
    keep_checkpoints: int | None = _field(3, "epoch checkpoints kept; none: every epoch's")
    checkpoint_minutes: float = _field(10.0, "also checkpoint mid-epoch after this many minutes")


SECTIONS = ("data", "model", "objective", "optim", "run")
# What identifies a run: a config.json without these cannot be read.
REQUIRED = (("data", "dataset"), ("model", "name"), ("objective", "name"))


class ConfigError(ValueError):
    """A config.json that is not valid JSON or lacks what identifies the run."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    objective: ObjectiveConfig = ObjectiveConfig()
    optim: OptimConfig = OptimConfig()
    run: RunConfig = RunConfig()

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "config.json") -> TrainConfig:
        """The config in ``text``; keys a newer or older gradjax wrote that this one does not
        know are ignored, fields it lacks take their defaults.

        Raises:
          ConfigError: invalid JSON, a section that is not an object, or a missing field of
            :data:`REQUIRED`, in one line naming ``source``.
        """
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{source}: not valid JSON ({err})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: expected a JSON object of sections {SECTIONS}")
        missing = [f"{s}.{f}" for s, f in REQUIRED if f not in (raw.get(s) or {})]
        if missing:
            raise ConfigError(f"{source}: incomplete, no {', '.join(missing)}")
        built = {}
        for field in dataclasses.fields(cls):
            section = type(field.default)
            values = raw.get(field.name, {})
            if not isinstance(values, dict):
                raise ConfigError(f"{source}: section {field.name!r} is not an object")
            known = {f.name for f in dataclasses.fields(section)}
            built[field.name] = section(**{k: v for k, v in values.items() if k in known})
        return cls(**built)

    def resolved(self) -> TrainConfig:
        """Every "per dataset" field and λ filled in (:data:`DATASET_DEFAULTS`, the paper's
        λ): what a run directory records.

        Raises:
          ValueError: a dataset without defaults, or an objective that is not registered.
        """
        check_choice(self.data.dataset, "dataset", DATASET_DEFAULTS)
        check_choice(self.objective.name, "objective", OBJECTIVES)
        validate(self)
        d = DATASET_DEFAULTS[self.data.dataset]

        def pick(value, default):
            return default if value is None else value

        model_given = self.model.name is not None
        return TrainConfig(
            dataclasses.replace(
                self.data,
                batch_size=pick(self.data.batch_size, d.batch_size),
                augment=pick(self.data.augment, d.augment),
            ),
            dataclasses.replace(
                self.model,
                name=pick(self.model.name, d.model),
                width=self.model.width if model_given else pick(self.model.width, d.width),
            ),
            dataclasses.replace(self.objective, lam=self.objective.resolved_lam),
            dataclasses.replace(self.optim, lr=pick(self.optim.lr, d.lr)),
            dataclasses.replace(self.run, epochs=pick(self.run.epochs, d.epochs)),
        )

    def differences(self, other: TrainConfig) -> list[str]:
        """``"section.field: mine → other's"`` for every field that differs."""
        out = []
        for section in SECTIONS:
            a, b = getattr(self, section), getattr(other, section)
            for f in dataclasses.fields(a):
                x, y = getattr(a, f.name), getattr(b, f.name)
                if x != y:
                    out.append(f"{section}.{f.name}: {x!r} → {y!r}")
        return out


# (section, field, lower bound, whether the bound itself is allowed); None values are skipped.
BOUNDS = (
    ("data", "batch_size", 1, True),
    ("data", "train_subset", 1, True),
    ("model", "width", 1, True),
    ("model", "beta", 0, False),
    ("objective", "lam", 0, True),
    ("objective", "mu", 0, True),
    ("objective", "tau", 0, False),
    ("objective", "sigma", 0, False),
    ("objective", "num_samples", 1, True),
    ("objective", "epsilon", 0, False),
    ("objective", "attack_steps", 1, True),
    ("optim", "lr", 0, False),
    ("optim", "momentum", 0, True),
    ("optim", "weight_decay", 0, True),
    ("optim", "warmup_epochs", 0, True),
    ("optim", "grad_clip", 0, False),
    ("run", "epochs", 1, True),
    ("run", "log_every", 1, True),
    ("run", "eval_batch_size", 1, True),
    ("run", "keep_checkpoints", 1, True),
    ("run", "checkpoint_minutes", 0, False),
)


def validate(config: TrainConfig) -> None:
    """Every number in range and finite (:data:`BOUNDS`).

    Raises:
      ValueError: naming the first field out of range and its value.
    """
    for section, field, bound, inclusive in BOUNDS:
        value = getattr(getattr(config, section), field)
        if value is None:
            continue
        ok = math.isfinite(value) and (value >= bound if inclusive else value > bound)
        if not ok:
            relation = ">=" if inclusive else ">"
            raise ValueError(
                f"{section}.{field} must be finite and {relation} {bound}, got {value}"
            )


@dataclasses.dataclass(frozen=True)
class DatasetDefaults:
    """What a run on a dataset uses unless a flag says otherwise (ours, sized for the data)."""

    model: str
    width: int | None
    lr: float
    batch_size: int
    augment: bool
    epochs: int


# The paper's architecture (normaliser-free), optimiser and length for 32×32 RGB data (§5);
# small models and a few epochs for the embedded data.
_CIFAR = DatasetDefaults("resnet18", None, 0.1, 128, True, 200)
_MNIST = DatasetDefaults("cnn", None, 0.05, 64, False, 4)
DATASET_DEFAULTS: dict[str, DatasetDefaults] = {
    "digits": DatasetDefaults("mlp", None, 0.05, 64, False, 20),
    "mnist5k": _MNIST,
    "mnist": _MNIST,
    "fashion_mnist": _MNIST,
    "cifar10": _CIFAR,
    "cifar100": _CIFAR,
    "svhn_cropped": dataclasses.replace(_CIFAR, augment=False),  # flips change digits
    "folder": _CIFAR,  # image folders: assumed CIFAR-like (e.g. cifar10-jpeg.tar)
}


def model_of(config: TrainConfig, num_classes: int):
    """The flax module a run's config describes."""
    m = config.model
    return make_model(
        m.name, num_classes, width=m.width, activation=m.activation, beta=m.beta, norm=m.norm
    )


__all__ = [
    "DATASET_DEFAULTS",
    "REQUIRED",
    "SECTIONS",
    "ConfigError",
    "DataConfig",
    "DatasetDefaults",
    "ModelConfig",
    "ObjectiveConfig",
    "OptimConfig",
    "RunConfig",
    "TrainConfig",
    "model_of",
    "validate",
]
