"""The console entry point (``velikey-e2e``, ``python -m runner``): stops are orderly from the first instant.

The CLI is imported under ``control.loading`` (see ``runner.control``), so a Ctrl-C while Python
loads it ends the process with exit 130 instead of a traceback from inside some import.
"""

from __future__ import annotations

from runner import control


def main() -> None:
    with control.loading():
        from runner.cli import main as cli_main
    cli_main()
