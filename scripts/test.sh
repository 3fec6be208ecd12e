#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs them.
#   - llama.cpp's llama-server with SmolLM2-135M (scripts/llama-server.sh; built once, ~10 min
#     on 2 cores, then cached under ~/.cache/llmcap)
#   - cargo test --release
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llmcap/target}"

bash scripts/llama-server.sh install
cargo test --release
