"""The ``seeds`` summary: the verdicts on the paper's claims with the training seed as the
unit, every done stage's evaluation read together (:mod:`gradjax.evaluation.claims`), written
to ``results/<study>/summary.md``, ``summary.json`` and ``verdicts.png``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gradjax.evaluation import figures
from gradjax.evaluation.claims import Row, judge_all, verdict_table
from gradjax.evaluation.measurements import MEASUREMENTS
from gradjax.evaluation.stats import to_json
from gradjax.studies.provenance import stage_metrics
from gradjax.studies.spec import Study


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
        panels[
            f"{v.wording[:60]}{'…' if len(v.wording) > 60 else ''} ({v.unit.strip() or 'Δ'})"
        ] = items
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
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    records = {"study": study.name, "rows": [row_record(r) for r in rows]}
    (out / "summary.json").write_text(json.dumps(records, indent=1) + "\n")
    return rows


__all__ = ["VARIANT", "evidence", "judged", "row_record", "seeds_summary"]
