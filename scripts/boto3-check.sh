#!/usr/bin/env bash
# boto3 against a running `llmcap emulate`: the signature and validation checks seen from
# Python's SDK (tests/python/boto3_emulator.py).
#   scripts/boto3-check.sh URL
# boto3 (pinned in tests/python/requirements.txt) goes into a venv under ~/.cache/llmcap,
# created once and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
url="${1:?usage: $0 EMULATOR_URL}"
venv="${LLMCAP_CACHE:-$HOME/.cache/llmcap}/venv-boto3"

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet -r tests/python/requirements.txt
"$venv/bin/python" tests/python/boto3_emulator.py "$url"
