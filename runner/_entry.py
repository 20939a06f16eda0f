"""The console entry point (``velikey-e2e``, ``python -m runner``): stops are orderly from the first instant.

While Python loads the runner (about a second: FastAPI, pydantic), SIGINT and SIGTERM are held:
a KeyboardInterrupt raised inside an import can surface as another library's error (pydantic-core
wraps it in a SchemaError). One that arrived meanwhile is delivered as the mask lifts, and ends
the process with exit 130 and no receipts; SIGTERM behaves as Ctrl-C until the run's own handlers
take over, and an inherited "ignore SIGINT" is undone.
"""

from __future__ import annotations

import os
import signal
import sys

STOPS = {signal.SIGINT, signal.SIGTERM}


def exit_interrupted() -> None:
    """Exit 130 for an interruption before any receipt was written.

    ``os._exit`` after flushing: CPython turns a KeyboardInterrupt that passed through exec'd code
    into death by SIGINT at interpreter exit, whatever ``sys.exit`` asked for.
    """
    sys.stderr.write("interrupted before the run started: no receipts written\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


def main() -> None:
    # Both stops raise KeyboardInterrupt, even when the parent left SIGINT ignored (a background job
    # of a non-interactive shell, as CI runners start them): a release gate must always be stoppable.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    maskable = hasattr(signal, "pthread_sigmask")
    if maskable:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    try:
        from runner.cli import main as cli_main

        if maskable:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)
    except KeyboardInterrupt:
        exit_interrupted()
    cli_main()
