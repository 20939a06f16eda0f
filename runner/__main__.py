"""``python -m runner`` is ``velikey-e2e``."""

from runner._entry import main

main()
