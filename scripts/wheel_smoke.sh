#!/usr/bin/env bash
# The wheel as a new user meets it: build it, install it into a fresh virtual environment outside the
# checkout, and from an empty directory run `demo`, `validate`, `verify` and `run --dry-run`; an installed demo
# must equal receipts/example/ byte for byte (timings.json aside, the one volatile file).
# Usage: scripts/wheel_smoke.sh   (PYTHON=python3.12 to try another interpreter)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
STEP="start"
trap 'echo "wheel-smoke: FAILED at: $STEP" >&2' ERR

step() { STEP="$1"; echo "wheel-smoke: $STEP" >&2; }
# A command's own output is shown only when it fails, so a green run prints one line per step.
quiet() { "$@" >"$WORK/output" 2>&1 || { cat "$WORK/output" >&2; return 1; }; }

step "build the wheel"
quiet "$PYTHON" -m pip wheel --no-deps --wheel-dir "$WORK/dist" "$ROOT"
step "create a fresh virtual environment"
"$PYTHON" -m venv "$WORK/venv"
step "install the wheel"
quiet "$WORK/venv/bin/python" -m pip install "$WORK"/dist/velikey_e2e-*.whl
E2E="$WORK/venv/bin/velikey-e2e"

mkdir "$WORK/empty"
cd "$WORK/empty"
step "velikey-e2e demo --out X (from an empty directory)"
quiet "$E2E" demo --out "$WORK/X"
step "velikey-e2e validate X"
quiet "$E2E" validate "$WORK/X"
step "velikey-e2e verify X"
quiet "$E2E" verify "$WORK/X"
step "velikey-e2e run --dry-run --out Y --sign-key K (a throwaway Ed25519 key)"
quiet "$WORK/venv/bin/python" -c 'import sys
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
key = Ed25519PrivateKey.generate()
open(sys.argv[1], "wb").write(key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
open(sys.argv[2], "wb").write(key.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
' "$WORK/key.pem" "$WORK/key.pub"
quiet "$E2E" run --dry-run --out "$WORK/Y" --sign-key "$WORK/key.pem"
step "velikey-e2e validate Y"
quiet "$E2E" validate "$WORK/Y"
step "velikey-e2e verify Y --key K.pub"
quiet "$E2E" verify "$WORK/Y" --key "$WORK/key.pub"
step "X equals receipts/example/ byte for byte (but timings.json)"
diff -r --exclude=timings.json "$ROOT/receipts/example" "$WORK/X"
step "the working directory is still empty"
test -z "$(ls -A "$WORK/empty")"
echo "wheel-smoke: ok" >&2
