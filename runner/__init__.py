"""velikey-e2e: the deterministic end-to-end evidence runner for Axis + Aegis."""

__version__ = "0.1.0"
