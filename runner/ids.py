"""Run ids, request ids and idempotency keys: digests of the inputs, never the clock or chance.

The ids of a step derive from the plan (scenario files + non-secret inputs + options) and
the step's place in it, not from the mode, so a dry-run shows the very ids a live run with
the same inputs sends, and a rerun sends the same ones again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from runner.canonical import jcs

__all__ = ["RunIds"]


def _digest(*parts: Any) -> str:
    return hashlib.sha256(jcs(list(parts))).hexdigest()


@dataclass(frozen=True)
class RunIds:
    """The id scheme of one run, from the digest of its plan."""

    plan_digest: str
    mode: str

    @classmethod
    def for_plan(cls, plan: Any, mode: str) -> RunIds:
        """``plan`` is any JSON value naming everything that shapes the requests."""
        return cls(_digest("velikey-e2e/plan/v1", plan), mode)

    @property
    def run_id(self) -> str:
        return "run-" + _digest(self.plan_digest, self.mode)[:16]

    def request_id(self, scenario: str, step: str) -> str:
        return "req-" + _digest(self.plan_digest, scenario, step, "request-id")[:24]

    def idempotency_key(self, scenario: str, step: str) -> str:
        return "idem-" + _digest(self.plan_digest, scenario, step, "idempotency-key")[:32]
