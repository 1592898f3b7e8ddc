# %% [markdown]
# # Reproduction: our runs beside Srinivas & Fleuret (ICLR 2021)
#
# This notebook reads only the committed evaluation results, `results/<preset>/metrics.json`
# (written by `python -m gradjax.reproduce <preset>`), and shows them beside the paper's
# numbers. It trains nothing. The paper's runs are ResNet-18 on CIFAR-100; ours are smaller
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
print("studies:", ", ".join(studies) or "none committed")

# %% [markdown]
# ## Accuracy and GAN-test (cf. Table 1)


# %%
def table(name, metrics):
    rows = [
        "| objective | paper accuracy | paper GAN-test | our accuracy | our GAN-test "
        "(from noise) | our GAN-test (denoised) |",
        "|---|---|---|---|---|---|",
    ]
    for i, objective in enumerate(OBJECTIVES):
        if objective not in metrics["runs"]:
            rows.append(
                f"| {objective} | {PAPER['test accuracy'][i]} | {PAPER['GAN-test'][i]} "
                "| not run | | |"
            )
            continue
        acc = 100 * metrics["accuracy"][objective]["accuracy"]
        gan = metrics.get("gan_test", {}).get(objective, {})
        generated, denoised = (100 * gan.get(k, np.nan) for k in ("generated", "denoised"))
        rows.append(
            f"| {objective} | {PAPER['test accuracy'][i]} | {PAPER['GAN-test'][i]} | {acc:.2f} "
            f"| {generated:.2f} | {denoised:.2f} |"
        )
    classifier = metrics.get("gan_test", {}).get("classifier_test_accuracy")
    note = (
        ""
        if classifier is None
        else (f"\n\nGAN-test classifier accuracy on real test images: {100 * classifier:.2f}%.")
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
fig, axes = plt.subplots(1, len(studies), figsize=(5 * len(studies), 3.6), squeeze=False)
for ax, (name, metrics) in zip(axes[0], studies.items(), strict=True):
    for run, curve in metrics["density"].items():
        sigmas = np.array(curve["sigmas"])
        keep = sigmas > 0
        ax.plot(sigmas[keep], np.array(curve["mean"])[keep], marker="o", ms=3, label=run)
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
for name, metrics in studies.items():
    p = metrics["perturbation"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for run, methods in p["own"].items():
        left.plot(p["fractions"], methods["logit-gradient"], marker="o", ms=3, label=run)
    for run, curve in p["by_reference"].items():
        right.plot(p["fractions"], curve, marker="o", ms=3, label=run)
    right.plot(p["fractions"], p["random_order"], "k--", label="random order")
    left.set_title(f"{name}: own model")
    right.set_title(f"{name}: fixed model {p['reference_model']!r}")
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
