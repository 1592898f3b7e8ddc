"""Carries out a study: trains what its unfinished stages need, evaluates them, records where
every number came from, and summarises.

Runs live under ``runs_dir`` (outside the work tree: checkpoints are not for committing);
results under ``out`` (``results/<study>`` by default). After each stage the study's
``study.json`` and the stage's ``metrics.json`` are complete on disk, so a go cut short by a
budget, a kill or a lost machine leaves everything it finished, and the same command later
continues from there: stages already done (same digest) are skipped without retraining, runs
are resumed from their checkpoints when those survived and trained again (deterministically,
from their seed) when they did not.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from gradjax.evaluation.runner import evaluate_runs
from gradjax.studies import provenance
from gradjax.studies.dynamics import dynamics_summary
from gradjax.studies.plan import Work, describe, fitting, pending_work
from gradjax.studies.seed_summary import seeds_summary
from gradjax.studies.side_by_side import train_side_by_side
from gradjax.studies.spec import Stage, Study, digest, stage_record
from gradjax.training.fit import fit
from gradjax.training.guards import NonFiniteLossError
from gradjax.training.rundir import RunDir

REPOSITORY = Path(__file__).resolve().parents[2]
# What a study concludes over its done stages (Study.summary names one).
SUMMARIES = {"seeds": seeds_summary, "dynamics": dynamics_summary}


@dataclasses.dataclass
class Go:
    """One invocation's context: where runs and results go, the command that was typed, how
    chatty to be."""

    study: Study
    runs_dir: Path
    out: Path
    command: str
    data_dir: str | None = None
    progress: bool = True
    say: Callable[[str], None] = print

    @property
    def record_path(self) -> Path:
        return self.out / "study.json"


def is_done(go: Go, stage: Stage, record: dict, configs) -> bool:
    """Whether ``stage``'s metrics exist and were made from the spec it has now."""
    past = record["stages"].get(stage.name)
    fresh = digest(stage_record(stage, configs))
    done = (go.out / stage.name / "metrics.json").exists()
    return bool(past) and past.get("digest") == fresh and done


def spec_record(study: Study) -> dict:
    """The study's description in study.json."""
    return {
        "name": study.name,
        "question": study.question,
        "claims": list(study.claims),
        "machine": study.machine,
        "side_by_side": study.side_by_side,
        "stages": [s.name for s in study.stages],
    }


def record_run(go: Go, name: str, record: dict, **extra) -> None:
    """Writes run ``name``'s entry in study.json: its epochs, accuracy and training time."""
    run = RunDir(go.runs_dir / name)
    epochs = run.epoch_records()
    record["runs"][name] = {
        "epochs": len(epochs),
        "test_accuracy": epochs[-1]["test_accuracy"] if epochs else None,
        **provenance.go_record(go.command, sum(r["epoch_seconds"] for r in epochs), REPOSITORY),
        **extra,
    }
    provenance.write(go.record_path, record)


def train(go: Go, name: str, config, until: int, record: dict) -> None:
    """Trains run ``name`` to the end of epoch ``until`` (resuming what survived), and records
    the go in study.json. A run that diverges is recorded as such and raises."""
    run = RunDir(go.runs_dir / name)
    stop = None if until >= config.run.epochs else until
    go.say(f"[study] {name}: training to epoch {until} of {config.run.epochs} in {run.path}")
    try:
        fit(config, run.path, resume=bool(run.steps()), progress=go.progress, stop_after_epoch=stop)
    except NonFiniteLossError as err:
        record_run(go, name, record, diverged=str(err))
        keep_training_record(go, name)
        raise
    record_run(go, name, record)


def train_together(go: Go, pieces: list[Work], configs, record: dict) -> None:
    """The device plan: every piece at once, one process each (:mod:`side_by_side`)."""
    go.say(f"[study] training side by side: {', '.join(p.name for p in pieces)}")
    codes = train_side_by_side(go.runs_dir, pieces, configs)
    for name, code in codes.items():
        log = go.runs_dir / f"{name}.log"
        record_run(go, name, record, **({} if code == 0 else {"failed": f"exit {code}, {log}"}))
    failed = sorted(name for name, code in codes.items() if code)
    if failed:
        raise RuntimeError(f"runs failed: {', '.join(failed)} (their logs in {go.runs_dir})")


def keep_training_record(go: Go, name: str) -> None:
    """Copies a run's ``config.json`` and ``metrics.jsonl`` (its training log: losses, h, test
    accuracy and wall time per epoch; no parameters) into ``<out>/runs/<name>/``."""
    source = RunDir(go.runs_dir / name)
    target = go.out / "runs" / name
    target.mkdir(parents=True, exist_ok=True)
    for path in (source.config_path, source.metrics_path):
        if path.exists():
            shutil.copyfile(path, target / path.name)


def evaluate(go: Go, stage: Stage, configs, record: dict) -> None:
    """Evaluates ``stage`` into ``<out>/<stage>/`` and records it in study.json."""
    go.say(f"[study] evaluating stage {stage.name}")
    started = time.perf_counter()
    evaluated = stage.evaluated()
    evaluate_runs(
        {at.label: go.runs_dir / at.run for at in evaluated},
        go.out / stage.name,
        judges={judge: go.runs_dir / judge for judge in stage.judges},
        measurements=stage.measurements,
        common=stage.common,
        settings=stage.settings,
        progress=go.progress,
        cache_dir=go.runs_dir / "evaluation-cache",
        epochs={at.label: at.epoch for at in evaluated if at.epoch is not None},
        run_names={at.label: at.run for at in evaluated} | {j: j for j in stage.judges},
    )
    for name in stage.trained_runs():
        keep_training_record(go, name)
    record["stages"][stage.name] = {
        "digest": digest(stage_record(stage, configs)),
        **provenance.go_record(go.command, time.perf_counter() - started, REPOSITORY),
    }
    provenance.write(go.record_path, record)


def _batches(planned: list[Work], together: bool) -> list[list[Work]]:
    """The pieces in order, consecutive training pieces grouped when they train together."""
    batches = []
    for piece in planned:
        joins = together and piece.kind == "train" and batches and batches[-1][0].kind == "train"
        if joins:
            batches[-1].append(piece)
        else:
            batches.append([piece])
    return batches


def run_study(go: Go, *, budget: float | None = None, epochs: int | None = None) -> bool:
    """Does what fits ``budget`` seconds of the study's remaining work (all of it for
    ``None``); ``epochs`` replaces every run's (a device plan's budgeted schedule). Returns
    whether the study is complete."""
    study = go.study
    configs = study.configs(go.data_dir, epochs)
    record = provenance.read(go.record_path)
    record["study"] = spec_record(study)
    if epochs is not None:
        record["study"]["epochs"] = epochs
    todo = [s for s in study.stages if not is_done(go, s, record, configs)]
    work = pending_work(study, configs, todo, go.runs_dir, record)
    planned, seconds = fitting(work, budget)
    go.say(f"[study] {study.name}: {len(todo)} of {len(study.stages)} stages to do")
    if work:
        go.say(f"[study] this go ({seconds / 60:.1f} min estimated):")
        for line in describe(planned):
            go.say(line)
        left = work[len(planned) :]
        if left:
            go.say(f"[study] left for a later go: {len(left)} pieces (the same command)")
    stages = {s.name: s for s in study.stages}
    diverged = []
    for batch in _batches(planned, study.side_by_side):
        if batch[0].kind == "evaluate":
            stage = stages[batch[0].name]
            blocked = sorted(set(stage.trained_runs()) & set(diverged))
            if blocked:
                go.say(f"[study] stage {stage.name} not evaluated: {', '.join(blocked)} diverged")
                continue
            evaluate(go, stage, configs, record)
        elif len(batch) > 1:
            train_together(go, batch, configs, record)
        elif batch[0].name not in diverged:
            try:
                train(go, batch[0].name, configs[batch[0].name], batch[0].until, record)
            except NonFiniteLossError as err:
                # Recorded in study.json with its training log; the rest of the study goes on.
                go.say(f"[study] {batch[0].name} diverged: {err}")
                diverged.append(batch[0].name)
    complete = len(planned) == len(work) and not diverged
    if study.summary:
        SUMMARIES[study.summary](study, go.out)
    provenance.write(go.record_path, record)
    if diverged:
        raise NonFiniteLossError(f"runs that diverged: {', '.join(diverged)} (see study.json)")
    return complete


__all__ = ["Go", "is_done", "run_study", "spec_record", "train", "evaluate"]
