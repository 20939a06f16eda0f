"""Checks that need a whole scenario: SDK operations and arguments, step order, references.

A scenario that passes here can be planned without surprises: every ``call`` names an
SDK operation with known, well-typed keyword arguments; every ``${...}`` points at a
declared input or at a value an earlier step saves; metering steps follow the usage read
they compare with. Errors carry ``file:line`` from the scenario's own location table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from runner.reasons import CATALOG
from velikey.operations import Param, operation, operation_names

from .errors import ScenarioError, format_field
from .interpolate import InterpolationError, Reference, parse_template
from .metered import METERED_CALLS
from .model import INPUT_NAMES, CallStep, MeteringStep, ProbeStep, Scenario
from .probe_file import shape_problem
from .strict_yaml import Path

__all__ = ["ALWAYS_AVAILABLE", "SCENARIO_FORBIDDEN_ARGUMENTS", "check_scenario"]

# The engine always needs base_url in live mode, so using it needs no declaration.
ALWAYS_AVAILABLE: Final = frozenset({"base_url"})
# Inputs that must never be copied into a request: the client's auth consumes the session.
NOT_INTERPOLATABLE: Final = {"session": "it is a credential, used only by the client's auth"}
# Arguments the runner owns: idempotency keys derive from the plan and the run nonce (a retry replays, a rerun is new).
SCENARIO_FORBIDDEN_ARGUMENTS: Final = {"idempotency_key": "it is derived from the run id by the runner"}
USAGE_OPERATION: Final = "billing.get_usage"

_TYPE_WORDS: Final = {bool: "true/false", int: "an integer", str: "a string", type(None): "null"}


class _Checker:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.errors: list[ScenarioError] = []
        self.first_index: dict[str, int] = {}
        # Cleanup steps follow the steps in one id space: they may use what any step saved.
        self.all = scenario.all_steps
        self.paths: list[Path] = [("steps", i) for i in range(len(scenario.steps))]
        self.paths += [("cleanup", i) for i in range(len(scenario.cleanup))]

    def error(self, path: Path, message: str) -> None:
        where = self.scenario.location(*path)
        file = where.file if where is not None else "<scenario>"
        line = where.line if where is not None else None
        self.errors.append(ScenarioError(file, line, format_field(path), message))

    def run(self) -> list[ScenarioError]:
        for index, step in enumerate(self.all):
            base = self.paths[index]
            if step.id in self.first_index:
                first = self.scenario.location(*self.paths[self.first_index[step.id]], "id")
                at = f" (first at line {first.line})" if first is not None and first.line else ""
                self.error((*base, "id"), f"duplicate step id {step.id!r}{at}")
            else:
                self.first_index[step.id] = index
            if isinstance(step, CallStep):
                self.call_step(index, step, base)
            elif isinstance(step, ProbeStep):
                self.probe_step(step, base)
            elif isinstance(step, MeteringStep):
                self.metering_step(index, step, base)
        return self.errors

    def call_step(self, index: int, step: CallStep, base: Path) -> None:
        if step.call not in operation_names():
            known = ", ".join(sorted(operation_names()))
            self.error((*base, "call"), f"unknown SDK operation {step.call!r}; known: {known}")
        else:
            self.arguments(step, base)
            self.until(step, base)
            if base[0] == "cleanup" and step.call in METERED_CALLS:
                self.error((*base, "call"), f"{step.call} reads or moves metered usage, which a cleanup step "
                           "(run after a stop, outside the turnstile's order) cannot keep in order; move it to steps")
        for key, value in step.with_.items():
            for sub, text in _strings(value, (key,)):
                self.template(index, step, (*base, "with", *sub), text)
        for number, expectation in enumerate(step.expect):
            problem = _reason_problem(expectation.reason)
            if problem:
                self.error((*base, "expect", number, "reason"), problem)
            # Expectations are compared literally; a reference there would silently never match.
            if expectation.operator in ("equals", "one_of"):
                for sub, text in _strings(expectation.operand, (expectation.operator,)):
                    if _has_reference(text):
                        self.error(
                            (*base, "expect", number, *sub),
                            "expectations are compared literally: ${...} is only resolved in `with`",
                        )

    def until(self, step: CallStep, base: Path) -> None:
        if step.until is None:
            return
        if not step.expect:
            self.error((*base, "until"), "until repeats the call until its expect holds: add expect")
        changes = sorted({method for method, _ in operation(step.call).routes} - {"GET"})
        if changes:
            self.error((*base, "until"), f"until repeats a read; {step.call} sends {', '.join(changes)}"
                       " (a repeat under one idempotency key replays the first answer)")

    def arguments(self, step: CallStep, base: Path) -> None:
        op = operation(step.call)
        params = op.params
        for key, value in step.with_.items():
            param = op.param(key)
            if key in SCENARIO_FORBIDDEN_ARGUMENTS:
                self.error(
                    (*base, "with", key), f"{key} cannot be set in a scenario: {SCENARIO_FORBIDDEN_ARGUMENTS[key]}"
                )
            elif param is None:
                accepted = ", ".join(p.name for p in params if p.name not in SCENARIO_FORBIDDEN_ARGUMENTS) or "none"
                self.error((*base, "with", key), f"{step.call} has no argument {key!r} (accepted: {accepted})")
            else:
                problem = _type_problem(param, value)
                if problem:
                    self.error((*base, "with", key), problem)
        for param in params:
            if param.required and param.name not in step.with_:
                self.error((*base, "with"), f"{step.call} needs argument {param.name!r}")

    def template(self, index: int, step: CallStep, path: Path, text: str) -> None:
        try:
            parts = parse_template(text)
        except InterpolationError as exc:
            self.error(path, str(exc))
            return
        for part in parts:
            if isinstance(part, Reference):
                message = self.reference(index, step, part)
                if message:
                    self.error(path, message)

    def reference(self, index: int, step: CallStep, ref: Reference) -> str | None:
        if ref.kind == "inputs":
            if ref.name not in INPUT_NAMES:
                return f"{ref}: unknown input {ref.name!r}; inputs are {', '.join(INPUT_NAMES)}"
            if ref.name in NOT_INTERPOLATABLE:
                return f"{ref} cannot be interpolated: {NOT_INTERPOLATABLE[ref.name]}"
            if ref.name not in self.scenario.needs_for(step) | ALWAYS_AVAILABLE:
                return f"{ref} is used but {ref.name!r} is not in the scenario's or this step's needs"
            return None
        target = self.first_index.get(ref.name)
        if target is None or target >= index:
            later = any(s.id == ref.name for s in self.all[index:])
            what = "itself or a later step" if later else "no step of this scenario"
            return f"{ref} refers to {what}; values can only come from earlier steps"
        source = self.all[target]
        if not isinstance(source, CallStep):
            return f"{ref}: step {ref.name!r} is a {source.kind} step and saves nothing"
        if ref.attr not in source.save:
            saved = ", ".join(sorted(source.save)) or "nothing"
            return f"{ref}: step {ref.name!r} does not save {ref.attr!r} (it saves {saved})"
        return None

    def probe_step(self, step: ProbeStep, base: Path) -> None:
        if "payload_url" not in self.scenario.needs_for(step):
            self.error(
                (*base, "probe"), "a probe sends to payload_url; add payload_url to the scenario's or this step's needs"
            )
        if step.probe.file is not None:
            problem = shape_problem(step.probe.file)
            if problem:
                self.error((*base, "probe", "file"), problem)

    def metering_step(self, index: int, step: MeteringStep, base: Path) -> None:
        spec = step.metering
        target = self.first_index.get(spec.before)
        where = (*base, "metering", "before")
        if target is None or target >= index:
            later = any(s.id == spec.before for s in self.scenario.steps[index:])
            what = "itself or a later step" if later else "no step of this scenario"
            self.error(where, f"before {spec.before!r} names {what}; it must be an earlier {USAGE_OPERATION} step")
            return
        source = self.scenario.steps[target]
        if not isinstance(source, CallStep) or source.call != USAGE_OPERATION:
            kind = f"a call to {source.call}" if isinstance(source, CallStep) else f"a {source.kind} step"
            self.error(where, f"before {spec.before!r} is {kind}; it must be an earlier {USAGE_OPERATION} step")
        elif spec.expect == "from_probes" and not any(
            isinstance(s, ProbeStep) for s in self.scenario.steps[target + 1 : index]
        ):
            self.error(
                (*base, "metering", "expect"),
                f"from_probes needs at least one probe step between {spec.before!r} and this step",
            )


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list | tuple):
        for number, item in enumerate(value):
            yield from _strings(item, (*path, number))


def _reason_problem(code: str) -> str | None:
    # A failed assertion fails its step, so it must carry a catalogued `fail` code; a
    # `pass` or `blocked` code would misreport the verdict.
    reason = CATALOG.get(code)
    if reason is None:
        return f"unknown reason code {code!r}; see `velikey-e2e reasons` for the catalog"
    if reason.category != "fail":
        return (
            f"reason {code!r} is a {reason.category} code; a failed assertion needs a fail code (e.g. assertion_failed)"
        )
    return None


def _has_reference(text: str) -> bool:
    try:
        return any(isinstance(part, Reference) for part in parse_template(text))
    except InterpolationError:
        return False


def _whole_reference(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = parse_template(value)
    except InterpolationError:
        return False
    return len(parts) == 1 and isinstance(parts[0], Reference)


def _type_problem(param: Param, value: Any) -> str | None:
    # A whole-string reference gets its type at run time; anything else must fit now, so
    # that `dry_run: yes` (a string here, not YAML 1.1's true) is caught before a run.
    accepted = param.classes
    if accepted is None or _whole_reference(value):
        return None
    # bool is an int in Python, but `canary_percent: true` is a mistake, not 1.
    if isinstance(value, accepted) and (bool in accepted or not isinstance(value, bool)):
        return None
    wanted = " or ".join(_TYPE_WORDS.get(t, t.__name__) for t in accepted)
    return f"argument {param.name!r} must be {wanted}, got {value!r}"


def check_scenario(scenario: Scenario) -> list[ScenarioError]:
    """Every cross-reference problem in a structurally valid scenario, in step order."""
    return _Checker(scenario).run()
