"""The study end to end: train the four objectives and a GAN-test classifier, then evaluate.

    python -m gradjax.reproduce mnist5k
    python -m gradjax.reproduce cifar10-small --data-dir ../shared/data/cifar10-jpeg.tar

Runs go to ``--runs-dir`` (default ``runs/<preset>``; checkpoints, not for committing); the
evaluation (``metrics.json``, figures, ``report.md``) to ``--out`` (default
``results/<preset>``). Finished runs are skipped and interrupted ones resumed, so re-running the
command after a crash or a kill continues where it stopped. ``--stage train`` only trains.

A preset fixes everything but the data location; its choices (model, width, epochs, subset) are
ours, made to fit the machine, and are written with the results.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from gradjax.config import (
    OBJECTIVES,
    DataConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    TrainConfig,
)
from gradjax.evaluation.runner import EvalSettings, evaluate_runs
from gradjax.training import fit, is_finished

GAN_TEST_RUN = "gan-test-classifier"
# Training order after the baseline and classifier: the paper's main claim first.
ORDER = ("score-matching", "gradient-norm", "anti-score-matching")


@dataclasses.dataclass(frozen=True)
class Preset:
    """One study: shared data/model/optimiser settings for the four objectives, and the
    architecture and seed of the independent GAN-test classifier (baseline objective)."""

    data: DataConfig
    model: ModelConfig
    optim: OptimConfig
    epochs: int
    estimator: str = "taylor"
    diagnostics: bool = True
    classifier: ModelConfig = ModelConfig("mlp")
    classifier_seed: int = 1
    needs_data_dir: bool = False
    evaluation: EvalSettings = EvalSettings()

    def run_configs(self, data_dir: str | None) -> dict[str, TrainConfig]:
        """``{run name: TrainConfig}``: one per objective, then the GAN-test classifier."""
        data = dataclasses.replace(self.data, data_dir=data_dir or self.data.data_dir)
        # Keep every epoch's checkpoint: the evaluation follows the density ratio over epochs.
        run = RunConfig(epochs=self.epochs, seed=0, log_every=20, keep_checkpoints=None)
        objective_configs = {
            name: TrainConfig(
                data=data,
                model=self.model,
                objective=ObjectiveConfig(
                    name, estimator=self.estimator, diagnostics=self.diagnostics
                ),
                optim=self.optim,
                run=run,
            )
            for name in OBJECTIVES
        }
        classifier = TrainConfig(
            data=data,
            model=self.classifier,
            objective=ObjectiveConfig("baseline", diagnostics=False),
            optim=self.optim,
            run=dataclasses.replace(run, seed=self.classifier_seed, keep_checkpoints=1),
        )
        # A budget cut short still leaves the baseline, the classifier and score-matching.
        configs = {"baseline": objective_configs.pop("baseline"), GAN_TEST_RUN: classifier}
        configs.update(sorted(objective_configs.items(), key=lambda kv: ORDER.index(kv[0])))
        return configs


PRESETS = {
    # CPU, minutes: the demo's study on the embedded 5,000-image MNIST subset.
    "mnist5k": Preset(
        data=DataConfig("mnist5k", batch_size=64),
        model=ModelConfig("cnn"),
        optim=OptimConfig(lr=0.05),
        epochs=4,
        # Sized for the demo's three-minute evaluation budget on 2 CPU cores.
        evaluation=EvalSettings(
            num_examples=300, smoothgrad_samples=8, ig_steps=16, fooling_steps=50
        ),
    ),
    # CPU, under an hour on 2 cores: CIFAR-10 (image folder or tar) on a 5k-image training
    # subset, all 10k test images; the small CNN is the independent GAN-test classifier.
    "cifar10-small": Preset(
        data=DataConfig("folder", batch_size=128, train_subset=5_000),
        model=ModelConfig("resnet-small", width=16),
        optim=OptimConfig(lr=0.1),
        epochs=6,
        diagnostics=False,
        classifier=ModelConfig("cnn"),
        needs_data_dir=True,
        evaluation=EvalSettings(dataset_figures=False),
    ),
    # Accelerator: the paper's network and optimiser on CIFAR-10 (the paper used CIFAR-100).
    "cifar10-resnet18": Preset(
        data=DataConfig("folder", batch_size=128),
        model=ModelConfig("resnet18"),
        optim=OptimConfig(lr=0.1),
        epochs=200,
        diagnostics=False,
        classifier=ModelConfig("vgg11"),
        needs_data_dir=True,
        evaluation=EvalSettings(dataset_figures=False),
    ),
}


def train_all(
    configs: dict[str, TrainConfig], runs_dir: Path, *, progress: bool = True
) -> dict[str, Path]:
    """Trains every run not yet finished (resuming interrupted ones); returns the run dirs."""
    dirs = {}
    for name, config in configs.items():
        workdir = runs_dir / name
        dirs[name] = workdir
        if is_finished(workdir):
            print(f"[reproduce] {name}: finished, skipped ({workdir})", flush=True)
            continue
        resume = (workdir / "checkpoints").exists()
        print(
            f"[reproduce] {name}: {'resuming' if resume else 'training'} in {workdir}", flush=True
        )
        started = time.perf_counter()
        record = fit(config, workdir, resume=resume, progress=progress)
        print(
            f"[reproduce] {name}: test accuracy {record['test_accuracy']:.4f} "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    return dirs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset", choices=sorted(PRESETS))
    parser.add_argument("--data-dir", help="image folder or .tar (CIFAR presets)")
    parser.add_argument("--runs-dir", help="default: runs/<preset>")
    parser.add_argument("--out", help="evaluation output; default: results/<preset>")
    parser.add_argument("--stage", choices=("all", "train", "eval"), default="all")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    preset = PRESETS[args.preset]
    if preset.needs_data_dir and not args.data_dir:
        parser.error(f"preset {args.preset!r} needs --data-dir (an image folder or .tar)")
    runs_dir = Path(args.runs_dir or f"runs/{args.preset}")
    out = Path(args.out or f"results/{args.preset}")
    configs = preset.run_configs(args.data_dir)
    dirs = {name: runs_dir / name for name in configs}
    if args.stage in ("all", "train"):
        dirs = train_all(configs, runs_dir, progress=not args.no_progress)
    if args.stage in ("all", "eval"):
        gan_test = dirs.pop(GAN_TEST_RUN)
        report = evaluate_runs(
            dirs,
            out,
            gan_test_dir=gan_test,
            settings=preset.evaluation,
            progress=not args.no_progress,
        )
        print(f"[reproduce] report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
