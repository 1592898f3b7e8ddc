"""Evaluates trained runs: every registered measurement (or a chosen subset, with the
measurements they need), written as ``metrics.json``, PNG figures and ``report.md``, and the
wall time of each measurement as ``timings.json`` (apart, so that re-runs give identical
metrics). With a ``cache_dir`` every finished measurement (and every finished piece of the long
ones) is kept there, so an interrupted evaluation resumes where it stopped
(:mod:`gradjax.evaluation.cache`); a measurement loaded from there keeps the wall time it took
when it was computed, and ``timings.json`` lists it under ``loaded_from_cache``.

All models are measured on the same test images with the same noise (from ``common.seed``),
so their differences are paired and a re-run gives the same numbers.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from pathlib import Path

from tqdm.auto import tqdm

from gradjax.checks import check_choice
from gradjax.evaluation.cache import EvalCache
from gradjax.evaluation.context import Common, EvalContext, Result, dataset_of, load_run
from gradjax.evaluation.measurements import MEASUREMENTS
from gradjax.evaluation.report import write_report
from gradjax.evaluation.stats import to_json
from gradjax.rundir import RunDir


def plan(names, *, with_classifier: bool) -> list[str]:
    """The measurements to run, in registry order, with their dependencies added.

    Raises:
      ValueError: an unknown name, or one that needs the classifier when there is none.
    """
    chosen = set()
    for name in names:
        check_choice(name, "measurement", MEASUREMENTS)
        chosen.update(_upstream(name))
    ordered = [name for name in MEASUREMENTS if name in chosen]
    for name in ordered:
        if MEASUREMENTS[name].needs_classifier and not with_classifier:
            raise ValueError(
                f"measurement {name!r} needs a GAN-test classifier (--gan-test-model)."
            )
    return ordered


def evaluate_runs(
    run_dirs: Mapping[str, str | Path],
    out: str | Path,
    *,
    classifier_dir: str | Path | None = None,
    measurements: tuple[str, ...] | None = None,
    common: Common | None = None,
    settings: Mapping[str, object] | None = None,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    epochs: Mapping[str, int] | None = None,
) -> Path:
    """Runs ``measurements`` on the named runs; returns the path of ``report.md``.

    Args:
      run_dirs: ``{name: run directory}`` written by ``train.py``; all on the same dataset.
      out: output directory (created).
      classifier_dir: run directory of the independent GAN-test classifier.
      measurements: names of :data:`MEASUREMENTS`; default all (those needing the classifier
        only when ``classifier_dir`` is given).
      common: settings shared by the measurements (default :class:`Common`).
      settings: ``{measurement: its Settings}``; missing ones take their defaults.
      progress: show progress bars.
      cache_dir: where finished measurements and pieces are kept for a resumed evaluation
        (``None``: nothing kept). Keep it out of anything published: pieces hold arrays
        derived from the test images.
      epochs: ``{name: epoch}``: evaluate those runs at the checkpoint ending that epoch
        (and their per-epoch measurements up to it), the others at their latest checkpoint.

    Raises:
      ValueError: no runs, an unknown measurement, runs on different datasets, a checkpoint
        that does not fit the data, a measurement needing a classifier without one.
      FileNotFoundError: a directory that is not a run. CheckpointError: a damaged checkpoint.
    """
    if not run_dirs:
        raise ValueError("evaluate_runs needs at least one run directory.")
    common = Common() if common is None else common
    with_classifier = classifier_dir is not None
    if measurements is None:
        measurements = [
            n for n, m in MEASUREMENTS.items() if with_classifier or not m.needs_classifier
        ]
    order = plan(measurements, with_classifier=with_classifier)
    rundirs = {name: RunDir(path) for name, path in run_dirs.items()}
    if with_classifier:
        rundirs["GAN-test classifier"] = RunDir(classifier_dir)
    dataset = dataset_of(rundirs)
    unknown = sorted(set(epochs or {}) - set(run_dirs))
    if unknown:
        raise ValueError(f"epochs names no run {unknown}; the runs: {', '.join(run_dirs)}.")
    runs = {
        name: load_run(name, rundir, dataset, (epochs or {}).get(name))
        for name, rundir in rundirs.items()
    }
    classifier = runs.pop("GAN-test classifier", None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = EvalContext(
        list(runs.values()), dataset, common, out, progress, classifier, cache=EvalCache(cache_dir)
    )
    settings = {name: (settings or {}).get(name) or MEASUREMENTS[name].settings() for name in order}

    metrics = {
        "dataset": dataset.name,
        "common": dataclasses.asdict(common),
        "runs": {
            r.name: {
                "directory": str(r.rundir.path),
                "config": dataclasses.asdict(r.config),
                **({} if r.epoch is None else {"epoch": r.epoch}),
            }
            for r in ctx.runs
        },
        "settings": {name: dataclasses.asdict(s) for name, s in settings.items()},
        "measurements": {},
    }
    figures = []
    timings, loaded = {}, []
    for name in tqdm(order, desc="evaluation", disable=not progress):
        started = time.perf_counter()
        result, seconds, was_loaded = _measure_or_load(ctx, name, settings)
        # A result kept before results stored their time: this run's wall time.
        timings[name] = round(time.perf_counter() - started, 1) if seconds is None else seconds
        loaded += [name] if was_loaded else []
        ctx.results[name] = result
        metrics["measurements"][name] = to_json(result.metrics)
        figures += [str(p.relative_to(out)) for p in result.figures]
    metrics["figures"] = figures
    (out / "metrics.json").write_text(json.dumps(to_json(metrics), indent=1) + "\n")
    (out / "timings.json").write_text(
        json.dumps({"seconds": timings, "loaded_from_cache": loaded}, indent=1) + "\n"
    )
    return write_report(metrics, out)


def _measure_or_load(
    ctx: EvalContext, name: str, settings: Mapping[str, object]
) -> tuple[Result, float | None, bool]:
    """Measurement ``name``, or its kept result with its figures written again into ``ctx.out``;
    with the seconds it took to compute (``None`` for a result kept without them) and whether it
    was loaded.

    Its key holds the settings and code of it and of the measurements whose results it reads,
    and every model (the classifier too).
    """
    measurement = MEASUREMENTS[name]
    upstream = _upstream(name)
    computed = []

    def compute() -> dict:
        started = time.perf_counter()
        result = measurement.measure(ctx, settings[name])
        computed.append(name)
        return {
            "metrics": result.metrics,
            "artifacts": result.artifacts,
            "figures": {str(p.relative_to(ctx.out)): p.read_bytes() for p in result.figures},
            "seconds": round(time.perf_counter() - started, 1),
        }

    kept = ctx.memo(
        f"measurement/{name}",
        compute,
        settings={n: settings[n] for n in upstream},
        runs=[*ctx.runs, *([ctx.classifier] if ctx.classifier else [])],
        code=[MEASUREMENTS[n].measure for n in upstream],
    )
    for relative, content in kept["figures"].items():
        (ctx.out / relative).parent.mkdir(parents=True, exist_ok=True)
        (ctx.out / relative).write_bytes(content)
    result = Result(kept["metrics"], [ctx.out / r for r in kept["figures"]], kept["artifacts"])
    return result, kept.get("seconds"), not computed


def _upstream(name: str) -> list[str]:
    """``name`` and the measurements whose results it reads, transitively, each once."""
    names = [name]
    for dep in MEASUREMENTS[name].needs:
        names += [n for n in _upstream(dep) if n not in names]
    return names


__all__ = ["evaluate_runs", "plan"]
