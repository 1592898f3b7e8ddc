"""REPRODUCTION.md's tables, generated from the studies' committed summaries and metrics.

The file's prose is written by hand; every table sits between ``<!-- generated: NAME -->`` and
``<!-- end: NAME -->`` and is written by :data:`BLOCKS` ``[NAME]`` from ``results/``:

    python -m gradjax.studies.reproduction [--check]

``--check`` rewrites nothing and exits 1 when a table differs from what the results give (the
test suite runs it), so no number in REPRODUCTION.md can drift from its metrics.json.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from gradjax.paper import CLAIMS, TABLE2_LAMBDAS, TABLE2_MUS
from gradjax.studies import provenance
from gradjax.studies.index import command, cost_cell

# (study, the seeds it rests on as said in the table), in the order the verdict table reads.
VERDICT_STUDIES = ("mnist5k-seeds", "mnist5k-dynamics", "cifar10-6ep", "cifar10-resnet18")
MARKER = re.compile(r"<!-- generated: (?P<name>[\w-]+) -->\n.*?<!-- end: (?P=name) -->", re.DOTALL)


def _number(value: float, scale: float) -> str:
    return f"{scale * value:+.3g}"


def estimate(row: dict) -> str:
    """A summary row's seed-level mean and interval (one seed: its image-level interval)."""
    e, scale, unit = row["estimate"], row["scale"], row["unit"]
    bounds = e if e["n"] >= 2 else row.get("image")
    text = _number(e["value"], scale)
    if bounds:
        text += f" [{_number(bounds['low'], scale)}, {_number(bounds['high'], scale)}]"
    return text + unit + (" (images)" if e["n"] < 2 and bounds else "")


def verdict_rows(results: Path) -> list[str]:
    """One line per verdict of every study in :data:`VERDICT_STUDIES` that has a summary."""
    lines = [
        "| claim | comparison | study | seeds | ours: mean over seeds [95% CI] | "
        "other statistic | two baselines differ by | paper | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rows = []
    for order, study in enumerate(VERDICT_STUDIES):
        path = results / study / "summary.json"
        if path.exists():
            rows += [(study, order, row) for row in json.loads(path.read_text())["rows"]]
    claims = list(CLAIMS)
    # Grouped by claim, then by comparison, each comparison's studies in the order above.
    rows.sort(key=lambda r: (claims.index(r[2]["claim"]), r[2]["comparison"], r[1]))
    for study, _, row in rows:
        beside = row.get("beside")
        other = "–"
        if beside and beside.get("n"):
            other = _number(beside["value"], row["scale"]) + row["unit"]
        pairs = row["baseline_pairs"]
        spread = f"≤ {row['scale'] * max(pairs):.3g}{row['unit']}" if pairs else "–"
        comparison = row["comparison"] + (f" ({row['note']})" if row.get("note") else "")
        cells = [
            f"{row['claim']} ({CLAIMS[row['claim']].where})",
            comparison,
            f"[{study}](results/{study}/summary.md)",
            str(row["estimate"]["n"]),
            estimate(row),
            other,
            spread,
            row["paper"],
            f"**{row['outcome']}**",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def table2_rows(results: Path) -> list[str]:
    """The λ × μ grid of mnist5k-sweep: accuracy / GAN-test (headline judge) / the paper's
    density statistic at the headline σ, per cell."""
    from gradjax.evaluation.measurements.density import at_sigma
    from gradjax.evaluation.measurements.gan_test import generated

    path = results / "mnist5k-sweep" / "grid" / "metrics.json"
    if not path.exists():
        return ["(mnist5k-sweep has not been run)"]
    metrics = json.loads(path.read_text())
    m = metrics["measurements"]
    density = m["density"]

    def cell(name: str) -> str:
        head = at_sigma(density["runs"][name], density["sigmas"], density["headline_sigma"])
        return (
            f"{100 * m['accuracy']['runs'][name]['value']:.1f} / "
            f"{100 * generated(m['gan-test'], name)['value']:.1f} / "
            f"{head['log_mean_ratio']['value']:.3g}"
        )

    lines = [
        f"Baseline: {cell('baseline')}.",
        "",
        "| λ \\ μ | " + " | ".join(f"{mu:g}" for mu in TABLE2_MUS) + " |",
        "|---" * (len(TABLE2_MUS) + 1) + "|",
    ]
    for lam in TABLE2_LAMBDAS:
        cells = [cell(f"sm-lam{lam:g}-mu{mu:g}") for mu in TABLE2_MUS]
        lines.append(f"| {lam:g} | " + " | ".join(cells) + " |")
    return lines


def studies_rows(results: Path) -> list[str]:
    """Every registered study: its command, its question and what of it has run."""
    from gradjax.studies.registry import STUDIES

    lines = ["| study | command | question | run so far |", "|---|---|---|---|"]
    for name, study in STUDIES.items():
        out = results / name
        record = provenance.read(out / "study.json")
        ran = cost_cell(study, record, len(provenance.stage_metrics(study, out)))
        link = f"[{name}](results/{name}/)" if out.exists() else name
        lines.append(f"| {link} | `{command(study)}` | {study.question} | {ran} |")
    return lines


BLOCKS = {"verdicts": verdict_rows, "table2": table2_rows, "studies": studies_rows}


def render(text: str, results: Path) -> str:
    """``text`` with every generated block written afresh from ``results``."""

    def block(match) -> str:
        name = match["name"]
        body = "\n".join(BLOCKS[name](results))
        return f"<!-- generated: {name} -->\n{body}\n<!-- end: {name} -->"

    return MARKER.sub(block, text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default="REPRODUCTION.md")
    parser.add_argument("--results", default="results")
    parser.add_argument("--check", action="store_true", help="exit 1 if a table is stale")
    args = parser.parse_args(argv)
    path = Path(args.file)
    text = path.read_text()
    fresh = render(text, Path(args.results))
    if args.check:
        if fresh != text:
            print(f"{path}: a generated table differs from the results; regenerate it")
            return 1
        return 0
    path.write_text(fresh)
    return 0


__all__ = ["BLOCKS", "render", "verdict_rows", "table2_rows"]

if __name__ == "__main__":
    sys.exit(main())
