"""Scenarios: the model, the strict loader (``file:line`` errors), lint and interpolation.

files --load_scenarios--> LoadResult(scenarios, errors, files) --planned()--> Planned(scenario, file)
"""

from __future__ import annotations

from .errors import ScenarioError, SourceLocation
from .interpolate import MISSING, InterpolationError, Reference, lookup, resolve
from .lint import lint
from .load import LoadResult, Planned, ScenarioFile, display_path, load_scenarios, receipt_name
from .model import (
    INPUT_NAMES,
    AnyStep,
    CallStep,
    Expectation,
    InputName,
    MeteringRange,
    MeteringSpec,
    MeteringStep,
    PayloadSpec,
    ProbeSpec,
    ProbeStep,
    Scenario,
)

__all__ = [
    "INPUT_NAMES",
    "MISSING",
    "AnyStep",
    "CallStep",
    "Expectation",
    "InputName",
    "InterpolationError",
    "LoadResult",
    "MeteringRange",
    "MeteringSpec",
    "MeteringStep",
    "PayloadSpec",
    "Planned",
    "ProbeSpec",
    "ProbeStep",
    "Reference",
    "Scenario",
    "ScenarioError",
    "ScenarioFile",
    "SourceLocation",
    "display_path",
    "lint",
    "load_scenarios",
    "receipt_name",
    "lookup",
    "resolve",
]
