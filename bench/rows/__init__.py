"""One module per row of the issue's target table; each ``measure(bench)`` returns its table lines."""
