"""Start a gradjax command as several local processes that form one JAX runtime (for testing
multi-process training on one machine; on a cluster, use its launcher and ``--distributed``).

    python -m gradjax.launch --num-processes 2 -- train.py --dataset digits --workdir runs/mp

Picks a free port on 127.0.0.1 for the coordinator, passes it, the process count and each
process's index in the environment (:data:`gradjax.training.distributed.ENV`), forwards
every process's
output with a ``[rank N]`` prefix, and when one process fails, stops the others (SIGTERM, then
SIGKILL after ``--grace`` seconds) and exits with the failing process's status.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from gradjax.training.distributed import ENV


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _forward(rank: int, stream) -> None:
    for line in iter(stream.readline, ""):
        sys.stdout.write(f"[rank {rank}] {line}")
        sys.stdout.flush()


def _stop(processes, grace: float) -> None:
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in processes:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def launch(command: list[str], num_processes: int, *, grace: float = 10.0) -> int:
    """Runs ``python command...`` as ``num_processes`` processes; returns the exit status (0 when
    all succeed, else the first failure's)."""
    coordinator = f"127.0.0.1:{free_port()}"
    processes, threads = [], []
    for rank in range(num_processes):
        env = {
            **os.environ,
            ENV["coordinator"]: coordinator,
            ENV["num_processes"]: str(num_processes),
            ENV["process_id"]: str(rank),
        }
        p = subprocess.Popen(
            [sys.executable, *command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(p)
        t = threading.Thread(target=_forward, args=(rank, p.stdout), daemon=True)
        t.start()
        threads.append(t)
    first_failure = 0
    try:
        while True:
            # Poll every process each round (any() would stop at the first running one and
            # never notice a later rank's death).
            codes = [p.poll() for p in processes]
            failed = [(rank, code) for rank, code in enumerate(codes) if code]
            if failed:
                rank, code = failed[0]
                first_failure = code
                print(
                    f"[launch] rank {rank} exited with status {code}; stopping the other "
                    f"{num_processes - 1} process(es).",
                    file=sys.stderr,
                    flush=True,
                )
                _stop(processes, grace)
                break
            if all(code == 0 for code in codes):
                break
            time.sleep(0.1)
    except KeyboardInterrupt:
        _stop(processes, grace)
    for t in threads:
        t.join(timeout=5)
    # The failing rank's status, not that of the ranks the launcher stopped afterwards.
    return first_failure or next((p.returncode for p in processes if p.returncode), 0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-processes", type=int, required=True)
    parser.add_argument("--grace", type=float, default=10.0, help="seconds before SIGKILL")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- script.py args...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or args.num_processes < 1:
        parser.error("give --num-processes >= 1 and a command after --")
    return launch(command, args.num_processes, grace=args.grace)


if __name__ == "__main__":
    sys.exit(main())
