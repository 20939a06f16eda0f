"""The requests a live run sent, read back from its receipts, for the bare loop to send again.

Evidence records every exchange (method, URL, headers, and the body in its ``curl`` line) with
secrets redacted and the base URLs as ``$AXIS_BASE_URL`` / ``$SDK_E2E_PAYLOAD_URL``: the same
substitutions a user makes to rerun a recorded call. Probe bodies are generated, so the
scenario's ``payload`` spec travels instead. Only the receipt files are read, no runner module.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

__all__ = ["recorded_requests", "write_requests"]

_KEY = re.compile(r"idem-[0-9a-f]+")


def _probe_specs(scenario_files: list[Path]) -> dict[tuple[str, str], dict[str, int]]:
    specs: dict[tuple[str, str], dict[str, int]] = {}
    for path in scenario_files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for step in doc.get("steps", []):
            payload = (step.get("probe") or {}).get("payload")
            if payload:
                specs[(doc["id"], step["id"])] = {"size": int(payload["size"]), "seed": int(payload["seed"])}
    return specs


def _body(curl: str) -> str | None:
    words = shlex.split(curl)
    return words[words.index("--data-raw") + 1] if "--data-raw" in words else None


def _expect(step: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"path": a["path"], "op": a["op"], "expected": a["expected"]} for a in step.get("assertions") or []]


def recorded_requests(run_dir: Path, scenario_files: list[Path]) -> list[dict[str, Any]]:
    """Every request of the run in the order it was sent, with the step's assertions on its answer."""
    summary = json.loads((run_dir / "SUMMARY.json").read_text(encoding="utf-8"))
    probes = _probe_specs(scenario_files)
    out: list[dict[str, Any]] = []
    for scenario in summary["scenarios"]:
        for step in scenario["steps"]:
            if not step.get("evidence"):
                continue
            evidence = json.loads((run_dir / step["evidence"]).read_text(encoding="utf-8"))
            for exchange in evidence["exchanges"]:
                request = exchange["request"]
                entry: dict[str, Any] = {
                    "method": request["method"],
                    "url": request["url"],
                    "headers": request["headers"],
                    "body": _body(request["curl"]),
                }
                if (scenario["id"], step["id"]) in probes:
                    entry["payload"] = probes[(scenario["id"], step["id"])]
                    entry["sha256"] = request["body_sha256"]
                out.append(entry)
            # A value derived from several answers (the health score) is no path in any one of them.
            if len(evidence["exchanges"]) == 1:
                out[-1]["expect"] = _expect(step)
    return out


def _fresh(text: str, salt: str) -> str:
    # Same length, new value: a replayed key would be answered from the server's replay store,
    # which costs less than the fresh effect the runner's own run makes.
    def fresh(match: re.Match[str]) -> str:
        return "idem-" + hashlib.sha256(f"{match.group()}:{salt}".encode()).hexdigest()[: len(match.group()) - 5]

    return _KEY.sub(fresh, text)


def write_requests(path: Path, requests: list[dict[str, Any]], *, env: dict[str, str], salt: str) -> Path:
    """Write ``requests`` for the bare loop: real URLs and credentials in, fresh idempotency keys."""
    secrets = {"cookie": env["AXIS_SESSION_COOKIE"]}
    resolved = []
    for entry in requests:
        url = entry["url"].replace("$SDK_E2E_PAYLOAD_URL", env["SDK_E2E_PAYLOAD_URL"])
        url = url.replace("$AXIS_BASE_URL", env["AXIS_BASE_URL"])
        headers = {k: secrets.get(k, v) if v == "[REDACTED]" else _fresh(v, salt) for k, v in entry["headers"].items()}
        body = None if entry["body"] is None else _fresh(entry["body"], salt)
        resolved.append({**entry, "url": url, "headers": headers, "body": body})
    path.write_text(json.dumps(resolved), encoding="utf-8")
    return path
