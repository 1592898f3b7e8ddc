"""``report.md`` from ``metrics.json``: the runs, a headline table beside the paper's
numbers, one section per measurement (each written by
its own ``report`` function, see :mod:`gradjax.evaluation.measurements`), the verdicts on the
paper's claims (:mod:`gradjax.evaluation.verdicts`), and the figures. Every number in it is read
from ``metrics.json``."""

from __future__ import annotations

from pathlib import Path

from gradjax.core.objectives import OBJECTIVES
from gradjax.evaluation.claims import judge_all, verdict_table
from gradjax.evaluation.measurements import MEASUREMENTS
from gradjax.evaluation.measurements.density import at_sigma
from gradjax.evaluation.measurements.gan_test import generated
from gradjax.evaluation.report_format import MISSING, interval, pct_interval, table_head
from gradjax.paper import TABLE1


def _cell(measurements: dict, path: tuple, fmt) -> str:
    """``fmt`` of ``measurements[path[0]][path[1]]…``, or :data:`MISSING` where the path ends."""
    record = measurements
    try:
        for key in path:
            record = record[key]
    except (KeyError, TypeError):
        return MISSING
    return fmt(record)


def _paper_density(record: dict) -> str:
    """The paper's statistic of a density record at one σ (the mean log-ratio for evaluations
    that did not keep it)."""
    return interval(record.get("log_mean_ratio", record))


def _gan_test(metrics: dict, run: str, *, interval: bool = True) -> str:
    """A run's GAN-test from noise by the headline judge, in percent (with its interval)."""
    mine = generated(metrics, run)
    if mine is None:
        return MISSING
    return pct_interval(mine) if interval else f"{100 * mine['value']:.1f}"


def _headline(density: dict):
    """A density record's entries at the headline σ (for :func:`_cell`)."""
    return lambda record: at_sigma(record, density["sigmas"], density["headline_sigma"])


def runs_table(metrics: dict) -> list[str]:
    """One row per run; anti-score-matching's τ beside its name, and a checkpoint column when
    some run was evaluated at an earlier epoch than its latest."""
    at_epoch = any("epoch" in run for run in metrics["runs"].values())
    lines = [
        "| model | objective | λ | model | estimator, σ |" + (" checkpoint |" if at_epoch else ""),
        "|---|---|---|---|---|" + ("---|" if at_epoch else ""),
    ]
    for name, run in metrics["runs"].items():
        o, m = run["config"]["objective"], run["config"]["model"]
        lam = OBJECTIVES[o["name"]].lam if o["lam"] is None else o["lam"]
        objective = o["name"] + (
            f", τ = {o['tau']:g}" if o["name"] == "anti-score-matching" else ""
        )
        checkpoint = f" epoch {run['epoch']} |" if "epoch" in run else " latest |"
        lines.append(
            f"| {name} | {objective} | {lam:g} | {m['name']} | {o['estimator']}, {o['sigma']:g} |"
            + (checkpoint if at_epoch else "")
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
        parts = [
            _cell(m, ("accuracy", "runs", name, "value"), lambda v: f"{100 * v:.1f}"),
            _cell(m, ("gan-test",), lambda g, n=name: _gan_test(g, n, interval=False)),
        ]
        if "density" in m:
            head = at_sigma(
                m["density"]["runs"][name], m["density"]["sigmas"], m["density"]["headline_sigma"]
            )
            parts.append(f"{head.get('log_mean_ratio', head)['value']:.3g}")
        cells[(o["lam"], o["mu"])] = " / ".join(parts)
    if len(cells) < 2:
        return []
    lams, mus = sorted({k[0] for k in cells}), sorted({k[1] for k in cells})
    sigma = m["density"]["headline_sigma"] if "density" in m else None
    lines = [
        "Cells: test accuracy (%) / GAN-test from noise (%) / log mean density ratio"
        + (f" at σ = {sigma:g}" if sigma is not None else "")
        + "; intervals per run are in the sections above.",
        "",
        *table_head(["λ \\ μ", *(f"{mu:g}" for mu in mus)]),
    ]
    for lam in lams:
        lines.append(
            f"| {lam:g} | " + " | ".join(cells.get((lam, mu), MISSING) for mu in mus) + " |"
        )
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

    lines = [
        "Point estimates; each measurement's section above has the intervals.",
        "",
        *table_head(
            [
                "estimator",
                "seed",
                "run",
                "accuracy (%)",
                "density ratio, headline σ",
                "GAN-test, noise (%)",
                "perturbation AUC, own",
                "held-out J",
                "s/epoch",
            ]
        ),
    ]
    head = _headline(m["density"]) if "density" in m else None
    for estimator, seed, name in sorted(rows):
        cells = [
            estimator,
            str(seed),
            name,
            _cell(m, ("accuracy", "runs", name, "value"), lambda v: f"{100 * v:.2f}"),
            _cell(m, ("density", "runs", name), lambda r: f"{head(r)['value']:.3g}"),
            _cell(m, ("gan-test",), lambda g, n=name: _gan_test(g, n, interval=False)),
            _cell(
                m, ("perturbation", "own", name, "logit-gradient", "auc", "value"), "{:.3f}".format
            ),
            _cell(
                m, ("score-matching-objective", "runs", name, "objective", "value"), "{:.3g}".format
            ),
            _cell(
                m,
                ("score-matching-objective", "runs", name, "seconds_per_epoch"),
                lambda v: MISSING if v is None else f"{v:.3g}",
            ),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def paper_table(metrics: dict) -> list[str]:
    """One row per run of the paper's objectives beside the paper's CIFAR-100 accuracy and
    GAN-test: our accuracy, density ratio at the headline σ and its paired difference to the
    reference, GAN-test from noise, and the logit-gradient perturbation AUC with the model's own
    and the fixed model, each with its 95% interval. Empty without accuracy, and unless at least
    two of the paper's objectives were trained, each at one setting (further seeds of a run,
    which show the seed-to-seed spread, get rows of their own)."""
    m = metrics["measurements"]
    settings = {}  # objective name -> the distinct objective settings its runs were trained at
    for run in metrics["runs"].values():
        objective = run["config"]["objective"]
        if objective["name"] in TABLE1:
            seen = settings.setdefault(objective["name"], [])
            seen.extend([] if objective in seen else [objective])
    if "accuracy" not in m or len(settings) < 2 or any(len(s) > 1 for s in settings.values()):
        return []  # not a study of the paper's objectives (a sweep, an estimator study)

    sigma = m["density"]["headline_sigma"] if "density" in m else None
    lines = [
        "The paper's columns are its CIFAR-100 ResNet-18 results; ours are this evaluation's, with "
        "95% intervals (differences paired, to the reference model)"
        + (
            f"; density ratio = the paper's log E[exp(f_y(x+η) − f_y(x))] at σ = {sigma:g}; "
            "GAN-test by the headline judge."
            if sigma
            else "."
        ),
        "",
        *table_head(
            [
                "run",
                "paper acc. (%)",
                "paper GAN-test (%)",
                "accuracy (%)",
                "density ratio",
                "Δ vs reference",
                "GAN-test, noise (%)",
                "perturbation AUC, own",
                "AUC, fixed model",
            ]
        ),
    ]
    head = _headline(m["density"]) if "density" in m else None
    for name, run in metrics["runs"].items():
        paper = TABLE1.get(run["config"]["objective"]["name"])
        if paper is None:
            continue
        cells = [
            name,
            f"{paper.accuracy:.2f}",
            f"{paper.gan_test:.2f}",
            _cell(m, ("accuracy", "runs", name), pct_interval),
            _cell(m, ("density", "runs", name), lambda r: _paper_density(head(r))),
            _cell(m, ("density", "difference", name), lambda r: _paper_density(head(r))),
            _cell(m, ("gan-test",), lambda g, n=name: _gan_test(g, n)),
            _cell(m, ("perturbation", "own", name, "logit-gradient", "auc"), interval),
            _cell(m, ("perturbation", "by_reference", name, "auc"), interval),
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
    verdicts = judge_all([metrics], MEASUREMENTS)
    if verdicts:
        lines += [
            "",
            "## Verdicts on the paper's claims",
            "",
            "Per training seed, each objective against the baseline of the same seed; with one "
            "seed a verdict is indicative only (the interval covers the test images, not the "
            "training run).",
            "",
            *verdict_table(verdicts),
        ]
    if metrics.get("figures"):
        lines += ["", "## Figures", ""]
        for figure in metrics["figures"]:
            lines += [f"![{Path(figure).stem}]({figure})", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


__all__ = ["write_report"]
