"""``velikey-e2e merge``: the run directories of ``--shard K/N`` jobs → the set the unsharded run writes.

Every shard preflights the whole run (same run id, inputs, manifest) and runs its share of
the scenarios, so the union of their scenarios, evidence and verdicts is the unsharded run's.
The merged set is rebuilt from the shards' documents (the manifest's ``shard`` back to null)
through ``build_receipt_set``, the code a run writes with, so every derived file (SUMMARY.md,
the result receipt, and what later stages add) is the one the unsharded run derives; only
``timings.json`` (volatile) is a summary of the shards' own. Before anything is built, each
input must validate and the inputs must be all N shards of one run, once each: every problem
is one line.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner import exits
from runner.attest.statement import attestation_files
from runner.evidence.collect import blocker_document
from runner.inputs import INPUTS
from runner.receipts.assemble import build_receipt_set
from runner.receipts.validate import kind_for, validate_run_dir
from runner.receipts.write import MemorySet
from runner.report.junit import JUNIT_FILE, junit_xml

__all__ = ["MergeError", "merge_shards"]

MANIFEST, SUMMARY, BLOCKER, TIMINGS = "run-manifest.json", "SUMMARY.json", "BLOCKER.json", "timings.json"
# SUMMARY.json fields that follow from the scenarios; every other field is the whole run's, the same in each shard.
_DERIVED = ("scenarios", "counts", "reason_codes", "result")


class MergeError(Exception):
    """The inputs are not the complete, valid shards of one run; ``problems`` are one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class _Shard:
    shown: str
    docs: Mapping[str, dict[str, Any]]

    @property
    def manifest(self) -> Mapping[str, Any]:
        return self.docs[MANIFEST]

    @property
    def summary(self) -> Mapping[str, Any]:
        return self.docs[SUMMARY]

    @property
    def label(self) -> str:
        shard = self.manifest["shard"]
        return f"{self.shown} (shard {shard['index']}/{shard['count']})"


def _load(run_dir: Path) -> tuple[_Shard | None, list[str]]:
    shown = run_dir.as_posix()
    problems = validate_run_dir(run_dir)
    if problems:
        return None, [f"{shown}: invalid: {problem}" for problem in problems]
    docs = {p.relative_to(run_dir).as_posix(): json.loads(p.read_bytes()) for p in sorted(run_dir.rglob("*.json"))
            if kind_for(p.relative_to(run_dir).as_posix()) is not None}
    if docs[MANIFEST]["shard"] is None:
        return None, [f"{shown}: not a shard (its run-manifest.json has no shard; run with --shard K/N)"]
    return _Shard(shown, docs), []


def _set_problems(shards: Sequence[_Shard]) -> list[str]:
    """Every shard of one count, each index once, and none missing."""
    first = shards[0]
    count = first.manifest["shard"]["count"]
    problems = []
    seen: dict[int, _Shard] = {}
    for shard in shards:
        index, its_count = shard.manifest["shard"]["index"], shard.manifest["shard"]["count"]
        if its_count != count:
            problems.append(f"{shard.label}: is one of {its_count} shards, {first.label} one of {count}")
        elif index in seen:
            problems.append(f"{shard.label}: overlaps {seen[index].label} (the same shard twice)")
        else:
            seen[index] = shard
    problems += [f"missing shard {index}/{count}" for index in range(1, count + 1) if index not in seen]
    return problems


def _run_problems(shards: Sequence[_Shard]) -> list[str]:
    """Every shard's manifest and run-wide summary fields are the first one's: one run, one set of inputs."""
    first = shards[0]
    problems = []
    for shard in shards[1:]:
        for name, skip in ((MANIFEST, ("shard",)), (SUMMARY, _DERIVED)):
            mine, theirs = shard.docs[name], first.docs[name]
            for key in sorted((set(mine) | set(theirs)) - set(skip)):
                if mine.get(key) != theirs.get(key):
                    problems.append(f"{shard.label}: not the run of {first.label}: {name} {key} differs"
                                    f" ({_short(mine.get(key))} vs {_short(theirs.get(key))})")
    return problems


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _result(shards: Sequence[_Shard]) -> str:
    """The unsharded verdict: a failed step anywhere fails the run, else a blocked one blocks it.

    Preflight's blocking codes are in every shard, so a shard's verdict sees them too.
    """
    results: set[str] = {shard.summary["result"] for shard in shards}
    for worst in ("fail", "manual-required"):
        if worst in results:
            return worst
    if len(results) != 1:
        raise MergeError([f"the shards' results {sorted(results)} do not combine into one verdict"])
    return results.pop()


def _retarget(rerun: str, out: str | None) -> str:
    """A shard's rerun command with the merged set's ``--out`` in place of the shard's own."""
    words = shlex.split(rerun)
    if out is None or "--out" not in words:
        return rerun
    shard_out = words[words.index("--out") + 1]
    return rerun.replace(f" --out {shlex.quote(shard_out)}", f" --out {shlex.quote(out)}", 1)


def _blocker(shards: Sequence[_Shard], run_id: str, out: str | None) -> dict[str, Any]:
    """BLOCKER.json for the union: the shards' codes together, preflight's own guidance once."""
    blockers = [shard.docs[BLOCKER] for shard in shards if BLOCKER in shard.docs]
    first = blockers[0]
    missing = [item["name"] for item in first["missing_inputs"]]
    covered = {INPUTS[name].reason for name in missing}
    codes = sorted({code for blocker in blockers for code in blocker["reason_codes"]})
    # A shard's guidance is preflight's lines, then the catalog remediation of each of its uncovered codes.
    tail = len(set(first["reason_codes"]) - covered)
    guidance = first["guidance"][: len(first["guidance"]) - tail]
    return blocker_document(run_id=run_id, missing=missing, codes=codes, guidance=guidance,
                             rerun=_retarget(first["rerun"], out))


def _timings(shards: Sequence[_Shard], order: Sequence[str]) -> dict[str, Any]:
    """The shards' timings as one volatile file: first start, last finish, the longest shard, steps in order."""
    timings = [shard.docs[TIMINGS] for shard in shards]
    steps = [step for sid in order for t in timings for step in t["steps"] if step["scenario"] == sid]
    return {
        "schema_version": 1,
        "run_id": timings[0]["run_id"],
        "started_at": min(t["started_at"] for t in timings),
        "finished_at": max(t["finished_at"] for t in timings),
        "duration_ms": max(t["duration_ms"] for t in timings),
        "concurrency": max(t["concurrency"] for t in timings),
        "steps": steps,
    }


def merge_shards(run_dirs: Sequence[Path], out: str | None = None, sign_key: bytes | None = None) -> dict[str, bytes]:
    """The unsharded run's receipt set (relative path → bytes) from its shards' run directories.

    ``out`` is the merged set's directory as the rerun command names it (relative to the working
    directory): BLOCKER.json's rerun writes there, as the unsharded run's names its own ``--out``.
    Shards run with ``--junit`` give a merged junit.xml; ``sign_key`` signs the merged attestation,
    as ``run --sign-key`` signs the unsharded one.

    Raises ``MergeError`` listing every problem: an input that does not validate or is no
    shard, shards of different runs, a shard given twice or missing.
    """
    shards: list[_Shard] = []
    problems: list[str] = []
    for run_dir in run_dirs:
        shard, found = _load(Path(run_dir))
        problems += found
        if shard is not None:
            shards.append(shard)
    # Only shards that validated are compared: an invalid input is not also reported as a missing shard.
    if shards and not problems:
        problems += _set_problems(shards) + _run_problems(shards)
    if problems or not shards:
        raise MergeError(problems or ["no run directories to merge"])

    manifest = {**shards[0].manifest, "shard": None}
    order = [s["id"] for s in manifest["scenarios"]]
    by_id = {s["id"]: s for shard in shards for s in shard.summary["scenarios"]}
    scenarios = [by_id[sid] for sid in order]
    steps = [step for s in scenarios for step in [*s["steps"], *s["cleanup"]]]
    summary = {k: v for k, v in shards[0].summary.items() if k not in _DERIVED}
    summary.update(
        scenarios=scenarios,
        counts={k: sum(shard.summary["counts"][k] for shard in shards) for k in shards[0].summary["counts"]},
        reason_codes=sorted({code for shard in shards for code in shard.summary["reason_codes"]}),
        result=_result(shards),
    )
    interrupted = any(step["reason_code"] == "interrupted" for step in steps)
    evidence = {name: doc for shard in shards for name, doc in shard.docs.items() if kind_for(name) == "evidence"}
    blocker = _blocker(shards, summary["run_id"], out) if summary["result"] == "manual-required" else None
    junit = [(Path(run_dir) / JUNIT_FILE).is_file() for run_dir in run_dirs]
    if any(junit) and not all(junit):
        raise MergeError([f"only some shards hold {JUNIT_FILE}: run every shard with --junit, or none"])
    merged = MemorySet()
    digests = build_receipt_set(
        summary=summary, manifest=manifest, timings=_timings(shards, order), blocker=blocker, evidence=evidence,
        exit_code=exits.INTERRUPTED if interrupted else exits.FOR_RESULT[summary["result"]],
        rendered={JUNIT_FILE: junit_xml(summary)} if all(junit) else {}, write=merged.write,
    )
    for name, data in attestation_files(digests, summary, manifest["scenarios"], sign_key).items():
        merged.write(name, (data,))
    return merged.files
