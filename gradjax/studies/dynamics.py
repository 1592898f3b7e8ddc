"""The ``dynamics`` summary: every measure of a study's per-epoch stages against the epoch, one
line per objective with its range over the seeds, and the verdicts on arXiv v1 §4.2.2's claim
that the baseline's alignment decays as it trains (and on whether score-matching holds its own),
written to ``results/<study>/summary.md``, ``summary.json`` and ``dynamics_*.png``.

The comparisons are fixed before looking: the baseline late (its last evaluated epoch) against
early (epoch :data:`EARLY`, once it has learnt the task), and every objective against the
baseline of its seed at the last epoch they share; per seed, with a Student-t interval over the
seeds.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path

import numpy as np

from gradjax.evaluation import figures
from gradjax.evaluation.claims import Row, Verdict, outcome, run_seeds, verdict_table
from gradjax.evaluation.measurements import MEASUREMENTS
from gradjax.evaluation.measurements.gan_test import generated
from gradjax.evaluation.stats import seed_interval
from gradjax.studies.provenance import stage_metrics
from gradjax.studies.seed_summary import write_summary
from gradjax.studies.spec import Study

EARLY = 10

# (key, label, measurement, how to read a run's value) of every measure followed.
MEASURES = (
    ("accuracy", "test accuracy", "accuracy", lambda m, run: m["runs"][run]["value"]),
    (
        "log_mean_ratio",
        "log E[exp(f_y(x+η) − f_y(x))], σ = 0.5",
        "density",
        lambda m, run: MEASUREMENTS["density"].quantities(m)["log_mean_ratio"][run]["value"],
    ),
    (
        "mean_log_ratio",
        "E[f_y(x+η) − f_y(x)], σ = 0.5",
        "density",
        lambda m, run: MEASUREMENTS["density"].quantities(m)["mean_log_ratio"][run]["value"],
    ),
    (
        "gan_test_robust",
        "GAN-test from noise, robust judge",
        "gan-test",
        lambda m, run: generated(m, run)["value"],
    ),
    (
        "gan_test_plain",
        "GAN-test from noise, plain judge",
        "gan-test",
        lambda m, run: generated(m, run, next(iter(m["judges"])))["value"],
    ),
    (
        "normalised_auc",
        "pixel perturbation, normalised AUC (own logit-gradients)",
        "perturbation",
        lambda m, run: m["own"][run]["logit-gradient"]["normalised_auc"]["value"],
    ),
    (
        "normalised_auc_random",
        "pixel perturbation, normalised AUC (random ranking)",
        "perturbation",
        lambda m, run: m["own"][run]["random"]["normalised_auc"]["value"],
    ),
)


def collect(study: Study, out: Path) -> dict:
    """``values[measure][objective][epoch][seed]`` from every done stage."""
    values = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    stages = {s.name: s for s in study.stages}
    for name, metrics in stage_metrics(study, out).items():
        epoch = stages[name].epoch
        for run, (objective, seed) in run_seeds(metrics).items():
            for key, _, measurement, read in MEASURES:
                if measurement in metrics["measurements"]:
                    value = read(metrics["measurements"][measurement], run)
                    values[key][objective][epoch][seed] = value
    return values


def _row(verdict: Verdict, per_seed: dict[int, float], baselines: dict[int, float]) -> Row | None:
    """``per_seed``: the judged value of each seed; ``baselines``: the baseline seeds' values of
    the same quantity, whose pairwise gaps are the chance yardstick."""
    if not per_seed:
        return None
    seeds = sorted(per_seed)
    estimate = seed_interval([per_seed[s] for s in seeds])
    pairs = [abs(a - b) for a, b in itertools.combinations(baselines.values(), 2)]
    return Row(
        verdict,
        "dynamics",
        seeds,
        estimate,
        None,
        pairs,
        None,
        outcome(verdict, estimate, None, len(seeds)),
    )


def decay_rows(values: dict) -> list[Row]:
    """The baseline late against early, and each objective against the baseline at the last
    epoch they share, per seed."""
    rows = []
    baseline = values["log_mean_ratio"].get("baseline", {})
    if EARLY not in baseline or len(baseline) < 2:
        return rows
    late = max(baseline)
    for key, sign, what in (
        ("log_mean_ratio", +1, "density ratio (the paper's statistic) flatter"),
        ("mean_log_ratio", +1, "mean log-ratio flatter"),
        ("gan_test_robust", -1, "GAN-test (robust judge) lower"),
        ("normalised_auc", -1, "pixel-perturbation normalised AUC lower"),
    ):
        series = values[key].get("baseline", {})
        if EARLY in series and late in series:
            change = {
                s: series[late][s] - series[EARLY][s] for s in series[late] if s in series[EARLY]
            }
            scale = 100 if key.startswith(("gan", "normalised")) else 1
            verdict = Verdict(
                "alignment-decay",
                f"baseline: {what} at epoch {late} than at epoch {EARLY}",
                key,
                None,
                sign,
                scale=scale,
                unit=" points" if scale == 100 else "",
                paper="decays (v1 Fig. 2b, 6)",
            )
            rows.append(_row(verdict, change, change))  # how far two seeds' changes differ
    for objective in ("score-matching", "gradient-norm", "anti-score-matching"):
        mine = values["log_mean_ratio"].get(objective, {})
        shared = sorted(set(mine) & set(baseline))
        if not shared:
            continue
        epoch = shared[-1]
        gap = {s: mine[epoch][s] - baseline[epoch][s] for s in mine[epoch] if s in baseline[epoch]}
        sign = +1 if objective == "anti-score-matching" else -1
        verdict = Verdict(
            "alignment-decay",
            f"{objective}: density ratio {'flatter' if sign > 0 else 'steeper'} than the "
            f"baseline's at epoch {epoch} (the paper's statistic)",
            "log_mean_ratio",
            objective,
            sign,
            paper="holds (§5.1.1)",
        )
        rows.append(_row(verdict, gap, baseline[epoch]))
    return [r for r in rows if r is not None]


def _curves(series: dict) -> dict:
    """Mean over seeds and the seeds' range per epoch, one entry per objective."""
    curves = {}
    for objective, by_epoch in series.items():
        epochs = sorted(by_epoch)
        per = [np.asarray(list(by_epoch[e].values()), np.float64) for e in epochs]
        curves[objective] = {
            "x": np.asarray(epochs, np.float64),
            "mean": np.asarray([p.mean() for p in per]),
            "low": np.asarray([p.min() for p in per]),
            "high": np.asarray([p.max() for p in per]),
        }
    return curves


def _table(series: dict, scale: float) -> list[str]:
    epochs = sorted({e for by_epoch in series.values() for e in by_epoch})
    lines = ["| objective | " + " | ".join(f"epoch {e}" for e in epochs) + " |"]
    lines.append("|---" * (len(epochs) + 1) + "|")
    for objective, by_epoch in series.items():
        cells = []
        for e in epochs:
            seeds = by_epoch.get(e, {})
            if not seeds:
                cells.append("–")
                continue
            v = scale * np.asarray(list(seeds.values()))
            cells.append(f"{v.mean():.3g} [{v.min():.3g}, {v.max():.3g}] ({len(v)})")
        lines.append(f"| {objective} | " + " | ".join(cells) + " |")
    return lines


def dynamics_summary(study: Study, out: Path) -> list[Row]:
    values = collect(study, out)
    rows = decay_rows(values)
    lines = [
        f"# {study.name}: the measures over training",
        "",
        f"{study.question}",
        "",
        "Generated from the stages' `metrics.json`. Cells: mean over seeds [lowest, highest] "
        "(number of seeds); figures: the mean with the seeds' range as a band.",
    ]
    for key, label, measurement, _ in MEASURES:
        if not values.get(key):
            continue
        scale = 100 if key.startswith(("accuracy", "gan", "normalised")) else 1
        unit = " (%)" if scale == 100 else ""
        lines += ["", f"## {label}{unit}", "", *_table(values[key], scale)]
        curves = {
            o: {k: (v * scale if k != "x" else v) for k, v in c.items()}
            for o, c in _curves(values[key]).items()
        }
        # Density ratios span a sign change near 0 and regularised runs in the tens or hundreds.
        ratio = measurement == "density"
        figures.line_plot(
            out / f"dynamics_{key}.png",
            None,
            curves,
            xlabel="epoch (log scale)",
            ylabel=label + unit + (" (symmetric log scale)" if ratio else ""),
            title=label,
            xscale="log",
            yscale="symlog" if ratio else "linear",
        )
        lines += ["", f"![{key}](dynamics_{key}.png)"]
    if rows:
        lines += [
            "",
            "## Verdicts",
            "",
            f"Per seed: the baseline at its last epoch minus at epoch {EARLY}; each objective "
            'minus the baseline of its seed at their last shared epoch. "Two baselines differ '
            "by\": the largest gap between two baseline seeds' changes (decay rows) or values "
            "at that epoch (the others).",
            "",
            *verdict_table(rows),
        ]
    write_summary(out, study.name, lines, rows)
    return rows


__all__ = ["EARLY", "MEASURES", "collect", "decay_rows", "dynamics_summary"]
