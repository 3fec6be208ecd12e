#!/usr/bin/env bash
# The OpenAI and Anthropic Python SDKs against `llmcap emulate`'s bedrock-mantle paths
# (tests/python/mantle_emulator.py): starts its own emulator with small mantle quotas
# (--mantle-input-tpm 1000000 --mantle-output-tpm 100, so output TPM runs out while input has
# room), runs the checks, and stops it.
#   scripts/mantle-check.sh [LLMCAP_BINARY]
# The SDKs (pinned in tests/python/requirements.txt) share boto3-check.sh's venv under
# ~/.cache/llmcap, created once and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
llmcap="${1:-${CARGO_TARGET_DIR:-$PWD/target}/release/llmcap}"
venv="${LLMCAP_CACHE:-$HOME/.cache/llmcap}/venv-boto3"

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet -r tests/python/requirements.txt

work="$(mktemp -d)"
emulator_pid=
cleanup() {
  [[ -n "$emulator_pid" ]] && kill "$emulator_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$llmcap" emulate --profile tests/fixtures/emulator-fast.toml \
  --mantle-input-tpm 1000000 --mantle-output-tpm 100 >"$work/emulator.url" 2>/dev/null &
emulator_pid=$!
for _ in $(seq 1 100); do
  [[ -s "$work/emulator.url" ]] && break
  sleep 0.1
done
url="$(head -1 "$work/emulator.url")"
[[ "$url" == http://127.0.0.1:* ]] || { echo "mantle-check.sh: the emulator did not start" >&2; exit 1; }

"$venv/bin/python" tests/python/mantle_emulator.py "$url"
