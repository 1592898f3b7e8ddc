"""Run configuration: one frozen dataclass per concern, defaults equal to the paper's settings
where the paper gives them (Srinivas & Fleuret, ICLR 2021, §5: ResNet-18 on CIFAR-100, SGD with
momentum, softplus β = 10; the objectives' λ, μ, τ are in :data:`gradjax.objectives.OBJECTIVES`).

Choices the paper does not fix are ours and marked so: σ of the Taylor estimator, the learning
rate schedule, weight decay and epochs (the usual CIFAR ResNet recipe), and the per-dataset
defaults of :data:`DATASET_DEFAULTS`.

A :class:`TrainConfig` is written as ``config.json`` in the run directory (see
:mod:`gradjax.rundir`), so a run describes itself. Only ``training.py`` and the command lines
unpack configs; every factory takes plain arguments.
"""

from __future__ import annotations

import dataclasses
import json

from gradjax.objectives import OBJECTIVES


@dataclasses.dataclass(frozen=True)
class DataConfig:
    dataset: str = "cifar100"
    data_dir: str | None = None
    batch_size: int = 128
    # Random crop + flip inside the train step; None: the dataset's default (DATASET_DEFAULTS).
    augment: bool | None = None
    # Train on a fixed random subset of N examples (gradjax.data.subset); None: all.
    train_subset: int | None = None


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    name: str = "resnet18"
    width: int | None = None  # None: the model's default
    activation: str = "softplus"
    beta: float = 10.0
    norm: str | None = None  # ResNet/VGG normalisation scheme; None: the model's default ("nf")


@dataclasses.dataclass(frozen=True)
class ObjectiveConfig:
    name: str = "score-matching"
    lam: float | None = None  # None: the paper's λ for the objective
    mu: float = 1e-4
    tau: float = 1000.0
    sigma: float = 0.1  # ours: perturbation scale of the Taylor estimator, pixels in [0, 1]
    estimator: str = "taylor"
    num_samples: int = 1
    # Log h and ‖∇x f_y‖² (at log steps) also for objectives that do not train on them.
    diagnostics: bool = True

    @property
    def resolved_lam(self) -> float:
        return OBJECTIVES[self.name].lam if self.lam is None else self.lam


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    schedule: str = "cosine"  # a name of gradjax.optim.SCHEDULES
    warmup_epochs: float = 0.0
    grad_clip: float | None = None  # global-norm clipping; None: off


@dataclasses.dataclass(frozen=True)
class RunConfig:
    epochs: int = 200
    seed: int = 0
    log_every: int = 50
    eval_batch_size: int = 500
    keep_checkpoints: int | None = 3  # None: keep every epoch's checkpoint
    # Also checkpoint mid-epoch after this many minutes of training (long runs survive a kill).
    checkpoint_minutes: float = 10.0


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
    def from_json(cls, text: str) -> TrainConfig:
        raw = json.loads(text)
        # Each field's default is an instance of its section's dataclass; keys a newer or older
        # gradjax wrote that this one does not know are ignored.
        sections = {f.name: type(f.default) for f in dataclasses.fields(cls)}
        built = {}
        for name, section in sections.items():
            known = {f.name for f in dataclasses.fields(section)}
            built[name] = section(**{k: v for k, v in raw.get(name, {}).items() if k in known})
        return cls(**built)


@dataclasses.dataclass(frozen=True)
class DatasetDefaults:
    """What a run on a dataset uses unless a flag says otherwise (ours, sized for the data)."""

    model: str
    width: int | None
    lr: float
    batch_size: int
    augment: bool


# The paper's network and optimiser for 32×32 RGB data; small models for the embedded data.
_CIFAR = DatasetDefaults("resnet18", None, 0.1, 128, True)
_MNIST = DatasetDefaults("cnn", None, 0.05, 64, False)
DATASET_DEFAULTS: dict[str, DatasetDefaults] = {
    "digits": DatasetDefaults("mlp", None, 0.05, 64, False),
    "mnist5k": _MNIST,
    "mnist": _MNIST,
    "fashion_mnist": _MNIST,
    "cifar10": _CIFAR,
    "cifar100": _CIFAR,
    "svhn_cropped": dataclasses.replace(_CIFAR, augment=False),  # flips change digits
    "folder": _CIFAR,  # image folders: assumed CIFAR-like (e.g. cifar10-jpeg.tar)
}


__all__ = [
    "DATASET_DEFAULTS",
    "DataConfig",
    "DatasetDefaults",
    "ModelConfig",
    "ObjectiveConfig",
    "OptimConfig",
    "RunConfig",
    "TrainConfig",
]
