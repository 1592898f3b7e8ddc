"""The mean density ratio at every epoch checkpoint of each run: how the implicit density's
alignment develops during training."""

from __future__ import annotations

import dataclasses

import numpy as np
from tqdm.auto import tqdm

from gradjax.evaluation import figures
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.maths.density_ratios import check_sigmas
from gradjax.evaluation.measurements.density import ratios_of


@dataclasses.dataclass(frozen=True)
class Settings:
    sigmas: tuple[float, ...] = (0.1, 0.5, 1.0)
    plotted_sigma: float = 0.5
    num_examples: int = 200  # test images (the first of the shared draw)


def measure(ctx: EvalContext, settings: Settings) -> Result:
    sigmas = check_sigmas(settings.sigmas)
    x, y = (a[: settings.num_examples] for a in ctx.test_examples)
    runs = {}
    for run in ctx.runs:
        steps = run.epoch_steps
        means = []
        for step in tqdm(
            steps, desc=f"density/epochs {run.name}", leave=False, disable=not ctx.progress
        ):
            params = run.rundir.restore_params(step)
            means.append(ratios_of(ctx, run.logits_fn(params), x, y, sigmas).mean(axis=1))
        runs[run.name] = {"steps": steps, "mean": np.asarray(means)}
    index = int(np.argmin(np.abs(sigmas - settings.plotted_sigma)))
    curves = {n: {"mean": r["mean"][:, index]} for n, r in runs.items() if len(r["steps"])}
    lengths = {len(r["steps"]) for r in runs.values()}
    written = []
    if len(lengths) == 1 and lengths != {0}:
        written.append(
            figures.line_plot(
                ctx.out / "density_ratio_epochs.png",
                np.arange(1, lengths.pop() + 1),
                curves,
                xlabel="epoch",
                ylabel=f"mean f_y(x+η) − f_y(x), σ = {sigmas[index]:g}",
                title="Density ratio over training",
            )
        )
    return Result({"sigmas": sigmas, "num_examples": len(x), "runs": runs}, written)


def report(metrics: dict) -> list[str]:
    sigmas = metrics["sigmas"]
    lines = [
        f"Mean density ratio on {metrics['num_examples']} test images after each epoch.",
        "",
        "| model | σ | first epoch → last epoch |",
        "|---|---|---|",
    ]
    for name, run in metrics["runs"].items():
        for i, s in enumerate(sigmas):
            series = [m[i] for m in run["mean"]]
            if series:
                lines.append(f"| {name} | {s:g} | {series[0]:.3g} → {series[-1]:.3g} |")
    return lines
