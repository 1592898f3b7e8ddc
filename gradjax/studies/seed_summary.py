"""The ``seeds`` summary: the verdicts on the paper's claims with the training seed as the
unit, every done stage's evaluation read together (:mod:`gradjax.evaluation.claims`), written
to ``results/<study>/summary.md``, ``summary.json`` and ``verdicts.png``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from gradjax.evaluation import figures
from gradjax.evaluation.claims import Row, judge_all, run_seeds, verdict_table
from gradjax.evaluation.measurements import MEASUREMENTS
from gradjax.evaluation.stats import to_json
from gradjax.studies.provenance import stage_metrics
from gradjax.studies.spec import Study


def write_summary(out: Path, study: str, lines: list[str], rows: list[Row]) -> None:
    """Write ``summary.md`` (``lines``) and ``summary.json`` (the verdict rows) under ``out``."""
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    records = {"study": study, "rows": [row_record(r) for r in rows]}
    (out / "summary.json").write_text(json.dumps(records, indent=1) + "\n")


def row_record(row: Row) -> dict:
    """A verdict row as JSON (what REPRODUCTION.md's tables are generated from)."""
    v = row.verdict
    return to_json(
        {
            "claim": v.claim,
            "comparison": v.wording,
            "measurement": row.measurement,
            "quantity": v.quantity,
            "objective": v.objective,
            "scale": v.scale,
            "unit": v.unit,
            "paper": v.paper,
            "seeds": row.seeds,
            "estimate": row.estimate,
            "beside": row.beside,
            "baseline_pairs": row.baseline_pairs,
            "image": row.image,
            "outcome": row.outcome,
            "note": row.note,
        }
    )


def _figure(rows: list[Row], path: Path) -> Path:
    panels = {}
    for row in rows:
        v, e = row.verdict, row.estimate
        scaled = {k: v.scale * e[k] for k in ("value", "low", "high")}
        items = [("mean over seeds", scaled if e["n"] >= 2 else None, None)]
        for seed, value in zip(row.seeds, e["per_seed"], strict=True):
            point = {"value": v.scale * value, "low": v.scale * value, "high": v.scale * value}
            items.append((f"seed {seed}", point, None))
        if row.baseline_pairs:
            spread = v.scale * max(row.baseline_pairs)
            items.append(("two baselines", None, {"value": 0.0, "low": -spread, "high": spread}))
        title = v.wording[:60] + ("…" if len(v.wording) > 60 else "")
        extra = ", ".join(filter(None, [v.unit.strip() or "Δ", row.note[:40]]))
        panels[f"{title} ({extra})"] = items
    return figures.interval_panels(
        path, panels, reference_label="largest gap between two baseline seeds (±)"
    )


# A stage named ``seed<k>-<variant>`` evaluates seed k's runs another way (say, with
# normalised ascent steps): its verdicts are judged apart, as that variant's.
VARIANT = re.compile(r"^seed\d+-(?P<variant>[\w-]+)$")


def evidence(study: Study, out: Path) -> dict[str, list[dict]]:
    """The done stages' metrics by variant ("" for the plain stages), without the runs the
    study excludes from the verdicts."""
    groups: dict[str, list[dict]] = {}
    for name, metrics in stage_metrics(study, out).items():
        dropped = study.excluded.get(name, {})
        metrics["runs"] = {k: v for k, v in metrics["runs"].items() if k not in dropped}
        match = VARIANT.match(name)
        groups.setdefault(match["variant"] if match else "", []).append(metrics)
    return groups


def judged(study: Study, out: Path) -> list[Row]:
    """Every verdict row, the plain stages' first, then each variant's with its name noted."""
    rows = []
    for variant, evaluations in evidence(study, out).items():
        for row in judge_all(evaluations, MEASUREMENTS):
            if variant:
                row.note = "; ".join(filter(None, [f"{variant} stages", row.note]))
            rows.append(row)
    return rows


def ascent_curves(evaluations: list[dict]) -> dict:
    """GAN-test against ascent steps: ``{judge: {objective: {steps: [one value per seed]}}}``
    from the evaluations whose samples kept several step counts."""
    curves: dict = {}
    for metrics in evaluations:
        gan = metrics["measurements"].get("gan-test")
        if not gan or "judges" not in gan:
            continue
        for run, (objective, _) in run_seeds(metrics).items():
            for judge, record in gan["runs"].get(run, {}).items():
                for steps, value in record["by_steps"].items():
                    per = curves.setdefault(judge, {}).setdefault(objective, {})
                    per.setdefault(int(steps), []).append(value["value"])
    return {j: c for j, c in curves.items() if any(len(s) > 1 for s in c.values())}


def _ascent_figures(curves: dict, out: Path) -> tuple[list[str], list[str]]:
    """One figure per judge (mean over seeds, their range shaded) and a table of the means."""
    lines = ["| judge | objective | " + " | ".join(f"{s} steps" for s in STEPS) + " |"]
    lines.append("|---|---|" + "---|" * len(STEPS))
    written = []
    for judge, by_objective in curves.items():
        bands = {}
        for objective, by_steps in by_objective.items():
            steps = sorted(by_steps)
            values = [100 * np.asarray(by_steps[s]) for s in steps]
            bands[objective] = {
                "x": np.asarray(steps, np.float64),
                "mean": np.asarray([v.mean() for v in values]),
                "low": np.asarray([v.min() for v in values]),
                "high": np.asarray([v.max() for v in values]),
            }
            cells = [f"{v.mean():.1f} [{v.min():.1f}, {v.max():.1f}]" for v in values]
            lines.append(f"| {judge} | {objective} | " + " | ".join(cells) + " |")
        path = figures.line_plot(
            out / f"gan_test_by_steps_{judge}.png",
            None,
            bands,
            xlabel="ascent steps",
            ylabel="GAN-test from noise (%)",
            title=f"{judge}: mean over seeds, range shaded",
            xscale="log",
        )
        written.append(f"![GAN-test by steps, {judge}]({path.name})")
    return written, lines


STEPS = (3, 10, 30, 100)


def judge_lines(evaluations: list[dict]) -> list[str]:
    """Each judge's accuracy on real images and acceptance of pure noise, over the stages."""
    seen: dict = {}
    for metrics in evaluations:
        gan = metrics["measurements"].get("gan-test")
        for judge, about in (gan or {}).get("judges", {}).items():
            seen.setdefault(judge, (about["test_accuracy"], []))[1].append(
                about["noise_acceptance"]["value"]
            )
    return [
        f"* judge {judge!r}: {100 * accuracy['value']:.1f}% on real test images; accepts "
        f"{100 * np.mean(noise):.1f}% of pure noise (mean over {len(noise)} evaluations; chance "
        "10%)."
        for judge, (accuracy, noise) in seen.items()
    ]


def seeds_summary(study: Study, out: Path) -> list[Row]:
    """The verdict rows over every done stage; writes summary.md, summary.json, verdicts.png."""
    rows = judged(study, out)
    lines = [
        f"# {study.name}: verdicts with the training seed as the unit",
        "",
        f"{study.question}",
        "",
        "Generated from the stages' `metrics.json` (`python -m gradjax.reproduce "
        f"{study.name} --summary`). Each objective is compared with the baseline of the same "
        'seed; the mean over seeds carries a Student-t 95% interval; "two baselines differ '
        "by\" is the largest gap between two baseline seeds on the same quantity, chance's "
        "size; a one-seed row is indicative (its interval covers the test images only).",
        "",
        *verdict_table(rows),
    ]
    excluded = [
        f"* `{stage}`: {label} — {why}"
        for stage, labels in study.excluded.items()
        for label, why in labels.items()
    ]
    if excluded:
        lines += ["", "Left out of the verdicts (their reports still show them):", "", *excluded]
    if rows:
        lines += ["", "![verdicts](verdicts.png)"]
        _figure(rows, out / "verdicts.png")
    plain = evidence(study, out).get("", [])
    curves = ascent_curves(plain)
    if curves:
        pictures, table = _ascent_figures(curves, out)
        lines += [
            "",
            "## GAN-test against ascent steps",
            "",
            "Percent of samples from noise each judge labels as their class, after each number "
            "of ascent steps: mean over seeds [lowest, highest].",
            "",
            *judge_lines(plain),
            "",
            *table,
            "",
            *pictures,
        ]
    write_summary(out, study.name, lines, rows)
    return rows


__all__ = ["VARIANT", "evidence", "judged", "row_record", "seeds_summary", "write_summary"]
