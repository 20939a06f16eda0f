#!/usr/bin/env bash
# The seed's invocation, kept working:
#   bash scripts/sdk-e2e/run_python_sdk_e2e.sh --dry-run|--live [ARGS...]
# Inputs come from the environment (AXIS_BASE_URL, AXIS_SESSION_*, AEGIS_POLICY_ID, SDK_E2E_PAYLOAD_URL, ...);
# ARGS are passed through to `velikey-e2e run` and, like every relative path, read from the caller's working
# directory (no PATH given: the repository's scenarios/). SDK_E2E_PYTHON_BIN names the interpreter (default
# python3) and the runner runs under exactly that interpreter: directly when it can import the runner, else in
# the repository's .venv when that was made from the same interpreter, else in an environment prepared for it
# (under ${XDG_CACHE_HOME:-~/.cache}/velikey-e2e). When it is missing, older than 3.10, or no environment can be
# prepared for it, the run ends manual-required (exit 3) with reason python_runtime_unsupported and a complete
# receipt set written by this script itself.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mode="${1:-}"
case "$mode" in
  --dry-run|--live) shift ;;
  *) echo "usage: $0 --dry-run|--live [velikey-e2e run ARGS...]" >&2; exit 2 ;;
esac
python_bin="${SDK_E2E_PYTHON_BIN:-python3}"
label="${mode#--}"
args=("$@")

# --out DIR / --out=DIR as the runner reads it; empty when not given.
out_arg=""
previous=""
for arg in "$@"; do
  case "$previous" in --out) out_arg="$arg" ;; esac
  case "$arg" in --out=*) out_arg="${arg#--out=}" ;; esac
  previous="$arg"
done

# Whether ARGS name a scenario PATH (anything that is neither an option nor an option's value).
has_paths() {
  local arg takes_value=""
  for arg in "$@"; do
    if [ -n "$takes_value" ]; then takes_value=""; continue; fi
    case "$arg" in
      --) return 0 ;;
      --*=*) ;;
      --out|--base-url|--payload-url|--policy-id|--rollback-token|--concurrency|--request-timeout|--deadline|\
      --run-id|--junit|--shard|--sign-key) takes_value=1 ;;
      -*) ;;
      *) return 0 ;;
    esac
  done
  return 1
}

is_receipt_set() {
  # Empty, or only names a receipt set holds (regular files, no symlinks) with the result receipt among them.
  local dir="$1" path rel
  [ -z "$(ls -A "$dir")" ] && return 0
  [ -f "$dir/python-sdk-e2e-result.json" ] && [ ! -L "$dir/python-sdk-e2e-result.json" ] || return 1
  while IFS= read -r -d '' path; do
    rel="${path#"$dir"/}"
    [ ! -L "$path" ] || return 1
    if [ -d "$path" ]; then
      case "$rel" in evidence) ;; evidence/[!.]*) [[ "$rel" != */*/* ]] || return 1 ;; *) return 1 ;; esac
      continue
    fi
    [ -f "$path" ] || return 1
    case "$rel" in
      SUMMARY.json|SUMMARY.md|run-manifest.json|python-sdk-e2e-result.json|BLOCKER.json|timings.json|\
      junit.xml|attestation.json|attestation.dsse.json) ;;
      evidence/[!.]*/[!.]*.json) [[ "$rel" != */*/*/* ]] || return 1 ;;
      *) return 1 ;;
    esac
  done < <(find "$dir" -mindepth 1 -print0)
}

rerun_text() {
  # The command that reruns this invocation, as the runner words it: paths relative to the caller's directory,
  # a rollback token by its variable (never its value).
  local arg takes="" script words
  script="$(realpath -m --relative-to="$PWD" "$root/scripts/sdk-e2e/run_python_sdk_e2e.sh")"
  case "$script" in */*) ;; *) script="./$script" ;; esac
  words="SDK_E2E_PYTHON_BIN=python3.12 $script $mode"
  for arg in ${args[@]+"${args[@]}"}; do
    case "$takes" in
      path) words+=" $(printf '%q' "$(realpath -m --relative-to="$PWD" "$arg")")"; takes=""; continue ;;
      secret) words+=' "$AEGIS_ROLLBACK_TOKEN"'; takes=""; continue ;;
      value) words+=" $(printf '%q' "$arg")"; takes=""; continue ;;
    esac
    case "$arg" in
      --rollback-token) words+=" $arg"; takes=secret ;;
      --rollback-token=*) words+=' --rollback-token "$AEGIS_ROLLBACK_TOKEN"' ;;
      --out|--junit|--sign-key|--ca-bundle) words+=" $arg"; takes=path ;;
      --out=*|--junit=*|--sign-key=*|--ca-bundle=*)
        words+=" ${arg%%=*}=$(printf '%q' "$(realpath -m --relative-to="$PWD" "${arg#*=}")")" ;;
      --base-url|--payload-url|--policy-id|--concurrency|--request-timeout|--deadline|--run-id|--shard)
        words+=" $arg"; takes=value ;;
      -*) words+=" $(printf '%q' "$arg")" ;;
      *) words+=" $(printf '%q' "$(realpath -m --relative-to="$PWD" "$arg")")" ;;
    esac
  done
  printf '%s' "$words"
}

json_text() {  # $1 as the inside of a JSON string: control characters dropped, \ and " escaped
  local text; text="$(printf '%s' "$1" | tr -d '\000-\037')"
  text="${text//\\/\\\\}"
  printf '%s' "${text//\"/\\\"}"
}

manual_required() {
  # No usable Python: write a schema-valid manual-required receipt set with bash alone.
  # $1: what the interpreter is (a version, "not found"); $2: why it cannot run the runner; $3: how to fix it.
  local found why how
  found="$(json_text "$1")" why="$(json_text "$2")" how="$(json_text "$3")"
  local run_id="run-$(printf 'python_runtime_unsupported %s %s' "$label" "$found" | sha256sum | cut -c1-16)"
  local out="${out_arg:-receipts/$label-$run_id}"
  out="${out%/}"
  if [ -L "$out" ] || { [ -e "$out" ] && [ ! -d "$out" ]; }; then
    echo "error: --out $out is a symbolic link or a file; give a directory" >&2; exit 2
  fi
  mkdir -p "$(dirname "$out")" 2>/dev/null || { echo "error: --out $out cannot be created" >&2; exit 2; }
  exec 9>"$(dirname "$out")/.$(basename "$out").lock"
  if ! flock -n 9; then echo "error: --out $out is in use by another run; wait for it or choose another --out" >&2; exit 2; fi
  if [ -d "$out" ] && ! is_receipt_set "$out"; then
    echo "error: --out $out is not empty and not a receipt set this tool wrote; the tool never deletes files it did not write: choose a new or empty directory" >&2
    exit 2
  fi
  local tmp
  tmp="$(mktemp -d "$(dirname "$out")/.$(basename "$out").tmp-XXXXXXXXXXXXXXXX")" || {
    echo "error: --out $out cannot be written" >&2; exit 2; }
  local counts='{
    "blocked": 0,
    "failed": 0,
    "passed": 0,
    "planned": 0,
    "skipped": 0
  }'
  local rerun; rerun="$(json_text "$(rerun_text)")"
  cat > "$tmp/SUMMARY.json" <<JSON
{
  "counts": $counts,
  "facts": {
    "auth_source": null,
    "confirm": false,
    "run_nonce_source": "fixed",
    "tenant": null,
    "transport": {
      "allow_insecure_http": false,
      "ca_bundle": {
        "sha256": null,
        "source": "default"
      },
      "proxy": {
        "origin": null,
        "source": null
      },
      "verify_tls": true
    },
    "versions": {
      "python": "unknown $found",
      "sdk": "velikey unknown",
      "tool": "velikey-e2e unknown"
    }
  },
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
    "max_retries": 3,
    "request_timeout": "30",
    "verify_tls": true
  },
  "python": {
    "implementation": "unknown",
    "version": "$found"
  },
  "run_id": "$run_id",
  "run_nonce": {
    "source": "fixed",
    "value": "fixed"
  },
  "scenarios": [],
  "schema_version": 1,
  "sdk": {
    "name": "velikey",
    "version": "unknown"
  },
  "shard": null,
  "source_date": null,
  "tool": {
    "name": "velikey-e2e",
    "version": "unknown"
  },
  "transport": {
    "allow_insecure_http": false,
    "ca_bundle": {
      "sha256": null,
      "source": "default"
    },
    "proxy": {
      "origin": null,
      "source": null
    },
    "verify_tls": true
  }
}
JSON
  cat > "$tmp/BLOCKER.json" <<JSON
{
  "guidance": [
    "$why",
    "$how"
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
  # Exactly what runner/receipts/templates/summary.md.j2 renders for this summary: validate checks it.
  local readiness="" todo="Nothing failed or was blocked."
  if [ "$label" = dry-run ]; then
    readiness=$'\n## Readiness for a live run\n\nMissing live inputs: none.\n'
    todo='Nothing failed. Provide the missing live inputs above, then rerun with `--live`.'
  fi
  cat > "$tmp/SUMMARY.md" <<MD
# velikey-e2e: MANUAL-REQUIRED ($label)

- Result: **manual-required**
- Mode: $label
- Run: \`$run_id\`
- Counts: passed 0, failed 0, blocked 0, skipped 0, planned 0
- Reason codes: \`python_runtime_unsupported\`

## Where and how it ran

- Tenant: not given
- Auth source: none
- TLS and proxy: \`allow_insecure_http\`: \`false\`, \`ca_bundle.sha256\`: \`null\`, \`ca_bundle.source\`: \`default\`, \`proxy.origin\`: \`null\`, \`proxy.source\`: \`null\`, \`verify_tls\`: \`true\`
- Effects: no \`--confirm\`: applies and rollbacks that are not dry runs are blocked
- Versions: velikey-e2e unknown, SDK velikey unknown, unknown $found
- Run nonce: from \`fixed\`
$readiness
## What to do

$todo
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
  # The in-toto statement runner/attest/statement.py writes, in its canonical bytes: every file but timings.
  local subject="" name sep=""
  for name in BLOCKER.json SUMMARY.json SUMMARY.md python-sdk-e2e-result.json run-manifest.json; do
    subject+="$sep"'
    {
      "digest": {
        "sha256": "'"$(sha256sum "$tmp/$name" | cut -d' ' -f1)"'"
      },
      "name": "'"$name"'"
    }'
    sep=","
  done
  cat > "$tmp/attestation.json" <<JSON
{
  "_type": "https://in-toto.io/Statement/v1",
  "predicate": {
    "configuration": [],
    "failedTests": [],
    "passedTests": [],
    "result": "fail",
    "warnedTests": []
  },
  "predicateType": "https://in-toto.io/attestation/test-result/v0.1",
  "subject": [$subject
  ]
}
JSON
  if [ -d "$out" ]; then  # a previous receipt set (checked above, under the lock): park it, swap, drop it
    local parked="$(dirname "$out")/.$(basename "$out").old-${tmp##*.tmp-}"
    mv "$out" "$parked" && mv "$tmp" "$out" && rm -rf "$parked"
  else
    mv "$tmp" "$out"
  fi
  echo "result: manual-required  reason: python_runtime_unsupported  ($2)" >&2
  echo "receipts: $out" >&2
  exit 3
}

if ! command -v "$python_bin" >/dev/null 2>&1; then
  manual_required "not found" "SDK_E2E_PYTHON_BIN ($python_bin) is not found; the runner needs Python 3.10 or newer." \
    "Install Python 3.10+ (the A4 baseline uses python3.12) and point SDK_E2E_PYTHON_BIN at it."
fi
version="$("$python_bin" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo unknown)"
if ! "$python_bin" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
  manual_required "$version" "SDK_E2E_PYTHON_BIN ($python_bin) is $version; the runner needs Python 3.10 or newer." \
    "Install Python 3.10+ (the A4 baseline uses python3.12) and point SDK_E2E_PYTHON_BIN at it."
fi

# The runner names this script (not velikey-e2e) in BLOCKER.json's rerun command.
export SDK_E2E_WRAPPER="$root/scripts/sdk-e2e/run_python_sdk_e2e.sh"
if ! has_paths "$@"; then
  set -- "$@" "$root/scenarios"
fi
# Python puts the working directory first on sys.path for -c; a folder named runner/ there must not shadow ours.
unshadow='import os, sys
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]
'
launch="${unshadow}from runner._entry import main
main()"
usable() {  # $1 can import this repository's runner (PYTHONPATH as set by the caller)
  "$1" -c "${unshadow}import runner.cli, runner, sys
sys.exit(0 if os.path.realpath(runner.__file__) == os.path.realpath(sys.argv[1]) else 1)" "$root/runner/__init__.py" \
    >/dev/null 2>&1
}
identity() { "$1" -c 'import platform, sys; print(platform.python_implementation() + "-%d.%d.%d" % sys.version_info[:3])'; }

if PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" usable "$python_bin"; then
  export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
  exec "$python_bin" -c "$launch" run "$mode" "$@"
fi
# The interpreter lacks the runner's dependencies: an environment made from exactly this interpreter.
want="$(identity "$python_bin")"
cache="${XDG_CACHE_HOME:-${HOME:-$root}/.cache}/velikey-e2e/envs"
prepared="$cache/$want-$(printf '%s' "$root" | cksum | cut -d' ' -f1)"
for env in "$root/.venv" "$prepared"; do
  if [ -x "$env/bin/python" ] && [ "$(identity "$env/bin/python" 2>/dev/null)" = "$want" ] && usable "$env/bin/python"; then
    exec "$env/bin/python" -c "$launch" run "$mode" "$@"
  fi
done
echo "preparing an environment for $python_bin ($want) in $prepared (once)" >&2
rm -rf "$prepared"
log="$(mktemp)"
if ! { "$python_bin" -m venv "$prepared" && "$prepared/bin/python" -m pip install --quiet -e "$root"; } >"$log" 2>&1; then
  tail -n 5 "$log" >&2
  rm -rf "$prepared" "$log"
  manual_required "$version" \
    "SDK_E2E_PYTHON_BIN ($python_bin) is Python $version but cannot run the runner: it lacks the runner's dependencies and an environment could not be prepared for it (venv or pip install failed)." \
    "Install the project into that interpreter ($python_bin -m pip install -e .) or let this script reach PyPI once, then rerun."
fi
rm -f "$log"
exec "$prepared/bin/python" -c "$launch" run "$mode" "$@"
