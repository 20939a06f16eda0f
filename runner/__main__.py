"""``python -m runner`` is ``velikey-e2e``."""

import signal
import sys

# Until the run installs its own handlers, SIGTERM stops the runner as Ctrl-C does (exit 130).
signal.signal(signal.SIGTERM, signal.default_int_handler)
# While Python loads the runner, stop signals wait: a KeyboardInterrupt raised inside an import may
# surface as another library's error (pydantic-core wraps it in a SchemaError) or be swallowed.
# One that arrived meanwhile is delivered when the mask is lifted, inside this try.
_STOPS = {signal.SIGINT, signal.SIGTERM}
_MASKABLE = hasattr(signal, "pthread_sigmask")
if _MASKABLE:
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
try:
    from runner.cli import main

    if _MASKABLE:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)
except KeyboardInterrupt:
    sys.stderr.write("interrupted before the run started: no receipts written\n")
    sys.exit(130)

main()
