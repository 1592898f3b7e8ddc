"""GAN-test (Shmelkov et al., 2018): how often independently trained classifiers, the judges,
label the samples of ``samples`` as the class they were drawn for, with Wilson intervals, and
paired differences to the reference model's samples (sample ``i`` of every model starts from
the same noise with the same class).

Several judges may be given, e.g. a plain classifier and one trained to resist adversarial
perturbations: gradient ascent on one network's logit is an adversarial attack on it, and it
can transfer to a plain judge, which then accepts samples that look like nothing (the samples
"overshoot": their f_y far above real images'). Each judge is reported with how often it
accepts pure noise (the uniform noise the samples start from) and its accuracy on real test
images; the headline judge, the one verdicts read, is the last given (the robust one in the
studies). With ``samples.snapshots``, the GAN-test is also a curve over ascent steps.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from gradjax.evaluation.claims import Verdict
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.report_format import MISSING, interval, pct_interval, verdict_cell
from gradjax.evaluation.stats import paired_difference, proportion
from gradjax.paper import TABLE1
from gradjax.training.accuracy import make_eval_step, score_split
from gradjax.training.batches import slices


@dataclasses.dataclass(frozen=True)
class Settings:
    """No constants: the samples and the judges come from ``samples`` and the context."""


def _correct(judge_fn, x: np.ndarray, y: np.ndarray, batch_size: int) -> np.ndarray:
    return np.concatenate(
        [
            np.asarray(jnp.argmax(judge_fn(jnp.asarray(xb)), -1)) == yb
            for xb, yb in slices(x, y, size=batch_size)
        ]
    )


def _judge(ctx: EvalContext, judge, samples: dict) -> tuple[dict, dict]:
    """One judge's description and its per-sample correctness on every run's samples."""
    fn = jax.jit(judge.logits_fn())
    size = ctx.common.batch_size
    data = ctx.dataset
    real = score_split(
        make_eval_step(judge.apply_fn), judge.params, data.test_images, data.test_labels, size
    )
    noise = next(iter(samples.values()))["noise"]
    about = {
        "model": judge.config.model.name,
        "objective": judge.config.objective.name,
        "test_accuracy": proportion(real.correct),
        "noise_acceptance": proportion(_correct(fn, *noise, size)),
    }
    correct = {}
    for name, kinds in samples.items():
        correct[name] = {
            "generated": _correct(fn, *kinds["generated"], size),
            "denoised": _correct(fn, *kinds["denoised"], size),
            "by_steps": {s: _correct(fn, *xy, size) for s, xy in kinds["by_steps"].items()},
        }
    return about, correct


def _summary(correct: dict, reference: dict | None, seed: int) -> dict:
    """Proportions (and, against ``reference``, paired differences) of one run's correctness."""

    def one(c, r):
        return proportion(c) if r is None else paired_difference(c, r, seed=seed)

    r = reference or {"generated": None, "denoised": None, "by_steps": {}}
    return {
        "generated": one(correct["generated"], r["generated"]),
        "denoised": one(correct["denoised"], r["denoised"]),
        "by_steps": {str(s): one(c, r["by_steps"].get(s)) for s, c in correct["by_steps"].items()},
    }


def measure(ctx: EvalContext, settings: Settings) -> Result:
    samples = ctx.results["samples"].artifacts["samples"]
    ref, seed = ctx.reference.name, ctx.common.seed
    metrics = {"reference": ref, "judges": {}, "runs": {}, "difference": {}}
    per_image = {}
    for judge_name, judge in ctx.judges.items():
        about, correct = _judge(ctx, judge, samples)
        metrics["judges"][judge_name] = about
        for name, c in correct.items():
            metrics["runs"].setdefault(name, {})[judge_name] = _summary(c, None, seed)
            per_image[f"{name}/{judge_name}/generated"] = c["generated"]
            if name != ref:
                metrics["difference"].setdefault(name, {})[judge_name] = _summary(
                    c, correct[ref], seed
                )
    metrics["headline_judge"] = list(ctx.judges)[-1]
    return Result(metrics, per_image=per_image)


def generated(metrics: dict, run: str, judge: str | None = None) -> dict | None:
    """A run's GAN-test from noise by ``judge`` (default: the headline one); ``None`` if
    absent. Reads the single-classifier layout of earlier evaluations too."""
    if "judges" not in metrics:
        return metrics["runs"].get(run, {}).get("generated")
    judge = judge or metrics["headline_judge"]
    return metrics["runs"].get(run, {}).get(judge, {}).get("generated")


def report(metrics: dict) -> list[str]:
    lines = []
    for judge, about in metrics["judges"].items():
        headline = " (headline)" if judge == metrics["headline_judge"] else ""
        lines += [
            f"**Judge {judge!r}{headline}**: {about['model']} trained with "
            f"{about['objective']}; {pct_interval(about['test_accuracy'])}% on real test "
            f"images; accepts {pct_interval(about['noise_acceptance'])}% of pure noise (chance: "
            "one class in the number of classes).",
            "",
            "| model | GAN-test from noise (%) | Δ vs reference (points) | verdict "
            "| GAN-test denoised (%) | Δ vs reference (points) |",
            "|---|---|---|---|---|---|",
        ]
        for name, by_judge in metrics["runs"].items():
            mine = by_judge[judge]
            diff = metrics["difference"].get(name, {}).get(judge)
            cells = [name, pct_interval(mine["generated"])]
            if diff is None:
                cells += ["(reference)", "", pct_interval(mine["denoised"]), ""]
            else:
                cells += [
                    interval(diff["generated"], scale=100),
                    verdict_cell(diff["generated"]),
                    pct_interval(mine["denoised"]),
                    interval(diff["denoised"], scale=100),
                ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    steps = sorted(
        {s for r in metrics["runs"].values() for j in r.values() for s in j["by_steps"]}, key=int
    )
    if len(steps) > 1:
        lines += [
            "GAN-test from noise (%) after each number of ascent steps, by judge:",
            "",
            "| model | judge | " + " | ".join(f"{s} steps" for s in steps) + " |",
            "|---|---|" + "---|" * len(steps),
        ]
        for name, by_judge in metrics["runs"].items():
            for judge, mine in by_judge.items():
                cells = [
                    pct_interval(mine["by_steps"][s]) if s in mine["by_steps"] else MISSING
                    for s in steps
                ]
                lines.append(f"| {name} | {judge} | " + " | ".join(cells) + " |")
    return lines


def quantities(metrics: dict) -> dict:
    """``gan_test``: each run's GAN-test from noise by the headline judge (the single
    classifier of earlier evaluations), with its interval and paired difference."""
    out = {}
    for name in metrics["runs"]:
        mine = generated(metrics, name)
        if mine is None:
            continue
        if "judges" in metrics:
            diff = metrics["difference"].get(name, {}).get(metrics["headline_judge"])
        else:
            diff = metrics["difference"].get(name)
        out[name] = {
            "value": mine["value"],
            "image": mine,
            "difference": diff and diff["generated"],
        }
    return {"gan_test": out}


VERDICTS = tuple(
    Verdict(
        "samples",
        f"{objective}: GAN-test of samples from noise {'lower' if sign < 0 else 'higher'} than "
        "the baseline's (headline judge)",
        "gan_test",
        objective,
        sign,
        scale=100,
        unit=" points",
        paper=f"{TABLE1[objective].gan_test - TABLE1['baseline'].gan_test:+.2f} points",
    )
    for objective, sign in (
        ("score-matching", +1),
        ("gradient-norm", +1),
        ("anti-score-matching", -1),
    )
)
