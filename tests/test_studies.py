"""Studies: specs are checked, the work left is planned against a budget, and a study runs in
goes that each leave their stages done, records where every number came from and skips what is
done; on small digits models."""

import dataclasses
import json
import math

import pytest

from gradjax.cli import reproduce
from gradjax.evaluation.context import Common
from gradjax.evaluation.measurements import samples
from gradjax.studies.builders import judges, objective_runs, paper_objectives, with_run
from gradjax.studies.index import index_lines
from gradjax.studies.plan import Work, epochs_that_fit, fitting, pending_work
from gradjax.studies.registry import STUDIES
from gradjax.studies.runner import Go, run_study
from gradjax.studies.score_matching_studies import DIGITS
from gradjax.studies.spec import At, Stage, Study
from gradjax.training.config import ModelConfig
from gradjax.training.rundir import RunDir

BASE = with_run(DIGITS, epochs=2)
TWO = {k: v for k, v in paper_objectives().items() if k in ("baseline", "gradient-norm")}
RUNS = {
    **objective_runs(BASE, TWO, [0, 1]),
    **judges(BASE, ModelConfig("mlp"), plain_epochs=1, robust_epochs=1),
}
STAGES = (
    Stage(
        "seed0",
        ("baseline-seed0", "gradient-norm-seed0"),
        ("accuracy", "density", "samples", "gan-test"),
        judges=("judge-plain", "judge-robust"),
        settings={"samples": samples.Settings(samples_per_class=2, steps=4, snapshots=(2,))},
        common=Common(num_examples=60),
        epoch=1,
        expected_seconds=5,
    ),
    Stage(
        "seed1",
        ("baseline-seed1", At("gn", "gradient-norm-seed1")),
        ("accuracy", "density"),
        common=Common(num_examples=60),
        expected_seconds=5,
    ),
)
TINY = Study(
    "tiny",
    "a question",
    RUNS,
    STAGES,
    claims=("density",),
    summary="seeds",
    epoch_seconds={"baseline": 1.0, "gradient-norm": 1.0, "adversarial": 1.0},
)


def test_specs_refuse_unknown_claims_repeated_stages_and_untrained_runs():
    with pytest.raises(ValueError, match="unknown claims"):
        dataclasses.replace(TINY, claims=("no-such-claim",))
    with pytest.raises(ValueError, match="repeats a stage"):
        dataclasses.replace(TINY, stages=(STAGES[0], STAGES[0]))
    with pytest.raises(ValueError, match="does not train.*'nope'"):
        dataclasses.replace(TINY, stages=(Stage("s", ("nope",), ("accuracy",)),))
    # Runs are read at the latest epoch a stage asks for; judges whole.
    assert STAGES[0].trained_runs() == {
        "judge-plain": None,
        "judge-robust": None,
        "baseline-seed0": 1,
        "gradient-norm-seed0": 1,
    }
    assert STAGES[1].evaluated()[1] == At("gn", "gradient-norm-seed1", None)


def test_every_registered_study_builds_and_its_runs_train_seed_by_seed():
    for name, study in STUDIES.items():
        assert study.name == name and study.stages
        configs = study.configs("d" if study.needs_data_dir else None)
        assert set(configs) == set(study.runs)
    seeds = STUDIES["mnist5k-seeds"]
    order = list(seeds.runs)
    assert order[:4] == [f"{o}-seed0" for o in paper_objectives()]
    assert {seeds.runs[f"baseline-seed{k}"].run.seed for k in range(5)} == set(range(5))
    dynamics = STUDIES["mnist5k-dynamics"]
    assert {c.run.epochs for n, c in dynamics.runs.items() if "judge" not in n} == {150}


def test_the_budget_takes_the_pieces_that_fit_and_cuts_training_to_whole_epochs():
    work = [Work("train", "a", 40.0, 0, 4), Work("evaluate", "s", 30.0), Work("train", "b", None)]
    taken, seconds = fitting(work, 100.0)
    assert taken == work[:2] + [work[2]] and seconds == 70.0  # no estimate: taken
    taken, seconds = fitting(work, 25.0)
    assert taken == [Work("train", "a", 20.0, 0, 2)] and seconds == 20.0
    assert fitting(work, 5.0) == ([], 0.0)
    assert fitting(work, None)[0] == work


def test_epochs_that_fit_match_a_brute_force_count():
    per_epoch = {"a": 2.0, "b": 10.0, "c": 3.5}
    for budget in (20.0, 100.0, 777.0):
        brute = max(
            [e for e in range(1, 1000) if 50.0 + e * sum(per_epoch.values()) * 1.2 <= budget],
            default=1,
        )
        assert epochs_that_fit(per_epoch, budget, evaluation=50.0) == brute
    with pytest.raises(ValueError):
        epochs_that_fit({}, 10.0, 0.0)


def test_pending_work_trains_each_run_to_what_its_stages_read(tmp_path):
    work = pending_work(TINY, TINY.configs(), list(TINY.stages), tmp_path, {})
    kinds = [(w.kind, w.name, w.until) for w in work]
    assert kinds[:5] == [
        ("train", "judge-plain", 1),
        ("train", "judge-robust", 1),
        ("train", "baseline-seed0", 1),
        ("train", "gradient-norm-seed0", 1),
        ("evaluate", "seed0", 0),
    ]
    assert ("train", "baseline-seed1", 2) in kinds and kinds[-1] == ("evaluate", "seed1", 0)


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    go = Go(
        TINY,
        root / "runs",
        root / "results" / "tiny",
        "python -m gradjax.reproduce tiny",
        progress=False,
    )
    # A first go with a budget that fits the first stage only (its estimates: 5 s each).
    first = run_study(go, budget=12.0)
    return go, first


def test_a_go_leaves_its_stages_done_with_their_provenance(ran):
    go, first = ran
    assert first is False  # the budget left the second stage for a later go
    record = json.loads(go.record_path.read_text())
    assert list(record["stages"]) == ["seed0"]
    stage = record["stages"]["seed0"]
    for key in ("digest", "commit", "dirty", "command", "versions", "devices", "seconds", "date"):
        assert key in stage, key
    assert stage["command"] == "python -m gradjax.reproduce tiny"
    assert stage["versions"]["jax"] and stage["devices"]["count"] >= 1
    assert record["study"]["claims"] == ["density"]
    metrics = json.loads((go.out / "seed0" / "metrics.json").read_text())
    assert metrics["runs"]["baseline-seed0"]["run"] == "baseline-seed0"  # no machine path
    assert metrics["runs"]["baseline-seed0"]["epoch"] == 1
    assert (go.out / "runs" / "baseline-seed0" / "metrics.jsonl").exists()  # training record


def test_the_next_go_skips_what_is_done_and_retrains_lost_runs_the_same(ran):
    go, _ = ran
    before = (go.out / "seed0" / "metrics.json").read_bytes()
    # The first go cut gradient-norm-seed1's training to the epochs that fit; this one resumes.
    assert len(RunDir(go.runs_dir / "gradient-norm-seed1").epoch_records()) == 1
    assert run_study(go) is True
    assert (go.out / "seed0" / "metrics.json").read_bytes() == before  # not evaluated again
    summary = (go.out / "summary.md").read_text()
    assert "| 2 |" in summary and "gradient-norm" in summary  # two seeds per verdict
    # The stage's runs lost (a machine emptied): evaluated again after retraining, same numbers.
    done = json.loads((go.out / "seed1" / "metrics.json").read_text())
    import shutil

    shutil.rmtree(go.runs_dir)
    record = json.loads(go.record_path.read_text())
    del record["stages"]["seed1"]
    go.record_path.write_text(json.dumps(record))
    assert run_study(go) is True
    again = json.loads((go.out / "seed1" / "metrics.json").read_text())
    assert again["measurements"] == done["measurements"]


def test_the_index_lists_every_study_with_its_command(ran, tmp_path):
    go, _ = ran
    lines = index_lines({"tiny": TINY, **STUDIES}, go.out.parent)
    tiny = next(line for line in lines if line.startswith("| [tiny]"))
    assert "`python -m gradjax.reproduce tiny`" in tiny and "2 of 2 stages" in tiny
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| study")]
    assert len(rows) == len(STUDIES) + 1
    # A study not run here has no directory to link to.
    cifar = next(line for line in rows if line.startswith("| cifar10-6ep |"))
    assert "--data-dir DATA" in cifar and "not run" in cifar


def test_the_command_line_lists_refuses_and_reports(capsys, tmp_path):
    assert reproduce.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in STUDIES)
    with pytest.raises(SystemExit):
        reproduce.main(["no-such-study"])
    with pytest.raises(SystemExit):
        reproduce.main(["cifar10-6ep"])
    assert "needs --data-dir" in capsys.readouterr().err
    out = tmp_path / "out"
    code = reproduce.main(["mnist5k", "--runs-dir", str(tmp_path), "--out", str(out), "--status"])
    text = capsys.readouterr().out
    assert code == 0 and "stage paper: to do" in text and "left:" in text
    assert math.isfinite(float(text.split("left: ")[1].split(" min")[0]))


@pytest.mark.slow  # half a minute; the side-by-side plan serves the accelerator studies
def test_a_device_plan_trains_its_runs_side_by_side_as_train_py_would(tmp_path):
    study = dataclasses.replace(TINY, stages=(STAGES[1],), side_by_side=True, summary=None)
    go = Go(study, tmp_path / "runs", tmp_path / "results" / "tiny", "side", progress=False)
    assert run_study(go) is True
    record = json.loads(go.record_path.read_text())
    assert set(record["runs"]) == {"baseline-seed1", "gradient-norm-seed1"}
    for name in record["runs"]:
        assert record["runs"][name]["epochs"] == 2 and "failed" not in record["runs"][name]
        assert (go.runs_dir / f"{name}.log").exists()
    # The same runs as one process after another: the same parameters.
    sequential = Go(
        dataclasses.replace(study, side_by_side=False),
        tmp_path / "one-by-one",
        tmp_path / "results2" / "tiny",
        "seq",
        progress=False,
    )
    run_study(sequential)
    a = json.loads((go.out / "seed1" / "metrics.json").read_text())["measurements"]
    b = json.loads((sequential.out / "seed1" / "metrics.json").read_text())["measurements"]
    assert a == b


def test_stages_of_a_variant_are_judged_apart():
    from gradjax.studies.seed_summary import VARIANT

    assert VARIANT.match("seed3-normalised")["variant"] == "normalised"
    for plain in ("seed0", "seed0/perturbation-2000", "9ep-anti-clipped", "grid"):
        assert VARIANT.match(plain) is None
