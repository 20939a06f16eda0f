"""The scenario format as frozen pydantic models: what a scenario file may say, and nothing more.

Numbers that must be exact (``min``, ``max``, ``tolerance``, a metering ``expect``,
``settle_s``) are ``decimal.Decimal`` built from the scalar's text, never through float.
Each model object carries its ``SourceLocation`` (set by the loader) so later stages can
point at ``file:line``. Cross-references (operation names, arguments, ``${...}``, step
order) are checked by ``runner.scenario.check``, which needs the whole scenario.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Final, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    StrictStr,
    Tag,
    model_validator,
)

from .errors import SourceLocation
from .interpolate import NAME_PATTERN, STEP_ID_PATTERN, parse_path
from .regex import compile_pattern
from .strict_yaml import MAX_DIGITS, TOO_LONG, Path, plain_digits

__all__ = [
    "INPUT_NAMES",
    "MAX_PROBE_BYTES",
    "OPERATORS",
    "CallStep",
    "Expectation",
    "InputName",
    "MeteringRange",
    "MeteringSpec",
    "MeteringStep",
    "PayloadSpec",
    "ProbeSpec",
    "ProbeStep",
    "Scenario",
    "AnyStep",
    "Step",
    "UntilSpec",
]

InputName = Literal["base_url", "session", "policy_id", "rollback_token", "payload_url"]
INPUT_NAMES: Final[tuple[str, ...]] = get_args(InputName)
OPERATORS: Final = ("equals", "min", "max", "exists", "one_of", "matches")
ID_MAX_LENGTH: Final = 64

_ID_RE = re.compile(STEP_ID_PATTERN)
_NAME_RE = re.compile(NAME_PATTERN)
_REASON_RE = re.compile(r"[a-z][a-z0-9_]*")
DECIMAL_PATTERN: Final = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_DECIMAL_RE = re.compile(DECIMAL_PATTERN)


def _identifier(value: str) -> str:
    if not _ID_RE.fullmatch(value) or len(value) > ID_MAX_LENGTH:
        raise ValueError(
            f"invalid id {value!r}: lowercase letters, digits and '-', starting with a letter or digit,"
            f" at most {ID_MAX_LENGTH} characters"
        )
    return value


def _response_path(value: str) -> str:
    parse_path(value)
    return value


def _save_name(value: str) -> str:
    if not _NAME_RE.fullmatch(value):
        raise ValueError(f"invalid saved name {value!r}: letters, digits and '_', not starting with a digit")
    return value


def _reason(value: str) -> str:
    if not _REASON_RE.fullmatch(value):
        raise ValueError(f"invalid reason code {value!r}: snake_case, e.g. health_below_threshold")
    return value


def _regex(value: str) -> str:
    try:
        compile_pattern(value)
    except ValueError as exc:
        shown = value if len(value) <= 60 else value[:57] + "..."  # the reason must fit the one-line error
        raise ValueError(f"invalid regular expression {shown!r}: {exc}") from None
    return value


def _decimal(value: Any) -> Decimal:
    # bool is an int subclass and float has already lost digits: both are refused.
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError("expected an exact number (an integer, a decimal, or a decimal string such as '1e-9')")
    number: Decimal | None = None
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal) and value.is_finite():
        number = value
    elif isinstance(value, str) and _DECIMAL_RE.fullmatch(value.strip()):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern only admits valid text
            pass
    if number is None:
        raise ValueError(f"expected a number, got {value!r}")
    # Receipts write decimals in full: "1e-99999999" must not become a 100 MB receipt.
    if plain_digits(number) > MAX_DIGITS:
        raise ValueError(TOO_LONG)
    return number


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"must be >= 0, got {value}")
    return value


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.add(value)
    return values


Identifier = Annotated[StrictStr, AfterValidator(_identifier)]
ResponsePath = Annotated[StrictStr, AfterValidator(_response_path)]
SaveName = Annotated[StrictStr, AfterValidator(_save_name)]
ExactNumber = Annotated[Decimal, BeforeValidator(_decimal)]
NonNegative = Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(_non_negative)]
Needs = Annotated[tuple[InputName, ...], AfterValidator(_unique)]


class _Node(BaseModel):
    """Frozen, closed (unknown keys are errors), and aware of where it was written."""

    # defer_build: each model's validator is built when a scenario is first loaded, so the commands that import
    # the scenario package without loading one (validate, verify, merge) do not pay for building them.
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)

    _source: SourceLocation | None = PrivateAttr(default=None)

    @property
    def source(self) -> SourceLocation | None:
        """Where this object was written (``None`` when built in code, not loaded)."""
        return self._source

    def __eq__(self, other: object) -> bool:
        # Equal when they say the same thing, wherever they were written.
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.__dict__.items())))


class Expectation(_Node):
    """One assertion on a response path; exactly one operator; fails with ``reason``."""

    path: ResponsePath
    equals: Any = None
    min: ExactNumber | None = None
    max: ExactNumber | None = None
    exists: StrictBool | None = None
    one_of: Annotated[tuple[Any, ...], Field(min_length=1)] | None = None
    matches: Annotated[StrictStr, AfterValidator(_regex)] | None = None
    reason: Annotated[StrictStr, AfterValidator(_reason)] = "assertion_failed"

    @model_validator(mode="before")
    @classmethod
    def _one_operator(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            given = [op for op in OPERATORS if op in data]
            if len(given) != 1:
                got = ", ".join(given) if given else "none"
                raise ValueError(f"an expectation needs exactly one of {', '.join(OPERATORS)} (got {got})")
            if given[0] in ("min", "max", "exists", "one_of", "matches") and data[given[0]] is None:
                raise ValueError(f"{given[0]} needs a value, not null")
        return data

    @property
    def operator(self) -> str:
        """The one operator given (``equals: null`` counts: it asserts a null)."""
        return next(op for op in OPERATORS if op in self.model_fields_set)

    @property
    def operand(self) -> Any:
        return getattr(self, self.operator)


MAX_POLLS: Final = 1000
MAX_WITHIN_S: Final = Decimal(3600)


class UntilSpec(_Node):
    """Repeat a call every ``every_s`` until its ``expect`` holds, for a budget of ``within_s``.

    The budget is counted, not clocked: at most ``1 + floor(within_s / every_s)`` polls,
    ``every_s`` apart, so the number of polls a run records depends on what the server
    answered, never on how long an answer took.
    """

    every_s: NonNegative
    within_s: NonNegative

    @model_validator(mode="after")
    def _bounds(self) -> UntilSpec:
        if self.every_s <= 0:
            raise ValueError(f"every_s must be > 0, got {self.every_s}")
        if self.every_s > self.within_s:
            raise ValueError(f"every_s {self.every_s} is greater than within_s {self.within_s}: nothing to repeat")
        if self.within_s > MAX_WITHIN_S:
            raise ValueError(f"within_s must be at most {MAX_WITHIN_S} s, got {self.within_s}")
        if self.max_polls > MAX_POLLS:
            raise ValueError(f"within_s / every_s allows {self.max_polls} polls; at most {MAX_POLLS}")
        return self

    @property
    def max_polls(self) -> int:
        """The poll budget: the first poll plus one per whole ``every_s`` in ``within_s``."""
        return int(self.within_s // self.every_s) + 1


class _StepBase(_Node):
    kind: ClassVar[str]
    id: Identifier
    needs: Needs = ()


class CallStep(_StepBase):
    """Call one SDK operation with keyword arguments; save and check response values."""

    kind: ClassVar[Literal["call"]] = "call"
    call: StrictStr
    with_: dict[StrictStr, Any] = Field(default_factory=dict, alias="with")
    save: dict[SaveName, ResponsePath] = Field(default_factory=dict)
    expect: tuple[Expectation, ...] = ()
    until: UntilSpec | None = None


# The largest probe, generated or from a file: 16 GiB is far more than metering needs to show a
# delta, and a dry-run still hashes it (and a live run uploads it) within a bounded time.
MAX_PROBE_BYTES: Final = 16 * 1024**3


class PayloadSpec(_Node):
    """A generated payload: ``size`` bytes produced in chunks from ``seed``."""

    size: Annotated[StrictInt, Field(ge=0, le=MAX_PROBE_BYTES)]
    seed: StrictInt


class ProbeSpec(_Node):
    """What a probe sends: exactly one of ``payload``, ``text`` or ``file``."""

    payload: PayloadSpec | None = None
    text: StrictStr | None = None
    file: StrictStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_source(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            given = [key for key in ("payload", "text", "file") if key in data]
            if len(given) != 1:
                got = ", ".join(given) if given else "none"
                raise ValueError(f"a probe needs exactly one of payload, text, file (got {got})")
            # `file:` with nothing after it is null: a probe with no source at all.
            if data[given[0]] is None:
                raise ValueError(f"{given[0]} needs a value, not null")
        return data

    @property
    def source_kind(self) -> Literal["payload", "text", "file"]:
        return "payload" if self.payload is not None else "text" if self.text is not None else "file"


class ProbeStep(_StepBase):
    """Send bytes to ``payload_url`` and compare the echoed SHA-256 with the local one."""

    kind: ClassVar[Literal["probe"]] = "probe"
    probe: ProbeSpec


class MeteringRange(_Node):
    """An accepted interval for a metering delta; at least one bound."""

    min: ExactNumber | None = None
    max: ExactNumber | None = None

    @model_validator(mode="after")
    def _bounds(self) -> MeteringRange:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


def _expect_tag(value: Any) -> str:
    # One field, three shapes: errors are about the shape the author evidently meant.
    if isinstance(value, Mapping | MeteringRange):
        return "expect-range"
    if isinstance(value, str) and not _DECIMAL_RE.fullmatch(value.strip()):
        return "expect-from-probes"
    return "expect-number"


MeteringExpect = Annotated[
    Annotated[ExactNumber, Tag("expect-number")]
    | Annotated[MeteringRange, Tag("expect-range")]
    | Annotated[Literal["from_probes"], Tag("expect-from-probes")],
    Discriminator(_expect_tag),
]


class MeteringSpec(_Node):
    """Fetch usage again and compare ``path`` after - before with ``expect`` (+/- tolerance).

    ``from_probes`` means the bytes sent by the probe steps between ``before`` and this
    step, divided by 1024**3.
    """

    before: Identifier
    path: ResponsePath
    expect: MeteringExpect
    tolerance: NonNegative = Decimal("0")
    settle_s: NonNegative = Decimal("10")


class MeteringStep(_StepBase):
    """Poll usage until the delta since ``before`` settles, then compare it."""

    kind: ClassVar[Literal["metering"]] = "metering"
    metering: MeteringSpec


STEP_KEYS: Final = {"call": "call-step", "probe": "probe-step", "metering": "metering-step"}


def _step_tag(value: Any) -> str | None:
    if isinstance(value, Mapping):
        present = [tag for key, tag in STEP_KEYS.items() if key in value]
        return present[0] if len(present) == 1 else None
    if isinstance(value, _StepBase):
        return STEP_KEYS[value.kind]
    return None


AnyStep = CallStep | ProbeStep | MeteringStep

Step = Annotated[
    Annotated[CallStep, Tag("call-step")]
    | Annotated[ProbeStep, Tag("probe-step")]
    | Annotated[MeteringStep, Tag("metering-step")],
    Discriminator(
        _step_tag,
        custom_error_type="step_kind",
        custom_error_message="a step is a mapping with exactly one of call, probe, metering",
    ),
]


class Scenario(_Node):
    """A named, ordered list of steps and the live inputs it cannot run without."""

    id: Identifier
    title: Annotated[StrictStr, Field(min_length=1)]
    needs: Needs = ()
    steps: Annotated[tuple[Step, ...], Field(min_length=1)]
    # Run once the scenario has started, whatever became of its steps: they undo what the steps did.
    cleanup: tuple[CallStep, ...] = ()

    _lines: Mapping[Path, int] = PrivateAttr(default_factory=dict)
    _all_steps: tuple[AnyStep, ...] = PrivateAttr(default=())

    def model_post_init(self, context: Any, /) -> None:
        # Built once, as the model is frozen: the engine looks a step up here for every step it runs,
        # and a tuple rebuilt on each access made a scenario's run quadratic in its length.
        self._all_steps = (*self.steps, *self.cleanup)

    def step(self, step_id: str) -> AnyStep:
        """The step with this id; raises ``KeyError``."""
        for candidate in self.steps:
            if candidate.id == step_id:
                return candidate
        raise KeyError(step_id)

    @property
    def all_steps(self) -> tuple[AnyStep, ...]:
        """The steps, then the cleanup steps: one id space, one order."""
        return self._all_steps

    def needs_for(self, step: AnyStep) -> frozenset[str]:
        """Inputs a step may use: the scenario's ``needs`` plus its own."""
        return frozenset(self.needs) | frozenset(step.needs)

    def forget_lines(self) -> None:
        """Drop the value-to-line table once nothing will ask ``location`` again (a run, after loading):
        it is about 0.8 KiB a step, held otherwise while every step runs (issue 11). Each model object
        keeps its own ``source``; ``location`` then answers the scenario's."""
        self._lines = {}

    def location(self, *path: str | int) -> SourceLocation | None:
        """The line of a value in the file, e.g. ``location("steps", 3, "with", "plan_id")``.

        Falls back to the nearest enclosing value that was written (the scenario itself after ``forget_lines``).
        """
        if self._source is None:
            return None
        for end in range(len(path), -1, -1):
            line = self._lines.get(tuple(path[:end]))
            if line is not None:
                return SourceLocation(self._source.file, line)
        return self._source
