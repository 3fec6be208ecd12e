#!/usr/bin/env bash
# Re-fits the profiles in models/ that come from published tables. Deterministic: running it
# again changes nothing but the fit date in `method`.
set -euo pipefail
cd "$(dirname "$0")/.."
llmcap=${LLMCAP:-target/release/llmcap}
[ -x "$llmcap" ] || cargo build --release --quiet

"$llmcap" fit calibration/reference/seed002_bedrock_llama33_70b.csv \
  --out models/bedrock-llama3-3-70b-instruct.toml \
  --model-id meta.llama3-3-70b-instruct-v1:0 \
  --name "Llama 3.3 70B Instruct on Amazon Bedrock (seed 002)" \
  --source "seed 002 (shared/seeds/002_b1411364f5eb12d6.txt): medians read off its figures 5-8 and text; 60 requests per level, interval mode, max_tokens 350, temperature 0.5; table calibration/reference/seed002_bedrock_llama33_70b.csv" \
  --date "published undated; read 2026-11" \
  --target "Amazon Bedrock us-west-2, cross-region profile us.meta.llama3-3-70b-instruct-v1:0, on-demand, quotas raised to 6,000 RPM and 36,000,000 TPM"
source scripts/limits.sh
limits models/bedrock-llama3-3-70b-instruct.toml 128000 600000 800 \
  "seed 002: default quotas 800 RPM and 600,000 TPM for standard accounts; context window 128K as published by Meta" \
  "published undated; read 2026-11"
