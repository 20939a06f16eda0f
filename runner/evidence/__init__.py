"""Turn the engine's raw results into receipt documents; the one place the redactor runs."""
