#!/usr/bin/env bash
# The seed's invocation, kept working:
#   bash scripts/sdk-e2e/run_python_sdk_e2e.sh --dry-run|--live [ARGS...]
# Inputs come from the environment (AXIS_BASE_URL, AXIS_SESSION_*, AEGIS_POLICY_ID, SDK_E2E_PAYLOAD_URL, ...);
# ARGS are passed through to `velikey-e2e run`. SDK_E2E_PYTHON_BIN names the interpreter (default python3):
# when it is missing or older than 3.10 the run ends manual-required (exit 3) with reason
# python_runtime_unsupported and a complete receipt set written by this script itself.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mode="${1:-}"
case "$mode" in
  --dry-run|--live) shift ;;
  *) echo "usage: $0 --dry-run|--live [velikey-e2e run ARGS...]" >&2; exit 2 ;;
esac
python_bin="${SDK_E2E_PYTHON_BIN:-python3}"

unsupported_runtime() {
  # No usable Python: write a schema-valid manual-required receipt set with bash alone.
  local found="$1" label="${mode#--}"
  shift
  local run_id="run-$(printf 'python_runtime_unsupported %s %s' "$label" "$found" | sha256sum | cut -c1-16)"
  local out="$root/receipts/$label-$run_id" previous=""
  for arg in "$@"; do  # honour --out DIR / --out=DIR like the runner would
    case "$previous" in --out) out="$arg" ;; esac
    case "$arg" in --out=*) out="${arg#--out=}" ;; esac
    previous="$arg"
  done
  local tmp; tmp="$(mktemp -d "$(dirname "$out")/.$(basename "$out").tmp-XXXXXX" 2>/dev/null || true)"
  if [ -z "$tmp" ]; then mkdir -p "$(dirname "$out")"; tmp="$(mktemp -d "$(dirname "$out")/.$(basename "$out").tmp-XXXXXX")"; fi
  local counts='{
    "blocked": 0,
    "failed": 0,
    "passed": 0,
    "planned": 0,
    "skipped": 0
  }'
  local rerun="SDK_E2E_PYTHON_BIN=python3.12 bash scripts/sdk-e2e/run_python_sdk_e2e.sh $mode"
  cat > "$tmp/SUMMARY.json" <<JSON
{
  "counts": $counts,
  "mode": "$label",
  "readiness": {
    "missing_inputs": [],
    "ready": false
  },
  "reason_codes": [
    "python_runtime_unsupported"
  ],
  "result": "manual-required",
  "run_id": "$run_id",
  "scenarios": [],
  "schema_version": 1,
  "tool": "velikey-e2e"
}
JSON
  cat > "$tmp/run-manifest.json" <<JSON
{
  "auth_source": null,
  "inputs": {},
  "mode": "$label",
  "options": {
    "confirm": false,
    "deadline": null,
    "embedded": false,
    "request_timeout": "30",
    "verify_tls": true
  },
  "python": {
    "implementation": "unknown",
    "version": "$found"
  },
  "run_id": "$run_id",
  "scenarios": [],
  "schema_version": 1,
  "sdk": {
    "name": "velikey",
    "version": "unknown"
  },
  "source_date": null,
  "tool": {
    "name": "velikey-e2e",
    "version": "unknown"
  }
}
JSON
  cat > "$tmp/BLOCKER.json" <<JSON
{
  "guidance": [
    "SDK_E2E_PYTHON_BIN ($python_bin) is $found; the runner needs Python 3.10 or newer.",
    "Install Python 3.10+ (the A4 baseline uses python3.12) and point SDK_E2E_PYTHON_BIN at it."
  ],
  "missing_inputs": [],
  "reason_codes": [
    "python_runtime_unsupported"
  ],
  "rerun": "$rerun",
  "run_id": "$run_id",
  "schema_version": 1
}
JSON
  cat > "$tmp/SUMMARY.md" <<MD
# velikey-e2e: MANUAL-REQUIRED ($label)

- Result: **manual-required**
- Run: \`$run_id\`
- Reason codes: \`python_runtime_unsupported\`

No scenario ran: \`SDK_E2E_PYTHON_BIN\` ($python_bin) is $found; Python 3.10 or newer is required.
Then rerun: \`$rerun\`
MD
  local now; now="$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)"
  cat > "$tmp/timings.json" <<JSON
{
  "concurrency": 1,
  "duration_ms": 0,
  "finished_at": "$now",
  "run_id": "$run_id",
  "schema_version": 1,
  "started_at": "$now",
  "steps": []
}
JSON
  digest() { printf 'sha256:%s' "$(sha256sum "$tmp/$1" | cut -d' ' -f1)"; }
  cat > "$tmp/python-sdk-e2e-result.json" <<JSON
{
  "counts": $counts,
  "exit_code": 3,
  "files": {
    "BLOCKER.json": "$(digest BLOCKER.json)",
    "SUMMARY.json": "$(digest SUMMARY.json)",
    "SUMMARY.md": "$(digest SUMMARY.md)",
    "run-manifest.json": "$(digest run-manifest.json)"
  },
  "mode": "$label",
  "reason_codes": [
    "python_runtime_unsupported"
  ],
  "result": "manual-required",
  "run_id": "$run_id",
  "schema_version": 1,
  "tool": "velikey-e2e"
}
JSON
  rm -rf "$out" && mv "$tmp" "$out"
  echo "result: manual-required  reason: python_runtime_unsupported  ($python_bin is $found)" >&2
  echo "receipts: $out" >&2
  exit 3
}

if ! command -v "$python_bin" >/dev/null 2>&1; then
  unsupported_runtime "not found" "$@"
fi
version="$("$python_bin" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo unknown)"
if ! "$python_bin" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
  unsupported_runtime "$version" "$@"
fi

cd "$root"
if PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" "$python_bin" -c 'import runner.cli' 2>/dev/null; then
  export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
  exec "$python_bin" -m runner run "$mode" "$@"
fi
# The interpreter lacks the runner's dependencies: install the project into .venv with it, once.
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e .
fi
exec .venv/bin/python -m runner run "$mode" "$@"
