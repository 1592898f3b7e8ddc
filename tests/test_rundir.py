"""RunDir's view of which epochs have checkpoints, on a hand-written run directory."""

import json

import numpy as np
import orbax.checkpoint as ocp
import pytest

from gradjax.training.rundir import RunDir


def _hand_written_run(path, saved_steps, epoch_ends):
    """A run directory with checkpoints at ``saved_steps`` and epoch records
    ``{epoch: step}``, plus a train record per saved step (as training writes)."""
    run = RunDir(path)
    with run.checkpoints() as manager:
        for step in saved_steps:
            manager.save(step, args=ocp.args.StandardSave({"w": np.full(2, step, np.float32)}))
        manager.wait_until_finished()
    records = [{"kind": "train", "step": s} for s in saved_steps]
    records += [{"kind": "epoch", "epoch": e, "step": s} for e, s in epoch_ends.items()]
    run.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return run


def test_epoch_checkpoints_leave_out_mid_epoch_saves_and_dropped_epochs(tmp_path):
    # Epochs end at steps 10, 20, 30; step 25 is a mid-epoch save; epoch 2's checkpoint is gone.
    run = _hand_written_run(tmp_path, [10, 25, 30], {1: 10, 2: 20, 3: 30})
    assert run.steps() == [10, 25, 30]
    assert run.epoch_checkpoints() == {1: 10, 3: 30}
    assert run.epoch_steps() == [10, 30]
    assert run.epoch_step(3) == 30
    with pytest.raises(ValueError, match=r"no checkpoint of epoch 2 \(kept epochs: 1, 3\)"):
        run.epoch_step(2)


def test_a_run_without_checkpoints_keeps_no_epochs(tmp_path):
    run = RunDir(tmp_path)
    assert run.epoch_checkpoints() == {} and run.epoch_steps() == []
    with pytest.raises(ValueError, match=r"kept epochs: none"):
        run.epoch_step(1)


@pytest.mark.parametrize("torn", ['{"kind": "train", "step": 3, "accur', ""])
def test_metrics_are_the_newline_terminated_lines(tmp_path, torn):
    """A line still being written (or cut by a kill) is not read, and not an error."""
    records = [{"kind": "train", "step": 1}, {"kind": "epoch", "step": 2}]
    run = RunDir(tmp_path)
    with run.open_metrics() as log:
        log.write("".join(json.dumps(r) + "\n" for r in records) + torn)
    assert run.metrics() == records
    run.keep_metrics_until(2)
    assert run.metrics_path.read_text() == "".join(json.dumps(r) + "\n" for r in records)
    (tmp_path / "empty").mkdir()
    partial = RunDir(tmp_path / "empty")
    partial.metrics_path.write_text('{"kind": "tr')
    assert partial.metrics() == []
