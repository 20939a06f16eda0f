"""The run nonce, and the run id, request ids and idempotency keys derived from it and the plan.

Ids are digests, never the clock: the same plan and nonce give the same ids, so a dry-run shows
the very ids a live run with that nonce sends, and a pinned ``--run-id`` reproduces a run byte
for byte. The nonce is what makes a rerun against one tenant a new run (new keys, so new effects
and new probes) rather than a replay of the last one.

Where the nonce comes from (first that applies):

1. ``--run-id ID`` (source ``flag``), then ``VELIKEY_E2E_RUN_ID`` (``env``): the caller names the
   run, and the run id *is* that name, verbatim, so ``--run-id X`` shows run X and every shard of
   one CI run that passes the same id writes the same run id;
2. a dry-run or an ``--embedded`` run: ``fixed`` (nothing can be replayed: a dry-run sends nothing,
   an embedded tenant is new every time), so both compare byte for byte with ``receipts/example/``;
3. the CI's run identity: ``GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT`` (``github``), then
   ``CI_PIPELINE_ID-CI_JOB_ID`` (``gitlab``): a re-run job is a new attempt, so a new nonce;
4. else a fresh random nonce (``random``).

Otherwise the run id is ``run-`` and a digest of the plan, the mode and the nonce. A step's
request id and idempotency key digest the nonce, the inputs and options, and the step's own
scenario file (not the other scenarios of the run), so a shard sends the keys the unsharded run
sends, and an edited scenario under a reused ``--run-id`` is a new request, not a conflicting one.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from runner.canonical import jcs
from runner.config import InputError

__all__ = ["FIXED_NONCE", "RUN_ID_ENV", "RunIds", "RunNonce", "resolve_nonce"]

RUN_ID_ENV = "VELIKEY_E2E_RUN_ID"
# A short token that is safe as a folder name, a header value and a receipt field.
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NonceSource = Literal["flag", "env", "github", "gitlab", "random", "fixed"]
# Each CI's run identity: the env variables joined with "-" (the first is required, the second optional).
CI_IDENTITIES: tuple[tuple[NonceSource, str, str], ...] = (
    ("github", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT"),
    ("gitlab", "CI_PIPELINE_ID", "CI_JOB_ID"),
)


def _digest(*parts: Any) -> str:
    return hashlib.sha256(_jcs_of(list(parts))).hexdigest()


def _jcs_of(parts: list[Any]) -> bytes:
    """JCS bytes of ``parts``; a list of strings (every step's two ids) takes the C encoder.

    For strings and null, RFC 8785's form is ``json.dumps`` without ASCII escaping or spaces (the
    same escapes, lowercase ``\\u00xx``); text that is not UTF-8 encodable goes to ``jcs``, which refuses
    it. Anything else (the plan, the scenario map) goes to ``jcs`` too.
    """
    if all(part is None or type(part) is str for part in parts):
        try:
            return json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode()
        except UnicodeEncodeError:
            pass
    return jcs(parts)


@dataclass(frozen=True)
class RunNonce:
    """What makes this run's ids its own, and where it came from (the manifest records both)."""

    value: str
    source: NonceSource

    @property
    def names_the_run(self) -> bool:
        """The caller chose it (``--run-id``, ``VELIKEY_E2E_RUN_ID``): it is the run id itself."""
        return self.source in ("flag", "env")

    def document(self) -> dict[str, str]:
        return {"value": self.value, "source": self.source}


FIXED_NONCE = RunNonce("fixed", "fixed")


def _checked(value: str, where: str) -> str:
    if not RUN_ID_PATTERN.fullmatch(value):
        raise InputError([f"{where}: {value!r} is not a run id (1-64 of A-Z a-z 0-9 . _ -, starting with a letter"
                          " or digit)"])
    return value


def resolve_nonce(flag: str | None, env: Mapping[str, str], *, live: bool, embedded: bool,
                  token: Callable[[], str] = lambda: secrets.token_hex(8)) -> RunNonce:
    """The run's nonce (see the module docstring); a malformed one is ``InputError``, before any request."""
    if flag is not None:
        return RunNonce(_checked(flag, "--run-id"), "flag")
    if value := env.get(RUN_ID_ENV, "").strip():
        return RunNonce(_checked(value, RUN_ID_ENV), "env")
    if not live or embedded:
        return FIXED_NONCE
    for source, run, attempt in CI_IDENTITIES:
        if first := env.get(run, "").strip():
            second = env.get(attempt, "").strip()
            value = f"{first}-{second}" if second else first
            return RunNonce(_checked(value, f"{run}-{attempt}" if second else run), source)
    return RunNonce(token(), "random")


@dataclass(frozen=True)
class RunIds:
    """The id scheme of one run: the digest of its plan, its mode and nonce, and each scenario's digest."""

    plan_digest: str
    mode: str
    nonce: RunNonce = FIXED_NONCE
    # Scenario id → its file's digest; a scenario not listed (unit tests) digests as unnamed.
    scenarios: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def for_plan(cls, plan: Any, mode: str, nonce: RunNonce = FIXED_NONCE,
                 scenarios: Mapping[str, str] | None = None) -> RunIds:
        """``plan`` is any JSON value naming the inputs and options that shape every request;
        ``scenarios`` maps each scenario id to the digest of its file."""
        return cls(_digest("velikey-e2e/plan/v2", plan), mode, nonce, dict(sorted((scenarios or {}).items())))

    @property
    def run_id(self) -> str:
        if self.nonce.names_the_run:
            return self.nonce.value
        return "run-" + _digest(self.plan_digest, dict(self.scenarios), self.mode, self.nonce.value)[:16]

    def _step(self, scenario: str, step: str, purpose: str) -> str:
        return _digest(self.nonce.value, self.plan_digest, self.scenarios.get(scenario), scenario, step, purpose)

    def request_id(self, scenario: str, step: str) -> str:
        return "req-" + self._step(scenario, step, "request-id")[:24]

    def idempotency_key(self, scenario: str, step: str) -> str:
        return "idem-" + self._step(scenario, step, "idempotency-key")[:32]
