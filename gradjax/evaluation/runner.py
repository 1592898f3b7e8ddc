"""Evaluates trained runs: every measurement of the paper, written as metrics.json, PNG figures
and report.md (see :mod:`gradjax.evaluation.report`).

:func:`evaluate_runs` is what ``eval.py`` and ``python -m gradjax.reproduce`` call. All models
are evaluated on the same test images with the same noise (from ``settings.seed``), so their
numbers are comparable and a re-run gives the same results.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from gradjax.checks import check_choice
from gradjax.config import TrainConfig
from gradjax.data import Dataset, load_dataset, to_float
from gradjax.evaluation import figures
from gradjax.evaluation.density import check_sigmas, density_ratio_curve, density_ratios
from gradjax.evaluation.fooling import (
    corner_mask,
    energy_inside,
    fine_tune,
    fooling_objective,
    shift_logits,
    tempered_loss_gradients,
)
from gradjax.evaluation.gantest import gan_test_accuracy
from gradjax.evaluation.perturbation import perturbation_correct
from gradjax.evaluation.report import write_report
from gradjax.evaluation.sampling import gradient_ascent, noisy_start
from gradjax.gradients import logit_gradients, loss_gradients
from gradjax.models import model_from_config
from gradjax.saliency import SALIENCY_METHODS, compute_saliency, pixel_relevance
from gradjax.training import checkpoint_manager, make_eval_step, restore_params
from gradjax.training import evaluate as evaluate_split

MEASUREMENTS = (
    "accuracy",
    "density",
    "density-epochs",
    "samples",
    "gan-test",
    "perturbation",
    "saliency-maps",
    "fooling",
)


@dataclasses.dataclass(frozen=True)
class EvalSettings:
    """Sizes and constants of the measurements (ours; the paper does not fix them)."""

    seed: int = 0
    num_examples: int = 500  # test images for density ratios and pixel perturbation
    batch_size: int = 250
    sigmas: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
    epoch_examples: int = 200  # test images for the density ratio across epochs
    fractions: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    saliency_methods: tuple[str, ...] = SALIENCY_METHODS
    smoothgrad_samples: int = 16
    ig_steps: int = 32
    samples_per_class: int = 10
    ascent_steps: int = 100
    ascent_step_size: float = 0.01
    denoise_sigma: float = 0.3
    fooling_steps: int = 100
    fooling_weight: float = 10.0
    fooling_lr: float = 1e-3
    temperature: float = 1e3
    shown_examples: int = 8
    # Figures that show dataset images (denoised samples, maps beside inputs). Off for data
    # that must not be redistributed (CIFAR): the numbers are still measured.
    dataset_figures: bool = True


@dataclasses.dataclass
class Run:
    """A trained model loaded from its run directory."""

    name: str
    directory: Path
    config: TrainConfig
    params: dict
    apply_fn: callable

    def logits_fn(self, params=None):
        params = self.params if params is None else params
        return functools.partial(self.apply_fn, params)


def load_run(name: str, directory: str | Path, dataset: Dataset) -> Run:
    """Restores the latest checkpoint of ``directory`` and checks it fits ``dataset``."""
    directory = Path(directory)
    if not (directory / "config.json").exists():
        raise FileNotFoundError(
            f"run {name!r}: {str(directory)!r} is not a run directory (no config.json); "
            "pass a --workdir written by train.py."
        )
    config, params = restore_params(directory)
    model = model_from_config(config.model, dataset.num_classes)
    expected = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, *dataset.image_shape)))
    same = jax.tree.structure(expected) == jax.tree.structure(params) and all(
        a.shape == b.shape
        for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(params), strict=True)
    )
    if not same:
        raise ValueError(
            f"run {name!r} ({str(directory)!r}) does not fit the evaluation data "
            f"{dataset.name!r} ({'×'.join(map(str, dataset.image_shape))}, "
            f"{dataset.num_classes} classes): its parameters have other shapes."
        )
    return Run(name, directory, config, params, model.apply)


def _dataset_of(directories: dict[str, Path]) -> Dataset:
    """The one dataset all runs were trained on; a clear error when they differ."""
    sources = {}
    for name, directory in directories.items():
        path = Path(directory) / "config.json"
        if not path.exists():
            raise FileNotFoundError(
                f"run {name!r}: {str(directory)!r} is not a run directory (no config.json)."
            )
        data = TrainConfig.from_json(path).data
        sources[name] = (data.dataset, data.data_dir)
    if len(set(sources.values())) > 1:
        listing = ", ".join(f"{n}: {d}" + (f" ({p})" if p else "") for n, (d, p) in sources.items())
        raise ValueError(f"the runs were trained on different datasets: {listing}.")
    dataset, data_dir = next(iter(sources.values()))
    return load_dataset(dataset, data_dir)


def _batches(x: np.ndarray, y: np.ndarray, size: int):
    for start in range(0, len(x), size):
        yield jnp.asarray(x[start : start + size]), jnp.asarray(y[start : start + size])


def _to_list(tree):
    return jax.tree.map(lambda a: np.asarray(a).tolist(), tree)


def _choose(dataset: Dataset, count: int, seed: int):
    """``count`` test images drawn without replacement, fixed by ``seed``. Drawn, not the
    first ones: image-folder and TFDS test splits can be ordered by class."""
    count = min(count, len(dataset.test_images))
    chosen = np.sort(np.random.default_rng(seed).permutation(len(dataset.test_images))[:count])
    return to_float(dataset.test_images[chosen]), dataset.test_labels[chosen].astype(np.int32)


def measure_accuracy(runs, dataset, settings):
    results = {}
    for run in runs:
        eval_step = make_eval_step(run.apply_fn)
        results[run.name] = evaluate_split(
            eval_step, run.params, dataset.test_images, dataset.test_labels, settings.batch_size
        )
    return results


def measure_density(runs, dataset, settings, out):
    sigmas = check_sigmas(settings.sigmas)
    x, y = _choose(dataset, settings.num_examples, settings.seed)
    key = jax.random.key(settings.seed)
    results, curves = {}, {}
    for run in runs:
        ratio_fn = jax.jit(
            lambda x, y, k, run=run: density_ratios(run.logits_fn(), x, y, k, sigmas)
        )
        curve = density_ratio_curve(ratio_fn, _batches(x, y, settings.batch_size), key)
        results[run.name] = {"sigmas": sigmas.tolist(), **_to_list(curve)}
        curves[run.name] = {"mean": curve["mean"], "low": curve["q25"], "high": curve["q75"]}
    positive = sigmas > 0
    figure = figures.line_plot(
        out / "density_ratio.png",
        sigmas[positive],
        {n: {k: v[positive] for k, v in c.items()} for n, c in curves.items()},
        xlabel="noise σ",
        ylabel="f_y(x+η) − f_y(x)  (mean, quartile band)",
        title="Density ratio of noisy to clean test images",
        xscale="log",
    )
    return results, [figure]


def measure_density_epochs(runs, dataset, settings, out, progress=True):
    """Mean density ratio at each σ for every epoch checkpoint of each run."""
    sigmas = check_sigmas(settings.sigmas)
    x, y = _choose(dataset, settings.epoch_examples, settings.seed)
    key = jax.random.key(settings.seed)
    results = {}
    for run in runs:
        with checkpoint_manager(run.directory, run.config.run.keep_checkpoints) as manager:
            steps = sorted(manager.all_steps())
        ratio_fn = jax.jit(
            lambda p, x, y, k, run=run: density_ratios(run.logits_fn(p), x, y, k, sigmas)
        )
        means = []
        for step in tqdm(
            steps, desc=f"density/epochs {run.name}", leave=False, disable=not progress
        ):
            params = restore_params(run.directory, step)[1]
            curve = density_ratio_curve(
                functools.partial(ratio_fn, params), _batches(x, y, settings.batch_size), key
            )
            means.append(curve["mean"])
        results[run.name] = {
            "steps": steps,
            "sigmas": sigmas.tolist(),
            "mean": np.asarray(means).tolist(),
        }
    # One panel-line per run at the middle non-zero σ of the grid.
    index = int(np.flatnonzero(sigmas > 0)[len(np.flatnonzero(sigmas > 0)) // 2])
    curves = {
        n: {"mean": np.asarray(r["mean"])[:, index]} for n, r in results.items() if r["steps"]
    }
    longest = max((r["steps"] for r in results.values()), key=len)
    figures_written = []
    if all(len(r["steps"]) == len(longest) for r in results.values()) and longest:
        figures_written.append(
            figures.line_plot(
                out / "density_ratio_epochs.png",
                np.arange(1, len(longest) + 1),
                curves,
                xlabel="checkpoint (epoch)",
                ylabel=f"mean f_y(x+η) − f_y(x), σ = {sigmas[index]:g}",
                title="Density ratio over training",
            )
        )
    return results, figures_written


def measure_samples(runs, dataset, settings, out):
    """Activity maximisation from uniform noise and denoising from noisy test images."""
    classes = dataset.num_classes
    labels = np.repeat(np.arange(classes), settings.samples_per_class).astype(np.int32)
    key_uniform, key_noise = jax.random.split(jax.random.key(settings.seed))
    start = jax.random.uniform(key_uniform, (len(labels), *dataset.image_shape))
    # Denoising starts: test images of each class with Gaussian noise.
    test_y = dataset.test_labels
    picks = np.concatenate(
        [np.flatnonzero(test_y == c)[: settings.samples_per_class] for c in range(classes)]
    )
    clean = jnp.asarray(to_float(dataset.test_images[picks]))
    noisy = noisy_start(clean, key_noise, settings.denoise_sigma)
    denoise_labels = test_y[picks].astype(np.int32)
    results, samples, written = {}, {}, []
    for run in runs:
        ascend = jax.jit(
            lambda x0, y, run=run: gradient_ascent(
                run.logits_fn(),
                x0,
                y,
                steps=settings.ascent_steps,
                step_size=settings.ascent_step_size,
            )
        )
        generated, trajectory = ascend(start, jnp.asarray(labels))
        denoised, denoise_trajectory = ascend(noisy, jnp.asarray(denoise_labels))
        samples[run.name] = {
            "generated": (np.asarray(generated), labels),
            "denoised": (np.asarray(denoised), denoise_labels),
        }
        results[run.name] = {
            "logit_start_mean": float(trajectory[0].mean()),
            "logit_end_mean": float(trajectory[-1].mean()),
            "denoise_logit_start_mean": float(denoise_trajectory[0].mean()),
            "denoise_logit_end_mean": float(denoise_trajectory[-1].mean()),
            "denoise_mse_before": float(jnp.mean((noisy - clean) ** 2)),
            "denoise_mse_after": float(jnp.mean((denoised - clean) ** 2)),
        }
        written.append(
            figures.image_grid(
                out / f"samples_{run.name}.png",
                np.asarray(generated),
                settings.samples_per_class,
            )
        )
        if settings.dataset_figures:
            written.append(
                figures.image_grid(
                    out / f"denoised_{run.name}.png",
                    np.asarray(denoised[:: settings.samples_per_class]),
                    classes,
                )
            )
    return results, samples, written


def measure_gan_test(samples, classifier: Run, dataset, settings):
    fn = jax.jit(classifier.logits_fn())
    results = {
        "classifier": str(classifier.directory),
        "classifier_test_accuracy": gan_test_accuracy(
            fn, to_float(dataset.test_images), dataset.test_labels, settings.batch_size
        ),
    }
    for name, kinds in samples.items():
        results[name] = {
            kind: gan_test_accuracy(fn, x, y, settings.batch_size) for kind, (x, y) in kinds.items()
        }
    return results


def _reference_run(runs):
    """The fixed model of protocol (b): the first run trained with the baseline objective."""
    for run in runs:
        if run.config.objective.name == "baseline":
            return run
    return runs[0]


def _perturbation_correct_of(apply_fn, params, x, y, relevance, fractions):
    return perturbation_correct(functools.partial(apply_fn, params), x, y, relevance, fractions)


def measure_perturbation(runs, dataset, settings, out, progress=True):
    """Protocol (a): every model with every saliency method; protocol (b): the reference
    (baseline) model classifying images perturbed with each model's logit-gradients."""
    for method in settings.saliency_methods:
        check_choice(method, "saliency method", SALIENCY_METHODS)
    x, y = _choose(dataset, settings.num_examples, settings.seed)
    fractions = jnp.asarray(settings.fractions, jnp.float32)
    reference = _reference_run(runs)
    key = jax.random.key(settings.seed)
    own = {run.name: {} for run in runs}
    by_reference = {}
    random_curve = np.zeros(len(fractions))

    # jit per (model, method) once; the batches share shapes.
    # Runs of one architecture share their apply_fn (see load_run), so each jitted function
    # compiles once per method, not once per model; parameters are arguments.
    saliency_fn = jax.jit(
        functools.partial(
            compute_saliency,
            smoothgrad_samples=settings.smoothgrad_samples,
            ig_steps=settings.ig_steps,
        ),
        static_argnums=(0, 1),
    )
    correct_fn = jax.jit(_perturbation_correct_of, static_argnums=0)
    total = len(runs) * len(settings.saliency_methods)
    with tqdm(total=total, desc="pixel perturbation", leave=False, disable=not progress) as bar:
        for run in runs:
            for method in settings.saliency_methods:
                counts = np.zeros(len(fractions))
                ref_counts = np.zeros(len(fractions))
                for i, (xb, yb) in enumerate(_batches(x, y, settings.batch_size)):
                    relevance = saliency_fn(
                        method, run.apply_fn, run.params, xb, yb, jax.random.fold_in(key, i)
                    )
                    counts += np.asarray(
                        correct_fn(run.apply_fn, run.params, xb, yb, relevance, fractions)
                    )
                    if method == "logit-gradient":
                        ref_counts += np.asarray(
                            correct_fn(
                                reference.apply_fn, reference.params, xb, yb, relevance, fractions
                            )
                        )
                own[run.name][method] = (counts / len(x)).tolist()
                if method == "logit-gradient":
                    by_reference[run.name] = (ref_counts / len(x)).tolist()
                bar.update(1)
    # A random ranking, for scale: the reference model with uniformly random relevance.
    for i, (xb, yb) in enumerate(_batches(x, y, settings.batch_size)):
        noise = jax.random.uniform(jax.random.fold_in(key, 10_000 + i), xb.shape[:3])
        random_curve += np.asarray(
            correct_fn(reference.apply_fn, reference.params, xb, yb, noise, fractions)
        )
    random_curve = (random_curve / len(x)).tolist()

    written = []
    if "logit-gradient" in settings.saliency_methods:
        written.append(
            figures.line_plot(
                out / "perturbation_own.png",
                np.asarray(settings.fractions),
                {n: {"mean": np.asarray(m["logit-gradient"])} for n, m in own.items()},
                xlabel="fraction of least relevant pixels replaced by the image mean",
                ylabel="accuracy",
                title="Pixel perturbation, each model with its own logit-gradients",
            )
        )
        written.append(
            figures.line_plot(
                out / "perturbation_reference.png",
                np.asarray(settings.fractions),
                {
                    **{n: {"mean": np.asarray(c)} for n, c in by_reference.items()},
                    "random order": {"mean": np.asarray(random_curve)},
                },
                xlabel="fraction of least relevant pixels replaced by the image mean",
                ylabel=f"accuracy of {reference.name}",
                title=f"Pixel perturbation, fixed model {reference.name!r}",
            )
        )
    for run in runs:
        written.append(
            figures.line_plot(
                out / f"perturbation_methods_{run.name}.png",
                np.asarray(settings.fractions),
                {m: {"mean": np.asarray(c)} for m, c in own[run.name].items()},
                xlabel="fraction of least relevant pixels replaced by the image mean",
                ylabel="accuracy",
                title=f"{run.name}: saliency methods",
            )
        )
    results = {
        "fractions": list(settings.fractions),
        "own": own,
        "reference_model": reference.name,
        "by_reference": by_reference,
        "random_order": random_curve,
    }
    return results, written


def measure_saliency_maps(runs, dataset, settings, out):
    """Logit- and loss-gradient maps of every model beside the same test images."""
    x, y = _choose(dataset, settings.shown_examples, settings.seed)
    x, y = jnp.asarray(x), jnp.asarray(y)
    logit_maps, loss_maps = {}, {}
    for run in runs:
        logit_maps[run.name] = np.asarray(pixel_relevance(logit_gradients(run.logits_fn(), x, y)))
        loss_maps[run.name] = np.asarray(pixel_relevance(loss_gradients(run.logits_fn(), x, y)))
    written = [
        figures.maps_beside_images(
            out / "logit_gradients.png", np.asarray(x), logit_maps, "|∇x f_y| per model"
        ),
        figures.maps_beside_images(
            out / "loss_gradients.png", np.asarray(x), loss_maps, "|∇x CE| per model"
        ),
    ]
    reference = _reference_run(runs)
    key = jax.random.key(settings.seed)
    methods = {
        m: np.asarray(compute_saliency(m, reference.apply_fn, reference.params, x, y, key))
        for m in settings.saliency_methods
    }
    written.append(
        figures.maps_beside_images(
            out / "saliency_methods.png", np.asarray(x), methods, f"{reference.name}: methods"
        )
    )
    return {}, written


def measure_fooling(runs, dataset, settings, out, progress=True):
    """(a) shift invariance on the reference model; (b) saliency-fooling fine-tune of it."""
    reference = _reference_run(runs)
    x, y = _choose(dataset, settings.num_examples, settings.seed)
    x, y = jnp.asarray(x), jnp.asarray(y)
    height, width, _ = dataset.image_shape
    mask = corner_mask(height, width)
    logits_fn = reference.logits_fn()

    # (a) g(x) = 100·⟨pattern, x⟩ with a stripe pattern: every logit-gradient gains 100·pattern.
    rows = jnp.arange(height)[:, None] + jnp.arange(width)[None, :]
    pattern = jnp.broadcast_to(
        (jnp.sin(rows * 0.8) > 0).astype(jnp.float32)[..., None], x.shape[1:]
    )
    shifted = shift_logits(logits_fn, lambda z: 100.0 * jnp.sum(z * pattern, axis=(1, 2, 3)))

    def summary(fn):
        logits = fn(x)
        ce = jnp.mean(
            jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, y[:, None], 1)[:, 0]
        )
        grads = logit_gradients(fn, x, y).reshape(len(x), -1)
        flat = jnp.broadcast_to(pattern.reshape(-1), grads.shape)
        cosine = jnp.sum(grads * flat, 1) / (
            jnp.linalg.norm(grads, axis=1) * jnp.linalg.norm(flat, axis=1) + 1e-30
        )
        loss_change = loss_gradients(fn, x, y)
        return {
            "accuracy": float(jnp.mean(jnp.argmax(logits, -1) == y)),
            "ce": float(ce),
            "logit_gradient_cosine_to_pattern": float(jnp.mean(cosine)),
            "loss_gradient_norm": float(
                jnp.mean(jnp.linalg.norm(loss_change.reshape(len(x), -1), axis=1))
            ),
        }

    shift = {"original": summary(logits_fn), "shifted": summary(shifted)}

    # (b) fine-tune towards logit-gradients shaped like the corner mask.
    def energies(fn):
        return {
            "logit_gradient": float(jnp.mean(energy_inside(logit_gradients(fn, x, y), mask))),
            "loss_gradient": float(jnp.mean(energy_inside(loss_gradients(fn, x, y), mask))),
            f"loss_gradient_T{settings.temperature:g}": float(
                jnp.mean(
                    energy_inside(tempered_loss_gradients(fn, x, y, settings.temperature), mask)
                )
            ),
            "accuracy": float(jnp.mean(jnp.argmax(fn(x), -1) == y)),
        }

    rng = np.random.default_rng(settings.seed)
    train_x, train_y = dataset.train_images, dataset.train_labels
    batch = min(settings.batch_size, 128, len(train_x))

    def batches():
        for _ in range(settings.fooling_steps):
            pick = rng.choice(len(train_x), batch, replace=False)
            yield jnp.asarray(to_float(train_x[pick])), jnp.asarray(train_y[pick].astype(np.int32))

    loss_fn = fooling_objective(reference.apply_fn, mask, settings.fooling_weight)
    fooled_params, history = fine_tune(
        loss_fn,
        reference.params,
        tqdm(
            batches(),
            total=settings.fooling_steps,
            desc="fooling",
            leave=False,
            disable=not progress,
        ),
        learning_rate=settings.fooling_lr,
    )
    fooled_fn = reference.logits_fn(fooled_params)
    fooling = {
        "model": reference.name,
        "mask_fraction_of_pixels": float(mask.mean()),
        "before": energies(logits_fn),
        "after": energies(fooled_fn),
        "final_mask_mismatch": history[-1]["mask_mismatch"],
    }
    if not settings.dataset_figures:
        return {"shift": shift, "fine_tune": fooling}, []
    shown_x, shown_y = x[: settings.shown_examples], y[: settings.shown_examples]

    def maps(grads):
        return np.asarray(pixel_relevance(grads))

    written = [
        figures.maps_beside_images(
            out / "fooling.png",
            np.asarray(shown_x),
            {
                "mask": np.broadcast_to(np.asarray(mask), (len(shown_x), height, width)),
                "logit-grad": maps(logit_gradients(fooled_fn, shown_x, shown_y)),
                "loss-grad": maps(loss_gradients(fooled_fn, shown_x, shown_y)),
                f"loss-grad T={settings.temperature:g}": maps(
                    tempered_loss_gradients(fooled_fn, shown_x, shown_y, settings.temperature)
                ),
            },
            f"{reference.name} fine-tuned to put its logit-gradients in the mask",
        ),
        figures.maps_beside_images(
            out / "shift_invariance.png",
            np.asarray(shown_x),
            {
                "original": maps(logit_gradients(logits_fn, shown_x, shown_y)),
                "+ g(x)": maps(logit_gradients(shifted, shown_x, shown_y)),
            },
            "Logit-gradients before and after adding g(x) to all logits",
        ),
    ]
    return {"shift": shift, "fine_tune": fooling}, written


def evaluate_runs(
    run_dirs: dict[str, str | Path],
    out: str | Path,
    *,
    gan_test_dir: str | Path | None = None,
    measurements: tuple[str, ...] | None = None,
    settings: EvalSettings = EvalSettings(),
    progress: bool = True,
) -> Path:
    """Runs ``measurements`` (default all of :data:`MEASUREMENTS`) on the named runs.

    Args:
      run_dirs: ``{name: run directory}`` written by ``train.py``; all on the same dataset.
      out: output directory (created): ``metrics.json``, PNG figures, ``report.md``.
      gan_test_dir: run directory of the independent classifier for ``gan-test``.
      measurements: subset of :data:`MEASUREMENTS`; default: all (``gan-test`` only when
        ``gan_test_dir`` is given).
      settings: sizes and constants.
      progress: show progress bars.

    Returns:
      The path of ``report.md``.

    Raises:
      ValueError: no runs, an unknown measurement, runs on different datasets, or a checkpoint
        that does not fit the data; ``gan-test`` without ``gan_test_dir``.
      FileNotFoundError: a directory that is not a run or has no checkpoint.
    """
    if not run_dirs:
        raise ValueError("evaluate_runs needs at least one run directory.")
    if measurements is None:
        measurements = tuple(m for m in MEASUREMENTS if m != "gan-test" or gan_test_dir)
    measurements = tuple(measurements)
    for name in measurements:
        check_choice(name, "measurement", MEASUREMENTS)
    if "gan-test" in measurements and gan_test_dir is None:
        raise ValueError("measurement 'gan-test' needs a GAN-test classifier (--gan-test-model).")
    if "gan-test" in measurements and "samples" not in measurements:
        measurements = (*measurements, "samples")  # GAN-test classifies those samples
    all_dirs = dict(run_dirs)
    if gan_test_dir is not None and "gan-test" in measurements:
        all_dirs["GAN-test classifier"] = Path(gan_test_dir)
    dataset = _dataset_of(all_dirs)
    runs = [load_run(name, directory, dataset) for name, directory in run_dirs.items()]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    metrics = {
        "dataset": dataset.name,
        "settings": dataclasses.asdict(settings),
        "runs": {
            run.name: {
                "directory": str(run.directory),
                "config": dataclasses.asdict(run.config),
            }
            for run in runs
        },
    }
    written = []
    order = [m for m in MEASUREMENTS if m in measurements]
    samples = None
    with tqdm(order, desc="evaluation", disable=not progress) as bar:
        for name in bar:
            bar.set_postfix_str(name)
            if name == "accuracy":
                metrics["accuracy"] = measure_accuracy(runs, dataset, settings)
            elif name == "density":
                metrics["density"], figs = measure_density(runs, dataset, settings, out)
                written += figs
            elif name == "density-epochs":
                metrics["density_epochs"], figs = measure_density_epochs(
                    runs, dataset, settings, out, progress
                )
                written += figs
            elif name == "samples":
                metrics["samples"], samples, figs = measure_samples(runs, dataset, settings, out)
                written += figs
            elif name == "gan-test":
                classifier = load_run("GAN-test classifier", gan_test_dir, dataset)
                metrics["gan_test"] = measure_gan_test(samples, classifier, dataset, settings)
            elif name == "perturbation":
                metrics["perturbation"], figs = measure_perturbation(
                    runs, dataset, settings, out, progress
                )
                written += figs
            elif name == "saliency-maps" and settings.dataset_figures:
                _, figs = measure_saliency_maps(runs, dataset, settings, out)
                written += figs
            elif name == "fooling":
                metrics["fooling"], figs = measure_fooling(runs, dataset, settings, out, progress)
                written += figs
    metrics["figures"] = [str(p.relative_to(out)) for p in written]
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    return write_report(metrics, out)


__all__ = ["EvalSettings", "MEASUREMENTS", "Run", "evaluate_runs", "load_run"]
