"""``report.md`` from ``metrics.json``: the runs, a headline table beside the paper's
numbers, one section per measurement (each written by
its own ``report`` function, see :mod:`gradjax.evaluation.measurements`), the verdicts on the
paper's claims (:mod:`gradjax.evaluation.verdicts`), and the figures. Every number in it is read
from ``metrics.json``."""

from __future__ import annotations

from pathlib import Path

from gradjax.evaluation.measurements import MEASUREMENTS
from gradjax.evaluation.measurements.density import at_sigma
from gradjax.evaluation.report_format import interval, pct_interval
from gradjax.evaluation.verdicts import verdict_lines
from gradjax.objectives import OBJECTIVES


def runs_table(metrics: dict) -> list[str]:
    lines = ["| model | objective | λ | model | estimator, σ |", "|---|---|---|---|---|"]
    for name, run in metrics["runs"].items():
        o, m = run["config"]["objective"], run["config"]["model"]
        lam = OBJECTIVES[o["name"]].lam if o["lam"] is None else o["lam"]
        lines.append(
            f"| {name} | {o['name']} | {lam:g} | {m['name']} | {o['estimator']}, {o['sigma']:g} |"
        )
    return lines


def sweep_table(metrics: dict) -> list[str]:
    """The paper's Table 2 shape: score-matching runs on a λ × μ grid, each cell accuracy /
    GAN-test from noise / density ratio at the headline σ (empty without such a grid)."""
    m = metrics["measurements"]
    cells = {}
    for name, run in metrics["runs"].items():
        o = run["config"]["objective"]
        if o["name"] != "score-matching" or o["lam"] is None:
            continue
        parts = [f"{100 * m['accuracy']['runs'][name]['value']:.1f}" if "accuracy" in m else "–"]
        gan = m.get("gan-test", {}).get("runs", {}).get(name)
        parts.append(f"{100 * gan['generated']['value']:.1f}" if gan else "–")
        if "density" in m:
            head = at_sigma(
                m["density"]["runs"][name], m["density"]["sigmas"], m["density"]["headline_sigma"]
            )
            parts.append(f"{head['value']:.3g}")
        cells[(o["lam"], o["mu"])] = " / ".join(parts)
    if len(cells) < 2:
        return []
    lams, mus = sorted({k[0] for k in cells}), sorted({k[1] for k in cells})
    sigma = m["density"]["headline_sigma"] if "density" in m else None
    lines = [
        "Cells: test accuracy (%) / GAN-test from noise (%) / mean density ratio"
        + (f" at σ = {sigma:g}" if sigma is not None else "")
        + "; intervals per run are in the sections above.",
        "",
        "| λ \\ μ | " + " | ".join(f"{mu:g}" for mu in mus) + " |",
        "|---" * (len(mus) + 1) + "|",
    ]
    for lam in lams:
        lines.append(f"| {lam:g} | " + " | ".join(cells.get((lam, mu), "–") for mu in mus) + " |")
    return lines


def estimator_table(metrics: dict) -> list[str]:
    """One row per score-matching run when several trace estimators were trained (the estimator
    study): accuracy, density ratio at the headline σ, GAN-test from noise, own-model
    logit-gradient perturbation AUC, held-out J and seconds per epoch (empty otherwise)."""
    m = metrics["measurements"]
    rows = []
    for name, run in metrics["runs"].items():
        o, seed = run["config"]["objective"], run["config"]["run"]["seed"]
        if o["name"] == "score-matching":
            rows.append((o["estimator"], seed, name))
    if len({r[0] for r in rows}) < 2:
        return []

    def cell(measurement, name, get, fmt):
        try:
            return fmt(get(m[measurement], name))
        except KeyError:
            return "–"

    def density(d, name):
        return at_sigma(d["runs"][name], d["sigmas"], d["headline_sigma"])["value"]

    lines = [
        "Point estimates; each measurement's section above has the intervals.",
        "",
        "| estimator | seed | run | accuracy (%) | density ratio, headline σ | GAN-test, noise (%) "
        "| perturbation AUC, own | held-out J | s/epoch |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for estimator, seed, name in sorted(rows):
        cells = [
            estimator,
            str(seed),
            name,
            cell("accuracy", name, lambda d, n: d["runs"][n]["value"], lambda v: f"{100 * v:.2f}"),
            cell("density", name, density, lambda v: f"{v:.3g}"),
            cell(
                "gan-test",
                name,
                lambda d, n: d["runs"][n]["generated"]["value"],
                lambda v: f"{100 * v:.1f}",
            ),
            cell(
                "perturbation",
                name,
                lambda d, n: d["own"][n]["logit-gradient"]["auc"]["value"],
                lambda v: f"{v:.3f}",
            ),
            cell(
                "score-matching-objective",
                name,
                lambda d, n: d["runs"][n]["objective"]["value"],
                lambda v: f"{v:.3g}",
            ),
            cell(
                "score-matching-objective",
                name,
                lambda d, n: d["runs"][n]["seconds_per_epoch"],
                lambda v: "–" if v is None else f"{v:.3g}",
            ),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


# The paper's CIFAR-100 results (ResNet-18; test accuracy, GAN-test of samples, %) per
# objective, as issue #11 quotes them, for the headline table beside ours.
PAPER_CIFAR100 = {
    "baseline": (78.01, 59.47),
    "score-matching": (72.20, 72.75),
    "anti-score-matching": (74.87, 16.40),
    "gradient-norm": (76.60, 80.07),
}


def paper_table(metrics: dict) -> list[str]:
    """One row per run of the paper's objectives beside the paper's CIFAR-100 accuracy and
    GAN-test: our accuracy, density ratio at the headline σ and its paired difference to the
    reference, GAN-test from noise, and the logit-gradient perturbation AUC with the model's own
    and the fixed model, each with its 95% interval. Empty without accuracy, and unless at least
    two of the paper's objectives were trained, once each."""
    m = metrics["measurements"]
    objectives = [run["config"]["objective"]["name"] for run in metrics["runs"].values()]
    compared = [o for o in objectives if o in PAPER_CIFAR100]
    if "accuracy" not in m or len(compared) < 2 or len(set(compared)) < len(compared):
        return []  # not a study of the paper's objectives, one run each (sweeps, seeds)

    def get(measurement, path):
        record = m.get(measurement)
        try:
            for key in path:
                record = record[key]
        except (KeyError, TypeError):
            return None
        return record

    def density(name, table):
        d = m.get("density")
        record = get("density", (table, name))
        return None if record is None else at_sigma(record, d["sigmas"], d["headline_sigma"])

    def cell(record, fmt):
        return "—" if record is None else fmt(record)

    sigma = m["density"]["headline_sigma"] if "density" in m else None
    lines = [
        "The paper's columns are its CIFAR-100 ResNet-18 results; ours are this evaluation's, with "
        "95% intervals (differences paired, to the reference model)"
        + (f"; density ratio = mean f_y(x+η) − f_y(x) at σ = {sigma:g}." if sigma else "."),
        "",
        "| run | paper acc. (%) | paper GAN-test (%) | accuracy (%) | density ratio "
        "| Δ vs reference | GAN-test, noise (%) | perturbation AUC, own | AUC, fixed model |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, run in metrics["runs"].items():
        paper = PAPER_CIFAR100.get(run["config"]["objective"]["name"])
        if paper is None:
            continue
        cells = [
            name,
            f"{paper[0]:.2f}",
            f"{paper[1]:.2f}",
            pct_interval(m["accuracy"]["runs"][name]),
            cell(density(name, "runs"), interval),
            cell(density(name, "difference"), interval),
            cell(get("gan-test", ("runs", name, "generated")), pct_interval),
            cell(get("perturbation", ("own", name, "logit-gradient", "auc")), interval),
            cell(get("perturbation", ("by_reference", name, "auc")), interval),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_report(metrics: dict, out: Path) -> Path:
    """Writes ``out/report.md``; figures are referenced by their paths relative to ``out``."""
    lines = [
        f"# Evaluation on {metrics['dataset']}",
        "",
        "Generated by gradjax's evaluation from `metrics.json` in this directory. Intervals are "
        "95%; differences between models evaluated on the same images are paired.",
        "",
        "## Runs",
        "",
        *runs_table(metrics),
    ]
    beside = paper_table(metrics)
    if beside:
        lines += ["", "## Beside the paper", "", *beside]
    for name, result in metrics["measurements"].items():
        section = MEASUREMENTS[name].report(result)
        if section:
            lines += ["", f"## {MEASUREMENTS[name].title}", "", *section]
    grid = sweep_table(metrics)
    if grid:
        lines += ["", "## Score-matching over λ × μ (cf. the paper's Table 2)", "", *grid]
    study = estimator_table(metrics)
    if study:
        lines += ["", "## Score-matching by trace estimator", "", *study]
    verdicts = verdict_lines(metrics)
    if verdicts:
        lines += ["", "## Verdicts on the paper's claims", "", *verdicts]
    if metrics.get("figures"):
        lines += ["", "## Figures", ""]
        for figure in metrics["figures"]:
            lines += [f"![{Path(figure).stem}]({figure})", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


__all__ = ["write_report"]
