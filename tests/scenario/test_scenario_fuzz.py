"""Whatever bytes a scenario file holds, the loader answers with scenarios or ScenarioErrors."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenario_helpers import VALID

from runner.scenario import Scenario, ScenarioError, load_scenarios
from runner.scenario.load import load_source

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _assert_clean(scenario: Scenario | None, errors: tuple[ScenarioError, ...]) -> None:
    assert all(isinstance(e, ScenarioError) for e in errors)
    assert (scenario is None) == bool(errors)
    for error in errors:
        text = str(error)
        assert text.startswith("f.yaml") and error.field and error.message
        assert error.line is None or error.line >= 1


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes(raw: bytes) -> None:
    _assert_clean(*load_source(raw, "f.yaml"))


@FUZZ
@given(st.text(max_size=400))
def test_arbitrary_text(text: str) -> None:
    _assert_clean(*load_source(text.encode("utf-8", "surrogatepass"), "f.yaml"))


_YAMLISH = st.text(alphabet=st.sampled_from(list("abc01-:{}[],&*!|>'\"#?.$ \n\t~%@`")), max_size=200)


@FUZZ
@given(_YAMLISH)
def test_yaml_punctuation_soup(text: str) -> None:
    _assert_clean(*load_source(text.encode(), "f.yaml"))


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=12)
    | st.sampled_from(
        ["call", "probe", "metering", "get_health", "${inputs.policy_id}", "${steps.a.b}", "from_probes", "1e-9"]
    )
)
_KEYS = st.sampled_from(
    ["id", "title", "needs", "steps", "call", "with", "save", "expect", "probe", "metering", "path", "equals",
     "min", "max", "exists", "one_of", "matches", "reason", "payload", "size", "seed", "text", "file",
     "before", "tolerance", "settle_s", "policy_id", "x"]
)  # fmt: skip
_VALUES = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5), max_leaves=25
)


@FUZZ
@given(st.dictionaries(_KEYS, _VALUES, max_size=6))
def test_scenario_shaped_documents(document: dict[str, Any]) -> None:
    text = yaml.safe_dump(document, sort_keys=False)
    _assert_clean(*load_source(text.encode(), "f.yaml"))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID)), st.integers(0, 6), st.text(max_size=8)), max_size=4))
def test_mutated_valid_file(edits: list[tuple[int, int, str]]) -> None:
    text = VALID
    for position, cut, insert in edits:
        text = text[:position] + insert + text[position + cut :]
    _assert_clean(*load_source(text.encode(), "f.yaml"))


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=200))
def test_through_the_file_system(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "f.yaml").write_bytes(raw)
        result = load_scenarios([Path(folder)], cwd=Path(folder))
    assert len(result.scenarios) + len(result.errors) >= 1
    assert all(isinstance(e, ScenarioError) and e.file == "f.yaml" for e in result.errors)
