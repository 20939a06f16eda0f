"""Golden receipt sets: byte-for-byte expectations of the runner, rewritten only by ``make golden``."""
