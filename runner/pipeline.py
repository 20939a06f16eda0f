"""The stage order, and nothing else: load → preflight → execute → evidence → receipts.

``run(config)`` returns a ``RunReport`` (exit code, run directory, summary); it never prints.
Bad input raises ``InputError`` before anything runs; everything after that ends in a
complete, validated receipt set, including interruption and the run deadline
(``runner.control`` owns stopping).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runner.attest.statement import attestation_files
from runner.config import InputError, RunConfig
from runner.control import Control, handlers_restored
from runner.engine.execute import Engine, blocked_results
from runner.engine.steps import Context
from runner.evidence.collect import collect
from runner.preflight import Embedded, embedded_server, preflight
from runner.receipts.assemble import build_receipt_set
from runner.receipts.write import write_receipt_set
from runner.report.junit import JUNIT_FILE, copy_junit, junit_xml
from runner.scenario.load import Planned, load_scenarios

__all__ = ["InputError", "RunConfig", "RunReport", "run"]


@dataclass(frozen=True)
class RunReport:
    exit_code: int
    out_dir: Path
    summary: dict[str, Any]
    blocker: dict[str, Any] | None = None


def run(config: RunConfig) -> RunReport:
    """Run the pipeline once; see the module docstring."""
    loaded = load_scenarios(list(config.paths))
    if loaded.errors:
        raise InputError([str(error) for error in loaded.errors])
    with handlers_restored(), embedded_server(config.embedded) as embedded:
        return asyncio.run(_run(config, loaded.planned(), embedded))


async def _run(config: RunConfig, planned: Sequence[Planned], embedded: Embedded | None) -> RunReport:
    started_at, started = datetime.now(timezone.utc), time.monotonic()
    pre = await preflight(config, planned, embedded)
    control = Control(config.deadline)
    engine = Engine(Context.of(pre, confirm=config.confirm), config.concurrency, control, config.progress)
    # Stops are held until the receipts are written, so a second Ctrl-C cannot tear a set in half.
    with control.armed():
        try:
            if pre.blocked:
                results = blocked_results(planned, pre.missing, pre.blocker_codes)
            else:
                results = await engine.run(planned)
        finally:
            await pre.close()
        docs = collect(config, pre, results, started_at=started_at, started=started, planned=planned)
        rendered = {JUNIT_FILE: junit_xml(docs.summary)} if config.junit else {}
        files = build_receipt_set(summary=docs.summary, manifest=docs.manifest, timings=docs.timings,
                                  blocker=docs.blocker, evidence=docs.evidence, exit_code=docs.exit_code,
                                  rendered=rendered)
        files |= attestation_files(files, docs.summary, docs.manifest["scenarios"], config.sign_key)
        out_dir = config.out or config.receipts_root / f"{config.mode}-{pre.ids.run_id}"
        write_receipt_set(out_dir, files)
        if config.junit:
            copy_junit(files[JUNIT_FILE], config.junit)
    return RunReport(docs.exit_code, out_dir, docs.summary, docs.blocker)
