"""Test suite root: a package so that ``python -m tests.golden.regenerate`` (``make golden``) resolves here."""
