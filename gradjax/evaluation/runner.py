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
import re
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from gradjax.core.checks import check_choice
from gradjax.evaluation.cache import EvalCache
from gradjax.evaluation.context import Common, EvalContext, Result, dataset_of, load_run
from gradjax.evaluation.measurements import MEASUREMENTS
from gradjax.evaluation.report import write_report
from gradjax.evaluation.stats import to_json
from gradjax.training.rundir import RunDir


def plan(names, *, with_judges: bool) -> list[str]:
    """The measurements to run, in registry order, with their dependencies added.

    Raises:
      ValueError: an unknown name, or one that needs a GAN-test judge when there is none.
    """
    chosen = set()
    for name in names:
        check_choice(name, "measurement", MEASUREMENTS)
        chosen.update(_upstream(name))
    ordered = [name for name in MEASUREMENTS if name in chosen]
    for name in ordered:
        if MEASUREMENTS[name].needs_judge and not with_judges:
            raise ValueError(
                f"measurement {name!r} needs a GAN-test judge (eval.py --judge NAME=DIR)."
            )
    return ordered


def load_context(
    run_dirs: Mapping[str, str | Path],
    out: Path,
    *,
    judges: Mapping[str, str | Path],
    common: Common,
    progress: bool,
    cache_dir,
    epochs: Mapping[str, int],
) -> EvalContext:
    """The runs and judges restored (all on one dataset) into an :class:`EvalContext`."""
    rundirs = {name: RunDir(path) for name, path in run_dirs.items()}
    judge_dirs = {name: RunDir(path) for name, path in judges.items()}
    dataset = dataset_of({**rundirs, **{f"judge {n}": r for n, r in judge_dirs.items()}})
    unknown = sorted(set(epochs) - set(run_dirs))
    if unknown:
        raise ValueError(f"epochs names no run {unknown}; the runs: {', '.join(run_dirs)}.")
    runs = [load_run(name, r, dataset, epochs.get(name)) for name, r in rundirs.items()]
    loaded_judges = {name: load_run(name, r, dataset) for name, r in judge_dirs.items()}
    out.mkdir(parents=True, exist_ok=True)
    return EvalContext(
        runs, dataset, common, out, progress, loaded_judges, cache=EvalCache(cache_dir)
    )


def evaluate_runs(
    run_dirs: Mapping[str, str | Path],
    out: str | Path,
    *,
    judges: Mapping[str, str | Path] | None = None,
    measurements: tuple[str, ...] | None = None,
    common: Common | None = None,
    settings: Mapping[str, object] | None = None,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    epochs: Mapping[str, int] | None = None,
    run_names: Mapping[str, str] | None = None,
) -> Path:
    """Runs ``measurements`` on the named runs; returns the path of ``report.md``.

    Args:
      run_dirs: ``{name: run directory}`` written by ``train.py``; all on the same dataset.
      out: output directory (created).
      judges: ``{name: run directory}`` of the independent GAN-test classifiers.
      measurements: names of :data:`MEASUREMENTS`; default all (those needing a judge only
        when ``judges`` are given).
      common: settings shared by the measurements (default :class:`Common`).
      settings: ``{measurement: its Settings}``; missing ones take their defaults.
      progress: show progress bars.
      cache_dir: where finished measurements and pieces are kept for a resumed evaluation
        (``None``: nothing kept). Keep it out of anything published: pieces hold arrays
        derived from the test images.
      epochs: ``{name: epoch}``: evaluate those runs at the checkpoint ending that epoch
        (and their per-epoch measurements up to it), the others at their latest checkpoint.
      run_names: ``{name: what to record}`` in place of the runs' and judges' directories
        (a study records its runs by name, not by where they lie on one machine).

    Raises:
      ValueError: no runs, an unknown measurement, runs on different datasets, a checkpoint
        that does not fit the data, a measurement needing a judge without one.
      FileNotFoundError: a directory that is not a run. CheckpointError: a damaged checkpoint.
    """
    if not run_dirs:
        raise ValueError("evaluate_runs needs at least one run directory.")
    common = Common() if common is None else common
    judges = dict(judges or {})
    if measurements is None:
        measurements = [n for n, m in MEASUREMENTS.items() if judges or not m.needs_judge]
    order = plan(measurements, with_judges=bool(judges))
    out = Path(out)
    ctx = load_context(
        run_dirs,
        out,
        judges=judges,
        common=common,
        progress=progress,
        cache_dir=cache_dir,
        epochs=dict(epochs or {}),
    )
    settings = {name: (settings or {}).get(name) or MEASUREMENTS[name].settings() for name in order}
    metrics = {
        "dataset": ctx.dataset.name,
        "common": dataclasses.asdict(common),
        "runs": {r.name: _describe(r, run_names) for r in ctx.runs},
        "judges": {name: _describe(r, run_names) for name, r in ctx.judges.items()},
        "settings": {name: dataclasses.asdict(s) for name, s in settings.items()},
        "measurements": {},
    }
    timings, loaded, per_image = _measure_all(ctx, order, settings, metrics)
    (out / "metrics.json").write_text(json.dumps(to_json(metrics), indent=1) + "\n")
    if per_image and common.keep_per_image:
        write_per_image(out / "per_image.json", per_image)
    (out / "timings.json").write_text(
        json.dumps({"seconds": timings, "loaded_from_cache": loaded}, indent=1) + "\n"
    )
    return write_report(metrics, out)


def _measure_all(ctx: EvalContext, order, settings, metrics: dict):
    """Runs (or loads) each measurement in order into ``metrics``; returns the wall times, the
    names loaded from the cache and the per-image values."""
    figures, timings, loaded, per_image = [], {}, [], {}
    for name in tqdm(order, desc="evaluation", disable=not ctx.progress):
        started = time.perf_counter()
        result, seconds, was_loaded = _measure_or_load(ctx, name, settings)
        # A result kept before results stored their time: this run's wall time.
        timings[name] = round(time.perf_counter() - started, 1) if seconds is None else seconds
        loaded += [name] if was_loaded else []
        ctx.results[name] = result
        metrics["measurements"][name] = to_json(result.metrics)
        figures += [str(p.relative_to(ctx.out)) for p in result.figures]
        per_image.update({f"{name}/{k}": v for k, v in result.per_image.items()})
    metrics["figures"] = figures
    return timings, loaded, per_image


# numpy prints integral floats as "1." and "1.e-08", which JSON does not accept.
_BARE_POINT = re.compile(r"(\d)\.(?=[\s,\]e])")


def write_per_image(path: Path, arrays: Mapping[str, object]) -> None:
    """``{"<measurement>/<run>/<quantity>": array}`` as JSON, float32 values written exactly
    (nine significant digits; non-finite ones as ``NaN`` and ``±Infinity``), so a re-run
    writes the same bytes."""

    def exact(array):
        a = np.asarray(array)
        if a.dtype.kind == "f":
            text = np.array2string(
                a.astype(np.float32),
                separator=",",
                threshold=a.size + 1,
                floatmode="unique",
                max_line_width=10**9,
            )
            text = _BARE_POINT.sub(r"\1.0", text).replace("nan", "NaN").replace("inf", "Infinity")
            return json.loads(text)
        return a.tolist()

    path.write_text(
        json.dumps({k: exact(v) for k, v in arrays.items()}, separators=(",", ":")) + "\n"
    )


def read_per_image(path: Path) -> dict[str, np.ndarray]:
    """The arrays :func:`write_per_image` wrote."""
    return {k: np.asarray(v) for k, v in json.loads(Path(path).read_text()).items()}


def _describe(run, run_names: Mapping[str, str] | None) -> dict:
    """A run's entry in metrics.json: where it came from, its config and evaluated epoch."""
    source = (
        {"run": run_names[run.name]}
        if run_names and run.name in run_names
        else {"directory": str(run.rundir.path)}
    )
    return {
        **source,
        "config": dataclasses.asdict(run.config),
        **({} if run.epoch is None else {"epoch": run.epoch}),
    }


def _measure_or_load(
    ctx: EvalContext, name: str, settings: Mapping[str, object]
) -> tuple[Result, float | None, bool]:
    """Measurement ``name``, or its kept result with its figures written again into ``ctx.out``;
    with the seconds it took to compute (``None`` for a result kept without them) and whether it
    was loaded.

    Its key holds the settings and code of it and of the measurements whose results it reads,
    and every model (the judges too).
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
            "per_image": result.per_image,
            "figures": {str(p.relative_to(ctx.out)): p.read_bytes() for p in result.figures},
            "seconds": round(time.perf_counter() - started, 1),
        }

    kept = ctx.memo(
        f"measurement/{name}",
        compute,
        settings={n: settings[n] for n in upstream},
        runs=[*ctx.runs, *ctx.judges.values()],
        code=[MEASUREMENTS[n].measure for n in upstream],
    )
    for relative, content in kept["figures"].items():
        (ctx.out / relative).parent.mkdir(parents=True, exist_ok=True)
        (ctx.out / relative).write_bytes(content)
    result = Result(
        kept["metrics"],
        [ctx.out / r for r in kept["figures"]],
        kept["artifacts"],
        kept.get("per_image", {}),
    )
    return result, kept.get("seconds"), not computed


def _upstream(name: str) -> list[str]:
    """``name`` and the measurements whose results it reads, transitively, each once."""
    names = [name]
    for dep in MEASUREMENTS[name].needs:
        names += [n for n in _upstream(dep) if n not in names]
    return names


__all__ = ["evaluate_runs", "plan", "read_per_image", "write_per_image"]
