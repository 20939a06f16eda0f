"""CI-facing views of SUMMARY.json: JUnit XML and GitHub Actions workflow commands.

Each is a pure function of the summary document, so CI output is as deterministic as the receipts.
"""
