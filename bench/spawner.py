"""Starts the bench's measured commands from a small process, so each child's peak RSS is its own.

Linux begins a new process's peak resident size (``ru_maxrss``) at its parent's: a command the
bench process started itself (60 MiB with the reference server, 190 MiB once it had read a
10,000-step run's requests) could never read less than the bench. This process imports only
the standard library (about 10 MiB) and does nothing but run commands: one JSON job a line on
stdin (argv, env, cwd, timeout_s), one JSON answer a line on stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any


def _run(job: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    proc = subprocess.Popen(
        job["argv"],
        env=job["env"],
        cwd=job["cwd"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    timer = threading.Timer(job["timeout_s"], proc.kill)
    timer.start()
    assert proc.stderr is not None
    stderr = proc.stderr.read()  # drained while it runs, so a chatty child never blocks on a full pipe
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not RUSAGE_CHILDREN's running maximum
    timer.cancel()
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
        "returncode": proc.returncode,
        "stderr_tail": stderr.decode(errors="replace")[-2000:],
    }


def main() -> None:
    for line in sys.stdin:
        print(json.dumps(_run(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
