"""Execute planned scenarios: dry-run renders, live sends; failures are results, not exceptions."""
