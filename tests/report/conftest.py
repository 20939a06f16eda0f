"""Fixtures of the CI report tests (documents built in report_summaries)."""

from __future__ import annotations

from typing import Any

import pytest
import xmlschema
from junit_helpers import junit_schema
from report_summaries import example_summary
from report_summaries import mixed_summary as build_mixed_summary


@pytest.fixture
def summary() -> dict[str, Any]:
    return example_summary()


@pytest.fixture
def mixed_summary() -> dict[str, Any]:
    return build_mixed_summary()


@pytest.fixture(scope="session")
def schema() -> xmlschema.XMLSchema:
    """The JUnit XSD GitLab and Jenkins accept, with the testcase file/line attributes."""
    return junit_schema()
