"""report.md's tables and figures, and the seed-partner yardstick of accuracy over training,
from hand-made metrics."""

import dataclasses

import numpy as np
import pytest

from gradjax.evaluation.claims import judge_all
from gradjax.evaluation.measurements import (
    MEASUREMENTS,
    accuracy_epochs,
)
from gradjax.evaluation.seeds import seed_partner
from gradjax.evaluation.stats import (
    mcnemar_p,
    paired_difference,
    wilson_interval,
)
from gradjax.training.config import (
    ObjectiveConfig,
    RunConfig,
    TrainConfig,
)


def _run_config(objective: str, seed: int) -> dict:
    return dataclasses.asdict(
        TrainConfig(objective=ObjectiveConfig(objective), run=RunConfig(seed=seed))
    )


def test_seed_partner_is_the_run_differing_only_in_seed():
    configs = {
        "baseline": _run_config("baseline", 0),
        "score-matching": _run_config("score-matching", 0),
        "sm-seed1": _run_config("score-matching", 1),
        "baseline-seed1": _run_config("baseline", 1),
    }
    assert seed_partner(configs, "baseline") == "baseline-seed1"
    assert seed_partner(configs, "score-matching") == "sm-seed1"
    longer = {**configs["baseline"], "run": {**configs["baseline"]["run"], "seed": 1, "epochs": 9}}
    assert seed_partner({"baseline": configs["baseline"], "other": longer}, "baseline") is None
    with pytest.raises(KeyError, match="reference run 'gone'"):
        seed_partner(configs, "gone")


def test_accuracy_epochs_report_holds_each_difference_against_the_seed_pair():
    def run(*diffs):  # accuracy differences at epochs 1, 2, 3, intervals ±0.001
        by_epoch = [{"value": v, "low": v - 0.001, "high": v + 0.001} for v in diffs]
        return {"difference": {"epochs": [1, 2, 3], "by_epoch": by_epoch}}

    runs = {
        "baseline": {},
        # Beyond the seeds at epoch 1; covers 0 at 2; excludes 0 but is within the seeds' at 3.
        "anti": run(-0.02, 0.0, 0.005),
        "seed1": run(0.01, -0.03, -0.008),
    }
    lines = accuracy_epochs._yardstick_lines("baseline", "seed1", runs)
    assert "reaches -3.00 points (epoch 2) and excludes 0 at 3 of 3 epochs" in lines[1]
    assert lines[-1] == "* anti: epoch 1"
    runs["anti"] = run(-0.02, -0.05, 0.005)  # beyond the seeds at epochs 1 and 2
    assert accuracy_epochs._yardstick_lines("baseline", "seed1", runs)[-1] == "* anti: epochs 1, 2"
    runs["anti"] = run(0.0, 0.0, 0.0)
    assert accuracy_epochs._yardstick_lines("baseline", "seed1", runs)[-1] == "* anti: none"
    assert accuracy_epochs._yardstick_lines("baseline", None, runs) == []


def test_fooling_intervals_are_paired_over_the_same_images_and_decide_the_verdicts():
    from gradjax.evaluation.maths.saliency_fooling import fine_tune_summary

    rng = np.random.default_rng(0)
    n, t = 400, "loss_gradient_T1000"
    base = rng.uniform(0.1, 0.3, n)  # per-image energy before, shared by every kind
    before = {k: base for k in ("logit_gradient", "loss_gradient", t)}
    before["accuracy"] = rng.random(n) < 0.8

    def after(loss_rise):
        wobble = rng.normal(0, 0.02, n)
        return {
            "logit_gradient": base + 0.6 + wobble,
            "loss_gradient": base + loss_rise + wobble,
            t: base + 0.6 + wobble,
            "accuracy": before["accuracy"] & (rng.random(n) < 0.5),
        }

    resisting = after(0.05)
    tune = fine_tune_summary(before, resisting, t, seed=0)
    # Values are the plain per-image means, recomputed here.
    np.testing.assert_allclose(tune["before"]["loss_gradient"]["value"], base.mean())
    np.testing.assert_allclose(
        tune["rise"]["loss_gradient"]["value"], np.mean(resisting["loss_gradient"] - base)
    )
    np.testing.assert_allclose(
        tune["loss_rise_minus_half_logit_rise"]["value"],
        np.mean(resisting["loss_gradient"] - base)
        - 0.5 * np.mean(resisting["logit_gradient"] - base),
    )
    lost = int(np.sum(before["accuracy"] & ~resisting["accuracy"]))
    change = tune["accuracy_change"]
    np.testing.assert_allclose(change["value"], -lost / n)
    np.testing.assert_allclose(
        change["mcnemar_p"], mcnemar_p(resisting["accuracy"], before["accuracy"])
    )
    np.testing.assert_allclose(
        [tune["after"]["accuracy"][k] for k in ("low", "high")],
        wilson_interval(int(resisting["accuracy"].sum()), n),
    )
    # Pairing: the before-to-after spread of the images' energies (sd 0.06) cancels, leaving the
    # wobble (sd 0.02): the paired interval is about a third of an unpaired one's width.
    rise = tune["rise"]["loss_gradient"]
    unpaired = 2 * 1.96 * np.sqrt(2 * base.var() / n)
    assert rise["high"] - rise["low"] < 0.5 * unpaired
    # The bootstrap resamples with the evaluation's seed, as every other paired interval does.
    reseeded = fine_tune_summary(before, resisting, t, seed=1)["rise"]["loss_gradient"]
    assert reseeded == paired_difference(resisting["loss_gradient"], base, seed=1)
    assert reseeded["low"] != rise["low"]

    def verdicts(tune):
        metrics = {
            "runs": {"base": {"config": _run_config("baseline", 0)}},
            "measurements": {
                "fooling": {
                    "shift": {
                        "original": {"accuracy": 0.8},
                        "shifted": {"accuracy": 0.8, "logit_gradient_cosine_to_pattern": 1.0},
                    },
                    "fine_tune": {**tune, "model": "base"},
                }
            },
        }
        return [row.outcome for row in judge_all([metrics], MEASUREMENTS)]

    # One seed: each verdict is indicative, read from the image-level interval (the shift has
    # none: a single number).
    one_seed = "indicative ({}, one seed)"
    assert verdicts(tune) == [
        "indicative: one seed, no interval",
        one_seed.format("reproduced"),
        one_seed.format("reproduced"),
    ]
    # Loss-gradients that rise as much as logit-gradients: the resistance claim is contradicted,
    # and a tempered rise equal to the loss-gradients' is no difference.
    equal = after(0.6)
    equal[t] = equal["loss_gradient"]
    assert verdicts(fine_tune_summary(before, equal, t, seed=0))[1:] == [
        one_seed.format("against the paper"),
        one_seed.format("no difference detected"),
    ]


def test_sweep_table_places_each_run_in_its_lambda_mu_cell():
    from gradjax.evaluation.report import sweep_table

    def run(name, lam, mu):
        return {"config": {"objective": {"name": name, "lam": lam, "mu": mu}}}

    def rec(v):
        return {"value": v, "low": v, "high": v}

    runs = {"base": run("baseline", None, 1e-4), "a": run("score-matching", 1e-3, 1e-4)}
    runs["b"] = run("score-matching", 1e-5, 1e-2)
    metrics = {
        "runs": runs,
        "measurements": {
            "accuracy": {"runs": {"base": rec(0.9), "a": rec(0.912), "b": rec(0.934)}},
            "density": {
                "sigmas": [0.1, 0.5],
                "headline_sigma": 0.5,
                "runs": {n: {"value": [0.0, v]} for n, v in (("base", -1), ("a", -2.5), ("b", -7))},
            },
        },
    }
    lines = sweep_table(metrics)
    assert lines[2] == "| λ \\ μ | 0.0001 | 0.01 |"
    assert lines[4] == "| 1e-05 | – | 93.4 / – / -7 |"
    assert lines[5] == "| 0.001 | 91.2 / – / -2.5 | – |"


def test_estimator_table_has_one_row_per_score_matching_run_sorted_by_estimator_and_seed():
    from gradjax.evaluation.report import estimator_table

    def run(name, estimator, seed):
        return {
            "config": {"objective": {"name": name, "estimator": estimator}, "run": {"seed": seed}}
        }

    runs = {"base": run("baseline", "taylor", 0), "t1": run("score-matching", "taylor", 1)}
    runs |= {"t0": run("score-matching", "taylor", 0), "h0": run("score-matching", "hutchinson", 0)}
    accuracy = {"runs": {n: {"value": v} for n, v in (("t1", 0.5), ("t0", 0.25), ("h0", 0.75))}}
    lines = estimator_table({"runs": runs, "measurements": {"accuracy": accuracy}})
    assert [line.split(" | ")[:4] for line in lines[4:]] == [
        ["| hutchinson", "0", "h0", "75.00"],
        ["| taylor", "0", "t0", "25.00"],
        ["| taylor", "1", "t1", "50.00"],
    ]
    assert lines[4].endswith("| – | – | – | – | – |")
    one_estimator = {n: r for n, r in runs.items() if n != "h0"}
    assert estimator_table({"runs": one_estimator, "measurements": {}}) == []


def test_paper_table_sets_each_paper_objective_beside_the_papers_numbers():
    from gradjax.evaluation.report import paper_table
    from gradjax.evaluation.report_format import MISSING
    from gradjax.paper import TABLE1

    def rec(v):
        return {"value": v, "low": v - 0.01, "high": v + 0.01}

    runs = {
        n: {"config": {"objective": {"name": o}}}
        for n, o in (("b", "baseline"), ("sm", "score-matching"), ("extra", "no-such-objective"))
    }
    sigmas = [0.1, 0.5]
    measurements = {
        "accuracy": {"runs": {"b": rec(0.9), "sm": rec(0.8), "extra": rec(0.7)}},
        "density": {
            "sigmas": sigmas,
            "headline_sigma": 0.5,
            "runs": {
                n: {k: [0.0, v[k]] for k in v} for n, v in (("b", rec(-1.0)), ("sm", rec(-3.0)))
            },
            "difference": {"sm": {k: [0.0, v] for k, v in rec(-2.0).items()}},
        },
    }
    lines = paper_table({"runs": runs, "measurements": measurements})
    rows = [line.split(" | ") for line in lines[4:]]
    assert [r[0] for r in rows] == ["| b", "| sm"]  # only the paper's objectives, in run order
    assert rows[1][1:4] == [
        f"{TABLE1['score-matching'].accuracy:.2f}",
        f"{TABLE1['score-matching'].gan_test:.2f}",
        "80.00 [79.00, 81.00]",
    ]
    assert rows[1][4:6] == ["-3 [-3.01, -2.99]", "-2 [-2.01, -1.99]"]
    assert rows[0][5] == MISSING and rows[1][6] == MISSING  # the reference's Δ; no GAN-test
    # A further seed of a run gets its own row; a sweep (an objective at two settings) and a
    # single objective get no table.
    seed1 = {"config": {"objective": {"name": "baseline"}, "run": {"seed": 1}}}
    replicated = paper_table(
        {"runs": dict(runs, **{"b-seed1": seed1}), "measurements": measurements}
    )
    assert [line.split(" | ")[0] for line in replicated[4:]] == ["| b", "| sm", "| b-seed1"]
    sweep = dict(runs, sm2={"config": {"objective": {"name": "score-matching", "mu": 1e-3}}})
    assert paper_table({"runs": sweep, "measurements": measurements}) == []
    alone = {"b": runs["b"]}
    assert paper_table({"runs": alone, "measurements": measurements}) == []


def test_training_h_figure_draws_every_run_on_its_own_steps(tmp_path, monkeypatch):
    # A 4-epoch and a 12-epoch run, and the 12-epoch run evaluated at its epoch-4 checkpoint:
    # each line on its own logged steps, the early-epoch one stopping at its checkpoint.
    from types import SimpleNamespace

    from gradjax.evaluation.measurements import score_matching_objective as smo

    def run(name, logged_steps, epoch=None, epoch_steps=()):
        log = [{"kind": "train", "step": s, "h": -float(s)} for s in logged_steps]
        log.append({"kind": "epoch", "step": logged_steps[-1], "epoch": 1})
        rundir = SimpleNamespace(metrics=lambda: log)
        return SimpleNamespace(name=name, rundir=rundir, epoch=epoch, epoch_steps=list(epoch_steps))

    drawn = {}
    monkeypatch.setattr(
        smo.figures, "line_plot", lambda path, x, curves, **kw: drawn.update(curves) or path
    )
    short = run("short", [50, 100, 150, 200])
    long = run("long", list(range(50, 701, 50)))
    early = run("long-at4", list(range(50, 701, 50)), epoch=4, epoch_steps=[62, 124, 186, 248])
    smo._h_figure(SimpleNamespace(runs=[short, long, early], out=tmp_path))
    assert set(drawn) == {"short", "long", "long-at4"}
    np.testing.assert_array_equal(drawn["short"]["x"], [50, 100, 150, 200])
    np.testing.assert_array_equal(drawn["long"]["x"], np.arange(50, 701, 50))
    np.testing.assert_array_equal(drawn["long-at4"]["x"], [50, 100, 150, 200])
    np.testing.assert_array_equal(drawn["long-at4"]["mean"], [-50, -100, -150, -200])


def test_line_plot_gives_more_than_ten_curves_distinct_colours(tmp_path, monkeypatch):
    from gradjax.evaluation import figures

    seen = []
    save = figures._save
    monkeypatch.setattr(
        figures,
        "_save",
        lambda fig, path: (
            seen.extend(line.get_color() for line in fig.axes[0].lines) or save(fig, path)
        ),
    )
    curves = {f"run{i}": {"mean": np.arange(3.0) + i} for i in range(12)}
    figures.line_plot(tmp_path / "p.png", np.arange(3), curves, xlabel="x", ylabel="y", title="t")
    assert len(seen) == 12 and len(set(seen)) == 12


def test_line_plot_symlog_is_linear_within_one_and_logarithmic_beyond(tmp_path, monkeypatch):
    from gradjax.evaluation import figures

    axes = []
    save = figures._save
    monkeypatch.setattr(
        figures, "_save", lambda fig, path: axes.append(fig.axes[0]) or save(fig, path)
    )
    curves = {"a": {"mean": np.array([-100.0, -0.5, 0.5, 100.0])}}
    figures.line_plot(
        tmp_path / "p.png", np.arange(4), curves, xlabel="x", ylabel="y", title="t", yscale="symlog"
    )
    (ax,) = axes
    assert ax.get_yscale() == "symlog"
    to_display = ax.yaxis.get_transform().transform
    # Equal steps inside ±1 stay equal; from 10 to 100 takes what 1 to 10 takes.
    np.testing.assert_allclose(
        to_display(0.5) - to_display(0.0), to_display(0.0) - to_display(-0.5)
    )
    np.testing.assert_allclose(
        to_display(100.0) - to_display(10.0), to_display(10.0) - to_display(1.0), rtol=1e-6
    )
