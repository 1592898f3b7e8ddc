"""The study directory's lock, against real processes: a holder, a refused second, a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from gradjax.studies.lock import StudyInUseError, exclusive, holder

HOLD = """
import sys, time
from gradjax.studies.lock import exclusive
with exclusive(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def other_process(tmp_path):
    """A second process holding ``tmp_path``'s lock; yields it once it holds it."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


def test_a_second_process_is_refused_and_told_who_holds_it(other_process, tmp_path):
    assert holder(tmp_path) == other_process.pid
    with pytest.raises(StudyInUseError, match=f"pid {other_process.pid}"):
        with exclusive(tmp_path):
            pass
    assert holder(tmp_path) == other_process.pid  # looking did not take it


def test_a_killed_holder_leaves_no_stale_lock(other_process, tmp_path):
    os.kill(other_process.pid, signal.SIGKILL)
    other_process.wait()
    assert holder(tmp_path) is None
    with exclusive(tmp_path):
        assert holder(tmp_path) == os.getpid()
    assert holder(tmp_path) is None


def test_no_lock_file_means_nobody(tmp_path):
    assert holder(tmp_path / "not-yet") is None
    with exclusive(tmp_path / "not-yet"):  # makes the directory
        assert holder(tmp_path / "not-yet") == os.getpid()
    assert (tmp_path / "not-yet" / "reproduce.lock").exists()


def test_reproduce_refuses_a_study_in_use(other_process, tmp_path, capsys):
    from gradjax import reproduce

    argv = ["mnist5k", "--runs-dir", str(tmp_path)]
    for extra in ([], ["--background"]):
        with pytest.raises(SystemExit):
            reproduce.main(argv + extra)
        assert f"pid {other_process.pid}" in capsys.readouterr().err
    reproduce.main([*argv, "--status"])
    assert f"pid {other_process.pid} is working on it" in capsys.readouterr().out
