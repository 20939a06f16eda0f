"""BLOCKER.json's ``rerun``: the exact command that repeats this run once the blocker is resolved.

It keeps every flag that changes what the run does (``--out``, ``--embedded``, the inputs given
as flags, trust settings, ``--confirm`` when given or when a step was blocked for want of it),
names paths relative to the working directory (an absolute path would put the machine's layout
in a receipt), and takes the wrapper's form when the seed's wrapper script started the run
(it exports ``SDK_E2E_WRAPPER``, its own path). Secrets are never in it: a rollback token
given as a flag is referred to by its environment variable.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from runner.canonical import decimal_str
from runner.config import RunConfig

__all__ = ["WRAPPER_ENV", "rerun_command", "shown_path"]

WRAPPER_ENV = "SDK_E2E_WRAPPER"
DEFAULT_REQUEST_TIMEOUT = RunConfig.request_timeout


def shown_path(path: Path | str, cwd: Path | None = None) -> str:
    """``path`` relative to the working directory (``..`` where needed), never absolute."""
    here = cwd or Path.cwd()
    absolute = Path(os.path.abspath(here / path))
    return Path(os.path.relpath(absolute, os.path.abspath(here))).as_posix()


def _seconds(value: float) -> str:
    return decimal_str(Decimal(str(value)))


def rerun_command(config: RunConfig, codes: Sequence[str], cwd: Path | None = None) -> str:
    """The command that reruns ``config`` live; ``codes`` are the run's blocker codes."""
    wrapper = config.env.get(WRAPPER_ENV)
    script = shown_path(wrapper, cwd) if wrapper else ""
    head = [script if "/" in script else f"./{script}", "--live"] if wrapper else ["velikey-e2e", "run", "--live"]
    words = [*head, *(shown_path(p, cwd) for p in config.paths)]
    if config.out is not None:
        words += ["--out", shown_path(config.out, cwd)]
    if config.embedded:
        words.append("--embedded")
    for name in ("base_url", "payload_url", "policy_id"):
        if value := config.flags.get(name):
            words += ["--" + name.replace("_", "-"), value]
    if config.ca_bundle is not None:
        words += ["--ca-bundle", shown_path(config.ca_bundle, cwd)]
    words += [flag for flag, on in (("--allow-insecure-http", config.allow_insecure_http),
                                    ("--insecure-skip-tls-verify", not config.verify_tls)) if on]
    if config.request_timeout != DEFAULT_REQUEST_TIMEOUT:
        words += ["--request-timeout", _seconds(config.request_timeout)]
    if config.deadline is not None:
        words += ["--deadline", _seconds(config.deadline)]
    text = shlex.join(words)
    if config.flags.get("rollback_token"):
        text += ' --rollback-token "$AEGIS_ROLLBACK_TOKEN"'
    if config.confirm or "confirmation_required" in codes:
        text += " --confirm"
    return text
