"""``report.md`` from the evaluation's metrics: tables shaped like the paper's (Table 1:
accuracy and GAN-test per model; Table 2: the λ×μ grid of score-matching sweeps) and the
figures embedded below them."""

from __future__ import annotations

from pathlib import Path

from gradjax.config import DEFAULT_LAMBDA


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def _at(values, grid, point):
    """``values`` at the grid entry closest to ``point`` (None if absent)."""
    if not values:
        return None
    index = min(range(len(grid)), key=lambda i: abs(grid[i] - point))
    return values[index]


def table_one(metrics: dict) -> list[str]:
    """Per model: objective, λ, test accuracy, GAN-test, density ratio, perturbation."""
    accuracy = metrics.get("accuracy", {})
    gan = metrics.get("gan_test", {})
    density = metrics.get("density", {})
    perturbation = metrics.get("perturbation", {})
    fractions = perturbation.get("fractions", [])
    lines = [
        "| model | objective | λ | test accuracy (%) | GAN-test, from noise (%) "
        "| GAN-test, denoised (%) | mean f_y(x+η)−f_y(x), σ=0.1 "
        "| accuracy at 50% removed, own model (%) | same, fixed model (%) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, run in metrics["runs"].items():
        objective = run["config"]["objective"]
        lam = objective["lam"]
        lam = DEFAULT_LAMBDA[objective["name"]] if lam is None else lam
        d = density.get(name)
        ratio = _at(d["mean"], d["sigmas"], 0.1) if d else None
        own = perturbation.get("own", {}).get(name, {}).get("logit-gradient")
        ref = perturbation.get("by_reference", {}).get(name)
        cells = [
            name,
            objective["name"],
            f"{lam:g}",
            _pct(accuracy.get(name, {}).get("accuracy")),
            _pct(gan.get(name, {}).get("generated")),
            _pct(gan.get(name, {}).get("denoised")),
            "–" if ratio is None else f"{ratio:.3g}",
            _pct(_at(own, fractions, 0.5)),
            _pct(_at(ref, fractions, 0.5)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if "gan_test" in metrics:
        lines.append("")
        lines.append(
            "GAN-test classifier accuracy on real test images: "
            f"{_pct(metrics['gan_test']['classifier_test_accuracy'])}% "
            f"({metrics['gan_test']['classifier']})."
        )
    return lines


def table_two(metrics: dict) -> list[str]:
    """λ×μ grid of score-matching runs (cells: accuracy / GAN-test); empty if no sweep."""
    cells = {}
    for name, run in metrics["runs"].items():
        objective = run["config"]["objective"]
        if objective["name"] != "score-matching" or objective["lam"] is None:
            continue
        acc = metrics.get("accuracy", {}).get(name, {}).get("accuracy")
        gan = metrics.get("gan_test", {}).get(name, {}).get("generated")
        cells[(objective["lam"], objective["mu"])] = f"{_pct(acc)} / {_pct(gan)}"
    lams = sorted({lam for lam, _ in cells})
    mus = sorted({mu for _, mu in cells})
    if len(cells) < 2:
        return []
    lines = [
        "| λ \\ μ | " + " | ".join(f"{mu:g}" for mu in mus) + " |",
        "|---" * (len(mus) + 1) + "|",
    ]
    for lam in lams:
        row = [cells.get((lam, mu), "–") for mu in mus]
        lines.append(f"| {lam:g} | " + " | ".join(row) + " |")
    return lines


def fooling_lines(metrics: dict) -> list[str]:
    fooling = metrics.get("fooling")
    if not fooling:
        return []
    shift, tune = fooling["shift"], fooling["fine_tune"]
    lines = [
        "## Fooling",
        "",
        "(a) Adding g(x) = 100·⟨pattern, x⟩ to all logits of the fixed model:",
        "",
        "| | accuracy (%) | CE | cosine(logit-gradient, pattern) | mean ‖∇x CE‖ |",
        "|---|---|---|---|---|",
    ]
    for key, row in shift.items():
        lines.append(
            f"| {key} | {_pct(row['accuracy'])} | {row['ce']:.6f} "
            f"| {row['logit_gradient_cosine_to_pattern']:.4f} | {row['loss_gradient_norm']:.6g} |"
        )
    energy_keys = [k for k in tune["before"] if k != "accuracy"]
    lines += [
        "",
        f"(b) {tune['model']} fine-tuned so that its normalised |logit-gradient| matches a "
        f"top-left square covering {_pct(tune['mask_fraction_of_pixels'])}% of the pixels. "
        "Fraction of gradient energy inside the square:",
        "",
        "| | " + " | ".join(energy_keys) + " | accuracy (%) |",
        "|---" * (len(energy_keys) + 2) + "|",
    ]
    for when in ("before", "after"):
        row = tune[when]
        lines.append(
            f"| {when} | "
            + " | ".join(f"{row[k]:.3f}" for k in energy_keys)
            + f" | {_pct(row['accuracy'])} |"
        )
    return lines


def write_report(metrics: dict, out: Path) -> Path:
    """Writes ``out/report.md``; figures are referenced by their paths relative to ``out``."""
    lines = [
        f"# Evaluation on {metrics['dataset']}",
        "",
        "Generated by `eval.py` from `metrics.json` in this directory; every number below is "
        "read from it.",
        "",
        "## Models (cf. the paper's Table 1)",
        "",
        *table_one(metrics),
    ]
    grid = table_two(metrics)
    if grid:
        lines += ["", "## Score-matching sweep, accuracy / GAN-test (cf. Table 2)", "", *grid]
    fooling = fooling_lines(metrics)
    if fooling:
        lines += ["", *fooling]
    if metrics.get("figures"):
        lines += ["", "## Figures", ""]
        for figure in metrics["figures"]:
            lines += [f"![{Path(figure).stem}]({figure})", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


__all__ = ["table_one", "table_two", "write_report"]
