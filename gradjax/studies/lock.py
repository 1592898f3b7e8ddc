"""One process at a time per study directory.

Two ``reproduce`` processes on the same runs directory (a second ``--background`` started by
mistake, a foreground command beside a background one) would write the same checkpoints and
evaluation cache. Each holds an exclusive ``flock`` on ``<runs-dir>/reproduce.lock`` while it
works; the file holds its pid, so a refused process and ``--status`` can say who holds it. The
operating system drops the lock when its process dies, however it dies: a killed run leaves no
stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = "reproduce.lock"


class StudyInUseError(RuntimeError):
    """Another process holds the study directory's lock."""


def holder(runs_dir: Path) -> int | None:
    """The pid of the process working in ``runs_dir``, or ``None`` if none is."""
    path = Path(runs_dir) / LOCK_NAME
    if not path.exists():
        return None
    with open(path) as handle:
        try:  # a shared lock: conflicts with the worker's, never with another look
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1  # held, pid not yet written
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


@contextlib.contextmanager
def exclusive(runs_dir: Path) -> Iterator[None]:
    """Holds ``runs_dir``'s lock for the ``with`` block.

    Raises:
      StudyInUseError: another process holds it (the message names its pid).
    """
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    with open(runs_dir / LOCK_NAME, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "unknown"
            raise StudyInUseError(
                f"{runs_dir} is in use by another reproduce process (pid {pid}); wait for it, "
                f"or stop it with `kill {pid}` and run the command again to resume"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


__all__ = ["StudyInUseError", "exclusive", "holder"]
