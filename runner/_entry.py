"""The console entry point (``velikey-e2e``, ``python -m runner``): stops are orderly from the first instant.

The CLI is imported under ``control.loading`` (see ``runner.control``), so a Ctrl-C while Python
loads it ends the process with exit 130 instead of a traceback from inside some import.
"""

from __future__ import annotations

import os
import sys

from runner import control, heap


def main() -> None:
    heap.own()
    # ``import httpx`` tries ``from ._main import main`` (httpx's own command line), which loads
    # rich and pygments whenever they are installed (schemathesis brings them): ~50 ms of every
    # run's start-up for a command this process never calls. None in sys.modules makes that
    # import fail at once, and httpx falls back to its stub ``httpx.main``. Only here, in the
    # process the CLI owns: the SDK, imported by someone else's program, leaves httpx alone.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    # pydantic looks for plugins when it builds its first validator, reading the entry points of
    # every installed distribution (10-35 ms in a CI venv of ~75 packages); the CLI runs none, and a
    # plugin installed for the user's own code (a tracer) has no business in a release gate's run.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    with control.loading(), heap.long_lived():
        from runner.cli import main as cli_main
    cli_main()
