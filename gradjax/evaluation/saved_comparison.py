"""Compare two runs that were evaluated apart, from their saved ``metrics.json`` files.

A joint evaluation (``eval.py`` with both runs) pairs them image by image. When one run's
checkpoints are gone (deleted, or on a machine no longer at hand) only the summaries its evaluation
saved remain, and the comparison has to be unpaired:

* accuracy: Newcombe's hybrid score interval of two independent proportions
  (:func:`~gradjax.evaluation.stats.independent_proportion_difference`);
* density ratio f_y(x+η) − f_y(x), per noise level: the two means' standard errors, read back
  from their saved intervals (:func:`~gradjax.evaluation.stats.independent_mean_difference`);
* pixel perturbation with each model's own saliency: accuracy at each fraction of pixels
  replaced (Newcombe) and the per-image area under that curve (Welch), per saliency method.

Two models on the same test images are positively correlated, so these intervals are wider
than a paired comparison's would be: an interval that excludes 0 is evidence at the 95% level
(of the test images; retraining spread is another matter), one that covers 0 may hide a
difference a paired comparison would find. Usage::

    python -m gradjax.evaluation.saved_comparison \\
        results/new/metrics.json:gradient-norm results/cifar10-seed-pair/metrics.json:baseline
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from gradjax.evaluation.report_format import MISSING, interval, pct_interval, table_head
from gradjax.evaluation.stats import (
    independent_mean_difference,
    independent_proportion_difference,
    to_json,
    verdict,
)


def _records(a: Mapping, run_a: str, b: Mapping, run_b: str, measurement: str):
    """Both runs' saved per-run records of ``measurement``; ``None`` unless both have one."""
    first, second = (
        m.get("measurements", {}).get(measurement, {}).get("runs", {}).get(run)
        for m, run in ((a, run_a), (b, run_b))
    )
    return None if first is None or second is None else (first, second)


def _saved_proportions_difference(p_a: float, n_a: int, p_b: float, n_b: int) -> dict:
    """Newcombe's interval of two proportions saved as fractions of ``n`` examples."""
    return independent_proportion_difference(round(p_a * n_a), n_a, round(p_b * n_b), n_b)


def _check_same_setting(a: Mapping, b: Mapping) -> None:
    """Raise unless both evaluations saw the same dataset, images and noise seed."""
    if a.get("dataset") != b.get("dataset"):
        raise ValueError(f"different datasets: {a.get('dataset')!r} and {b.get('dataset')!r}.")
    for key in ("seed", "num_examples"):
        first, second = a.get("common", {}).get(key), b.get("common", {}).get(key)
        if first != second:
            raise ValueError(f"evaluations with different {key}: {first!r} and {second!r}.")


def compare_saved(a: Mapping, run_a: str, b: Mapping, run_b: str) -> dict:
    """Unpaired differences ``run_a − run_b`` of the measurements both evaluations saved.

    Args:
      a, b: two parsed ``metrics.json`` files (``eval.py``'s output).
      run_a, run_b: a run name in each.

    Returns:
      ``{"first", "second", "accuracy"?, "density"?, "perturbation"?}``: each measurement
      saved for both runs, with both runs' records and the difference ``{"value", "low",
      "high", "n"}`` (density: arrays over ``sigmas``, with ``headline_sigma``; perturbation:
      per saliency method of the own-model protocol, accuracy differences over ``fractions``
      and ``auc_difference``). The fixed-baseline protocol is left out: its numbers depend on
      that baseline model, which differs between evaluations.

    Raises:
      ValueError: if a run is missing from its file, the evaluations differ in dataset, seed or
        number of images, or density ratios or pixel perturbation were measured at different
        noise levels or fractions.
    """
    for metrics, run in ((a, run_a), (b, run_b)):
        if run not in metrics.get("runs", {}):
            raise ValueError(
                f"no run {run!r} in this metrics file; it has {sorted(metrics['runs'])}."
            )
    _check_same_setting(a, b)
    out: dict = {"first": run_a, "second": run_b}
    for name, compare in _COMPARISONS.items():
        compared = compare(a, run_a, b, run_b)
        if compared is not None:
            out[name] = compared
    return to_json(out)


def _accuracy(a: Mapping, run_a: str, b: Mapping, run_b: str) -> dict | None:
    """Test accuracy: both records and their difference (Newcombe)."""
    records = _records(a, run_a, b, run_b, "accuracy")
    if records is None:
        return None
    first, second = records
    return {
        "first": first,
        "second": second,
        "difference": _saved_proportions_difference(
            first["value"], first["n"], second["value"], second["n"]
        ),
    }


def _density(a: Mapping, run_a: str, b: Mapping, run_b: str) -> dict | None:
    """Density ratios per noise level: both records and their difference (Welch)."""
    records = _records(a, run_a, b, run_b, "density")
    if records is None:
        return None
    sigmas_a = a["measurements"]["density"]["sigmas"]
    sigmas_b = b["measurements"]["density"]["sigmas"]
    if not np.allclose(sigmas_a, sigmas_b):
        raise ValueError(f"density ratios at different noise levels: {sigmas_a} and {sigmas_b}.")
    first, second = records
    return {
        "sigmas": sigmas_a,
        "headline_sigma": a["measurements"]["density"]["headline_sigma"],
        "first": first,
        "second": second,
        "difference": independent_mean_difference(first, second),
    }


def _perturbation_own(a: Mapping, run_a: str, b: Mapping, run_b: str) -> dict | None:
    """Pixel perturbation with each model's own saliency (Fig. 3a), per method both runs have:
    accuracy differences at every fraction (Newcombe) and of the area under the curve (Welch)."""
    pa, pb = (m.get("measurements", {}).get("perturbation", {}) for m in (a, b))
    own_a, own_b = pa.get("own", {}).get(run_a), pb.get("own", {}).get(run_b)
    if own_a is None or own_b is None:
        return None
    if (
        not np.allclose(pa["fractions"], pb["fractions"])
        or pa["num_examples"] != pb["num_examples"]
    ):
        raise ValueError("pixel perturbation at different fractions or on different images.")
    n = pa["num_examples"]
    methods = {}
    for method in own_a.keys() & own_b.keys():
        curve_a, curve_b = own_a[method]["accuracy"], own_b[method]["accuracy"]
        by_fraction = [
            _saved_proportions_difference(x, n, y, n) for x, y in zip(curve_a, curve_b, strict=True)
        ]
        methods[method] = {
            "first": own_a[method],
            "second": own_b[method],
            "difference": {k: [d[k] for d in by_fraction] for k in ("value", "low", "high")},
            "auc_difference": independent_mean_difference(
                own_a[method]["auc"], own_b[method]["auc"]
            ),
        }
    return {
        "fractions": pa["fractions"],
        "num_examples": n,
        "methods": dict(sorted(methods.items())),
    }


# What compare_saved compares, by the key it is saved under in the comparison.
_COMPARISONS = {"accuracy": _accuracy, "density": _density, "perturbation": _perturbation_own}


def report_lines(comparison: Mapping, labels: tuple[str, str] | None = None) -> list[str]:
    """Markdown: one row per quantity, both runs with their intervals, the unpaired difference.

    ``labels`` name the two runs in the table (default: their run names)."""
    first, second = labels or (comparison["first"], comparison["second"])
    lines = [
        f"Unpaired comparison of '{first}' and '{second}', evaluated apart (95% intervals; "
        "wider than a paired comparison of the same runs would be).",
        "",
        *table_head(["quantity", first, second, f"{first} − {second}", "verdict"]),
    ]
    if "accuracy" in comparison:
        acc = comparison["accuracy"]
        d = acc["difference"]
        cells = [pct_interval(acc["first"]), pct_interval(acc["second"])]
        cells += [interval(d, scale=100) + " points", verdict(d["low"], d["high"])]
        lines.append("| " + " | ".join(["test accuracy (%)", *cells]) + " |")
    if "density" in comparison:
        den = comparison["density"]
        for i, sigma in enumerate(den["sigmas"]):
            if sigma == 0:
                continue  # f_y(x) − f_y(x): zero by construction
            rows = [
                {k: r[k][i] for k in ("value", "low", "high")}
                for r in (den["first"], den["second"], den["difference"])
            ]
            label = f"density ratio, σ = {sigma:.3g}"
            if np.isclose(sigma, den["headline_sigma"]):
                label = f"**{label}** (headline)"
            verdict_text = verdict(
                rows[2]["low"], rows[2]["high"], higher="flatter", lower="steeper"
            )
            lines.append("| " + " | ".join([label, *map(interval, rows), verdict_text]) + " |")
    for method, m in comparison.get("perturbation", {}).get("methods", {}).items():
        d = m["auc_difference"]
        cells = [interval(m["first"]["auc"]), interval(m["second"]["auc"]), interval(d)]
        label = f"pixel perturbation, own {method}: area under accuracy"
        lines.append("| " + " | ".join([label, *cells, verdict(d["low"], d["high"])]) + " |")
    if not _COMPARISONS.keys() & comparison.keys():
        lines.append("| (no measurement saved for both runs) | " + " | ".join([MISSING] * 4) + " |")
    return lines


def _saved_run(text: str) -> tuple[Path, str]:
    path, sep, run = text.rpartition(":")
    if not sep or not path or not run:
        raise argparse.ArgumentTypeError(f"expected METRICS.json:RUN, got {text!r}")
    return Path(path), run


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("first", type=_saved_run, help="METRICS.json:RUN (the minuend)")
    p.add_argument("second", type=_saved_run, help="METRICS.json:RUN (the reference)")
    p.add_argument("--out", type=Path, help="directory for comparison.json and comparison.md")
    args = p.parse_args(argv)
    (path_a, run_a), (path_b, run_b) = args.first, args.second
    try:
        comparison = compare_saved(
            json.loads(path_a.read_text()), run_a, json.loads(path_b.read_text()), run_b
        )
    except (OSError, ValueError) as e:
        p.error(str(e))
    comparison["files"] = [str(path_a), str(path_b)]
    # The same run name in two files (a run trained again): tell them apart by directory.
    labels = (
        (run_a, run_b)
        if run_a != run_b
        else (f"{run_a} ({path_a.parent.name})", f"{run_b} ({path_b.parent.name})")
    )
    text = "\n".join(report_lines(comparison, labels)) + "\n"
    sys.stdout.write(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "comparison.json").write_text(json.dumps(comparison, indent=1) + "\n")
        (args.out / "comparison.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
