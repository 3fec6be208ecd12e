#!/usr/bin/env bash
# The README's test command: installs what the tests need, runs them, then checks what people
# read.
#   1. llama.cpp's llama-server with SmolLM2-135M (scripts/llama-server.sh; built once, ~10 min
#      on 2 cores, then cached under ~/.cache/llmcap) for the real-LLM calibrate test
#   2. cargo test --release
#   3. boto3 against `llmcap emulate` (scripts/boto3-check.sh: signatures, limits), the
#      OpenAI and Anthropic SDKs against its bedrock-mantle paths with small mantle quotas
#      (scripts/mantle-check.sh, which runs and stops a second emulator of its own), then
#      a calibration run (against the emulator through the real Bedrock SDK) and a plan,
#      each with its report; both report.html pages screenshot in headless Chromium
#      (scripts/report-screenshot.sh), and a forecast's; the notebooks executed against them
#      (scripts/run-notebooks.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
# The same target directory as `cargo run --release -- plan` (the README's other command), so
# the two share one build; CI (.ci/run) points it at a cache under $HOME instead.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

bash scripts/llama-server.sh install
cargo test --release

llmcap="$CARGO_TARGET_DIR/release/llmcap"
work="$(mktemp -d)"
emulator_pid=
cleanup() {
  [[ -n "$emulator_pid" ]] && kill "$emulator_pid" 2>/dev/null || true
}
trap cleanup EXIT

"$llmcap" emulate --profile tests/fixtures/emulator-fast.toml >"$work/emulator.url" 2>/dev/null &
emulator_pid=$!
for _ in $(seq 1 100); do
  [[ -s "$work/emulator.url" ]] && break
  sleep 0.1
done
url="$(head -1 "$work/emulator.url")"
[[ "$url" == http://127.0.0.1:* ]] || { echo "test.sh: the emulator did not start" >&2; exit 1; }

bash scripts/boto3-check.sh "$url"
bash scripts/mantle-check.sh "$llmcap"

# The emulator's default keys (llmcap emulate --access-key-id/--secret-access-key).
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "$llmcap" calibrate --target bedrock \
  --model-id test.fast-model-v1:0 --region us-east-1 --endpoint-url "$url" --yes \
  --concurrency 1,2,4,8 --prompt-tokens 64,1024 --output-tokens 32 --requests-per-level 12 \
  --no-progress --out "$work/run" >/dev/null
"$llmcap" report "$work/run"
"$llmcap" plan --out "$work/plan" >/dev/null
"$llmcap" forecast --out "$work/forecast" >/dev/null

bash scripts/report-screenshot.sh "$work/run/report.html" "$work/run-report.png"
bash scripts/report-screenshot.sh "$work/plan/report.html" "$work/plan-report.png"
bash scripts/report-screenshot.sh "$work/forecast/report.html" "$work/forecast-report.png"
bash scripts/run-notebooks.sh "$work/run" "$work/plan" "$work/forecast"
echo "reports, screenshots and notebooks checked in $work"
