#!/usr/bin/env bash
# The OpenAI and Anthropic Python SDKs against `llmcap emulate`'s bedrock-mantle paths
# (tests/python/mantle_emulator.py): starts two emulators with small mantle quotas, one where
# output TPM runs out while input has room (--mantle-input-tpm 1000000 --mantle-output-tpm 100)
# and one the other way round (--mantle-input-tpm 5000 --mantle-output-tpm 1000000), runs the
# checks, and stops them.
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
input_emulator_pid=
cleanup() {
  [[ -n "$emulator_pid" ]] && kill "$emulator_pid" 2>/dev/null || true
  [[ -n "$input_emulator_pid" ]] && kill "$input_emulator_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$llmcap" emulate --profile tests/fixtures/emulator-fast.toml \
  --mantle-input-tpm 1000000 --mantle-output-tpm 100 >"$work/emulator.url" 2>/dev/null &
emulator_pid=$!
"$llmcap" emulate --profile tests/fixtures/emulator-fast.toml \
  --mantle-input-tpm 5000 --mantle-output-tpm 1000000 >"$work/input-emulator.url" 2>/dev/null &
input_emulator_pid=$!
for _ in $(seq 1 100); do
  [[ -s "$work/emulator.url" && -s "$work/input-emulator.url" ]] && break
  sleep 0.1
done
url="$(head -1 "$work/emulator.url")"
input_url="$(head -1 "$work/input-emulator.url")"
for u in "$url" "$input_url"; do
  [[ "$u" == http://127.0.0.1:* ]] || { echo "mantle-check.sh: an emulator did not start" >&2; exit 1; }
done

"$venv/bin/python" tests/python/mantle_emulator.py "$url" "$input_url"
