"""Execute planned scenarios: dry-run renders, live sends; results are raw data, failures included."""
