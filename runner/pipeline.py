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
from runner.config import InputError, ReceiptsNotWritten, RunConfig
from runner.control import Control, handlers_restored
from runner.engine.execute import Engine, blocked_result
from runner.engine.steps import Context
from runner.evidence.collect import collect, step_sources, traffic_line
from runner.preflight import Embedded, check, embedded_server, preflight
from runner.receipts.assemble import build_receipt_set
from runner.receipts.outdir import OutDirError, check_out_dir, claim_out_dir
from runner.receipts.write import ReceiptWriteError, StagedSet
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
    control = Control(config.run_deadline)  # the deadline counts from start-up, auth resolution included
    loaded = load_scenarios(list(config.paths))
    if loaded.errors:
        raise InputError([str(error) for error in loaded.errors])
    planned = list(loaded.planned())
    _forget_lines(planned)
    del loaded  # ``_run`` holds the only reference to the scenarios, and lets go of them once they ran
    with handlers_restored(), embedded_server(config.embedded) as embedded:
        return asyncio.run(_run(config, planned, embedded, control))


async def _run(config: RunConfig, planned: list[Planned], embedded: Embedded | None,
               control: Control) -> RunReport:
    """The stages after loading. ``planned`` is handed over: it is emptied once every step has run, so the
    loaded scenarios (about 3 KiB a step) are freed before the receipts are built (issue 11)."""
    started_at, started = datetime.now(timezone.utc), time.monotonic()
    checked = check(config, planned, embedded)
    out_dir = config.out or config.receipts_root / f"{config.mode}-{checked.ids.run_id}"
    # Before any request: a bad --out is exit 2 with nothing sent (and, refused, no lock file left beside it).
    if problem := check_out_dir(out_dir):
        raise InputError([problem])
    try:
        claim = claim_out_dir(out_dir)
    except OutDirError as exc:
        raise InputError([str(exc)]) from None
    with claim:
        pre = await preflight(config, planned, embedded, checked, control)
        engine = Engine(Context.of(pre, confirm=config.confirm), config.concurrency, control, config.progress)
        # Stops are held until the receipts are written, so a second Ctrl-C cannot tear a set in half.
        with control.armed():
            try:
                # Preflight saw every scenario (ids, inputs and blockers are the whole run's); a shard runs its share.
                mine = _share(config, planned)
                ran = iter(await engine.run([p for k, p in mine if k not in pre.blocks]))
                results = [blocked_result(p, pre.blocks[k].reason, pre.blocks[k].message) if k in pre.blocks
                           else next(ran) for k, p in mine]
            finally:
                await pre.close()
            sources = step_sources(planned)  # the step lines the summary needs, and nothing else of the scenarios
            del mine, ran
            planned.clear()
            docs = collect(config, pre, results, started_at=started_at, started=started, sources=sources)
            # The evidence documents now hold the only references to the raw results, and let go of each
            # as it is written; the line for a set that could not be written is made while they are here.
            traffic = traffic_line(results)
            del results, sources
            rendered = _junit_files(docs.summary) if config.junit else {}
            try:
                # Each file goes to the staging area as it is built; the set appears whole at the commit, or not at all.
                with StagedSet(out_dir, claim) as staged:
                    digests = build_receipt_set(summary=docs.summary, manifest=docs.manifest, timings=docs.timings,
                                                blocker=docs.blocker, evidence=docs.evidence,
                                                exit_code=docs.exit_code, rendered=rendered, write=staged.write)
                    attested = attestation_files(digests, docs.summary, docs.manifest["scenarios"], config.sign_key)
                    for name, data in attested.items():
                        staged.write(name, (data,))
                    staged.commit()
                if config.junit:
                    _copy_junit(rendered, config.junit)
            except ReceiptWriteError as exc:
                raise ReceiptsNotWritten(f"{exc}; {traffic}") from None
    return RunReport(docs.exit_code, out_dir, docs.summary, docs.blocker)


def _forget_lines(planned: list[Planned]) -> None:
    """Every located error has been found: the line tables go (a loop variable in ``run`` would keep the last
    scenario alive for the whole run, so this is a function of its own)."""
    for each in planned:
        each.scenario.forget_lines()


def _junit_files(summary: dict[str, Any]) -> dict[str, bytes]:
    """``--junit``'s receipt; the junit module (and xml.etree) is imported only by a run that asks for it."""
    from runner.report.junit import JUNIT_FILE, junit_xml

    return {JUNIT_FILE: junit_xml(summary)}


def _copy_junit(files: dict[str, bytes], target: Path) -> None:
    from runner.report.junit import JUNIT_FILE, copy_junit

    copy_junit(files[JUNIT_FILE], target)


def _share(config: RunConfig, planned: Sequence[Planned]) -> list[tuple[int, Planned]]:
    """The scenarios this run executes, with their place in the whole run: all, or a shard's share."""
    numbered = list(enumerate(planned))
    if config.shard is None:
        return numbered
    owned = config.shard.owns(p.scenario.id for p in planned)
    return [(k, p) for k, p in numbered if p.scenario.id in owned]
