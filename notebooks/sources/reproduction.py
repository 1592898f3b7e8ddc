# %% [markdown]
# # Reproduction: our runs beside Srinivas & Fleuret (ICLR 2021)
#
# This notebook reads only the committed evaluation results, `results/<preset>/metrics.json`
# (written by `python -m gradjax.reproduce <preset>`), and shows them beside the paper's
# numbers, with the 95% intervals the evaluation computed. It trains nothing. The paper's runs
# are ResNet-18 on CIFAR-100; ours are smaller
# (see REPRODUCTION.md for the configurations), so only the *ordering* of the objectives is
# comparable, not the values.

# %%
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, Markdown, display

RESULTS = Path("..") / "results"
OBJECTIVES = ["baseline", "score-matching", "anti-score-matching", "gradient-norm"]
# Table 1 of the paper (CIFAR-100, ResNet-18), in %.
PAPER = {
    "test accuracy": [78.01, 72.20, 74.87, 76.60],
    "GAN-test": [59.47, 72.75, 16.40, 80.07],
}
studies = {
    path.parent.name: json.loads(path.read_text())
    for path in sorted(RESULTS.glob("*/metrics.json"))
}
# Each study's measurements, keyed by name (see gradjax.evaluation.measurements).
measured = {name: metrics["measurements"] for name, metrics in studies.items()}
print("studies:", ", ".join(studies) or "none committed")

# %% [markdown]
# ## Accuracy and GAN-test (cf. Table 1)


# %%
def pct(record):
    """A proportion with its 95% interval, in percent."""
    return f"{100 * record['value']:.2f} [{100 * record['low']:.2f}, {100 * record['high']:.2f}]"


def table(name, metrics):
    rows = [
        "| objective | paper accuracy | paper GAN-test | our accuracy [95% CI] | our GAN-test "
        "(from noise) [95% CI] | our GAN-test (denoised) |",
        "|---|---|---|---|---|---|",
    ]
    if "accuracy" not in metrics["measurements"]:
        return f"### {name}: no accuracy measured"
    for i, objective in enumerate(OBJECTIVES):
        if objective not in metrics["runs"]:
            rows.append(
                f"| {objective} | {PAPER['test accuracy'][i]} | {PAPER['GAN-test'][i]} "
                "| not run | | |"
            )
            continue
        m = metrics["measurements"]
        acc = m["accuracy"]["runs"][objective]
        gan = m.get("gan-test", {}).get("runs", {}).get(objective, {})
        cells = [pct(acc)] + [pct(gan[k]) if k in gan else "–" for k in ("generated", "denoised")]
        rows.append(
            f"| {objective} | {PAPER['test accuracy'][i]} | {PAPER['GAN-test'][i]} | "
            + " | ".join(cells)
            + " |"
        )
    classifier = metrics["measurements"].get("gan-test", {}).get("classifier")
    note = (
        ""
        if classifier is None
        else (
            f"\n\nGAN-test classifier ({classifier['model']}) on real test images: "
            f"{pct(classifier['test_accuracy'])}%."
        )
    )
    return f"### {name} ({metrics['dataset']})\n\n" + "\n".join(rows) + note


for name, metrics in studies.items():
    display(Markdown(table(name, metrics)))

# %% [markdown]
# ## Density ratio `f_y(x+η) − f_y(x)` against the noise level (cf. Fig. 1)
#
# If logits are log-densities aligned with the data, noisy images must be less likely than
# clean ones: the curve should fall below zero as σ grows, most steeply for score-matching.

# %%
with_density = {name: m for name, m in measured.items() if "density" in m}
fig, axes = plt.subplots(1, len(with_density), figsize=(5 * len(with_density), 3.6), squeeze=False)
for ax, (name, m) in zip(axes[0], with_density.items(), strict=True):
    sigmas = np.array(m["density"]["sigmas"])
    keep = sigmas > 0
    for run, curve in m["density"]["runs"].items():
        mean, low, high = (np.array(curve[k])[keep] for k in ("value", "low", "high"))
        (line,) = ax.plot(sigmas[keep], mean, marker="o", ms=3, label=run)
        ax.fill_between(sigmas[keep], low, high, color=line.get_color(), alpha=0.2)
    ax.set_xscale("log")
    ax.set_xlabel("σ")
    ax.set_ylabel("mean f_y(x+η) − f_y(x)")
    ax.set_title(name)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Pixel perturbation (cf. Fig. 3a, 3b)
#
# Least relevant pixels (by logit-gradient magnitude) replaced by the image mean. Left: each
# model with its own gradients; right: the fixed baseline model classifying images perturbed
# with each model's gradients. Higher is better: the saliency found pixels the classifier
# does not need.

# %%
for name, m in measured.items():
    if "perturbation" not in m:
        continue
    p = m["perturbation"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for run, methods in p["own"].items():
        curve = methods["logit-gradient"]
        (line,) = left.plot(p["fractions"], curve["accuracy"], marker="o", ms=3, label=run)
        left.fill_between(
            p["fractions"], curve["low"], curve["high"], color=line.get_color(), alpha=0.2
        )
    for run, curve in p["by_reference"].items():
        (line,) = right.plot(p["fractions"], curve["accuracy"], marker="o", ms=3, label=run)
        right.fill_between(
            p["fractions"], curve["low"], curve["high"], color=line.get_color(), alpha=0.2
        )
    right.plot(p["fractions"], p["random_order"]["accuracy"], "k--", label="random order")
    left.set_title(f"{name}: own model")
    right.set_title(f"{name}: fixed model {p['reference']!r}")
    for ax in (left, right):
        ax.set_xlabel("fraction of pixels removed")
        ax.set_ylabel("accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## Samples by gradient ascent on `f_y` from uniform noise (rows: classes)

# %%
for name in studies:
    for objective in OBJECTIVES:
        path = RESULTS / name / f"samples_{objective}.png"
        if path.exists():
            display(Markdown(f"**{name} / {objective}**"))
            display(Image(filename=str(path)))
