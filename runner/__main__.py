"""``python -m runner`` is ``velikey-e2e``."""

from runner.cli import main

main()
