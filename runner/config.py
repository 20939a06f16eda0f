"""What a run depends on, as the CLI freezes it, and the error for input that cannot run.

Below every stage: preflight reads the inputs and options, the evidence stage records them
in the manifest, the pipeline hands the config from stage to stage.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.control import DEFAULT_LIVE_DEADLINE_S
from runner.shard import Shard

__all__ = ["InputError", "Progress", "ReceiptsNotWritten", "RunConfig"]

# Called as each step finishes, with the scenario id and the engine's ``StepResult`` (completion
# order): for progress display only, never for receipts.
Progress = Callable[[str, Any], None]


class InputError(Exception):
    """Bad scenarios, flags or input files: exit 2, nothing run. ``problems`` are one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class ReceiptsNotWritten(Exception):
    """The receipt set could not be written after requests were sent: exit 4; the message names cause and traffic."""


@dataclass(frozen=True)
class RunConfig:
    """Everything a run depends on, parsed and frozen by the CLI."""

    paths: tuple[Path, ...]
    mode: str
    flags: Mapping[str, str | None] = field(default_factory=dict)
    out: Path | None = None
    embedded: bool = False
    confirm: bool = False
    concurrency: int = 4
    request_timeout: float = 30.0
    deadline: float | None = None
    verify_tls: bool = True
    allow_insecure_http: bool = False
    ca_bundle: Path | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    receipts_root: Path = Path("receipts")
    max_retries: int = 3
    # ``--shard K/N``: run only this share of the scenarios; ids and manifest stay the whole run's.
    shard: Shard | None = None
    progress: Progress | None = None
    # ``--run-id``: the run nonce, and the run id verbatim (``runner.ids``); None lets preflight choose.
    run_id: str | None = None

    @property
    def live(self) -> bool:
        return self.mode == "live"

    @property
    def run_deadline(self) -> float | None:
        """``--deadline``, else the default a live run always has (a dry-run sends nothing to wait for)."""
        if self.deadline is not None:
            return self.deadline
        return DEFAULT_LIVE_DEADLINE_S if self.live else None
