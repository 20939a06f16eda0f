"""``python -m runner`` is ``velikey-e2e``."""

import os
import signal
import sys

# Until the run installs its own handlers, SIGTERM stops the runner as Ctrl-C does (exit 130).
signal.signal(signal.SIGTERM, signal.default_int_handler)
try:
    from runner.cli import main
except KeyboardInterrupt:
    # Stopped while Python loads the runner: nothing ran, nothing was written. os._exit because
    # CPython turns a KeyboardInterrupt caught after it passed through exec'd code (dataclasses)
    # into death by SIGINT at exit, whatever exit code was asked for.
    sys.stderr.write("interrupted before the run started: no receipts written\n")
    os._exit(130)

main()
