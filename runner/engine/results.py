"""What the engine hands on: frozen, raw step and scenario results, failures as data.

Raw means as the run saw them: the SDK's requests and exchanges, assertion operands, saved
values and error objects, unredacted and unrendered. The evidence stage is the only reader
that turns them into receipt documents (and the only place the redactor runs); nothing
downstream calls back into the engine or the SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from runner.canonical import decimal_str
from velikey import Exchange
from velikey.exceptions import VeliKeyError
from velikey.operations import PreparedRequest

__all__ = [
    "Answer",
    "Assertion",
    "Exchanged",
    "Metering",
    "Outcome",
    "Polling",
    "Probe",
    "Rendered",
    "ScenarioResult",
    "StepResult",
    "scenario_outcome",
]

Outcome = Literal["passed", "failed", "blocked", "skipped", "planned"]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A request as the step would (dry-run) or did (live) make it, with placeholder credentials.

    A streamed payload has no body in memory: its SHA-256 (hex) and length come alongside.
    """

    request: PreparedRequest
    streamed_sha256: str | None = None
    streamed_bytes: int = 0


@dataclass(frozen=True, slots=True)
class Answer:
    """What the receipts show of the answer an SDK exchange got: status, body, content type, replayed.

    Only this is kept of the SDK's ``Exchange`` (its request object, every header, the attempts before it):
    a long run holds every step's answer until the receipts are written (issue 11). The body stays raw;
    the evidence stage redacts it with every secret the run learned.
    """

    status: int
    body: bytes
    content_type: str | None
    replayed: bool

    @classmethod
    def of(cls, exchange: Exchange) -> Answer:
        return cls(exchange.status, exchange.body, exchange.headers.get("content-type"), exchange.replayed)


@dataclass(frozen=True, slots=True)
class Exchanged:
    """One request a live step sent: the request to show, the answer it got (the last attempt's, as evidence
    has always shown) and any error it raised. ``attempts`` also covers a request that got no answer at all
    (``exchange`` None).
    """

    request: Rendered
    exchange: Answer | None = None
    attempts: int = 1
    error: VeliKeyError | None = None


@dataclass(frozen=True, slots=True)
class Assertion:
    """One expectation as evaluated: ``actual`` is ``runner.scenario.MISSING`` when the path is absent."""

    path: str
    op: str
    expected: Any
    actual: Any
    passed: bool
    reason_code: str


@dataclass(frozen=True, slots=True)
class Probe:
    """A payload probe's facts: what was sent (hex SHA-256) and what the endpoint echoed, as echoed."""

    source: str
    bytes: int
    sha256: str
    echo_sha256: str
    echo_bytes: int
    matched: bool
    replayed: bool
    # The payload generator's version for a generated payload (``runner.engine.payload.GENERATOR``).
    generator: str | None = None


@dataclass(frozen=True, slots=True)
class Metering:
    """A metering check: the usage value before and after, its delta and the window it had to land in.

    ``None`` bounds are open (``-inf``/``inf``); ``before`` is None when the earlier step had no number.
    """

    path: str
    before: Decimal | None
    expected_min: Decimal | None
    expected_max: Decimal | None
    after: Decimal | None = None
    delta: Decimal | None = None
    settled: bool = False

    def window(self) -> tuple[str, str]:
        """The expected window's bounds as canonical decimal strings, ``-inf``/``inf`` when open."""
        low, high = self.expected_min, self.expected_max
        return ("-inf" if low is None else decimal_str(low)), ("inf" if high is None else decimal_str(high))


@dataclass(frozen=True, slots=True)
class Polling:
    """An ``until:`` step's policy and, once live, how many polls it made (``None`` in a dry run)."""

    every_s: Decimal
    within_s: Decimal
    max_polls: int
    polls: int | None = None


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step's outcome and everything it saw.

    ``message`` is raw text; it is empty when the step failed an assertion, which the first
    failed entry of ``assertions`` describes.
    """

    id: str
    kind: Literal["call", "probe", "metering"]
    outcome: Outcome
    reason_code: str
    message: str
    call: str | None = None
    requests: tuple[Rendered, ...] = ()
    exchanges: tuple[Exchanged, ...] = ()
    assertions: tuple[Assertion, ...] = ()
    saved: Mapping[str, Any] = field(default_factory=dict)
    probe: Probe | None = None
    metering: Metering | None = None
    polling: Polling | None = None
    duration_ms: int = 0


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    id: str
    title: str
    file: str
    steps: tuple[StepResult, ...]
    cleanup: tuple[StepResult, ...] = ()

    @property
    def all_steps(self) -> tuple[StepResult, ...]:
        """The steps, then the cleanup steps: what counts, codes and the verdict are made of."""
        return self.steps + self.cleanup

    @property
    def outcome(self) -> tuple[Outcome, str]:
        return scenario_outcome(self.all_steps)


def scenario_outcome(steps: tuple[StepResult, ...]) -> tuple[Outcome, str]:
    """A scenario fails with its first failed step, else blocks with its first blocked one."""
    for wanted in ("failed", "blocked"):
        for step in steps:
            if step.outcome == wanted:
                return wanted, step.reason_code
    if any(step.outcome == "planned" for step in steps):
        return "planned", "dry_run_planned"
    if any(step.outcome == "passed" for step in steps):
        return "passed", "ok"
    return "skipped", steps[0].reason_code if steps else "ok"
