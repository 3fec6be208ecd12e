#!/usr/bin/env bash
# Writes the profiles in models/ that come from published ranges (seed 000's service table)
# rather than from a calibration. Deterministic apart from the date in `method`.
set -euo pipefail
cd "$(dirname "$0")/.."
llmcap=${LLMCAP:-target/release/llmcap}
[ -x "$llmcap" ] || cargo build --release --quiet
seed="seed 000 (shared/seeds/000_e24794f0a932cc26.txt) service table"
date="seed 000, undated; read 2026-11"
p() { "$llmcap" profile-from-ranges --date "$date" "$@"; }
source scripts/limits.sh
# Context windows are the models' published ones; quotas: AWS's per-account defaults vary by
# model, region and account, so seed 002's "default 800 RPM and 600,000 TPM" stands in for all
# and is marked as such. Check Service Quotas for your account.
quota_source="ASSUMED from seed 002 (default 800 RPM / 600,000 TPM for standard accounts); per-model defaults vary, check Service Quotas; context window as published by the model vendor, last read 2025-10, not re-checked"

p --model-id anthropic.claude-3-5-sonnet-20241022-v2:0 --name "Claude 3.5 Sonnet on Amazon Bedrock (published ranges)" \
  --ttft-ms 300..600 --tpot-ms 25..40 --max-concurrency 200 --max-prompt-tokens 200000 \
  --source "$seed: TTFT 300-600 ms, TPOT 25-40 ms, 200+ concurrent, spikes to 2+ s" \
  --target "Amazon Bedrock on-demand" --out models/bedrock-claude-3-5-sonnet.toml
p --model-id anthropic.claude-3-5-haiku-20241022-v1:0 --name "Claude 3.5 Haiku on Amazon Bedrock (published ranges)" \
  --ttft-ms 200..400 --tpot-ms 35..50 --max-concurrency 500 --max-prompt-tokens 200000 \
  --source "$seed: TTFT 200-400 ms, TPOT 35-50 ms, 500+ concurrent" \
  --target "Amazon Bedrock on-demand" --out models/bedrock-claude-3-5-haiku.toml
p --model-id anthropic.claude-3-opus-20240229-v1:0 --name "Claude 3 Opus on Amazon Bedrock (published ranges)" \
  --ttft-ms 400..800 --tpot-ms 15..30 --max-concurrency 100 --max-prompt-tokens 200000 \
  --source "$seed: TTFT 400-800 ms, TPOT 15-30 ms, 100+ concurrent" \
  --target "Amazon Bedrock on-demand" --out models/bedrock-claude-3-opus.toml
p --model-id sagemaker-ml.g5.xlarge --name "ml.g5.xlarge SageMaker real-time endpoint (published ranges)" \
  --ttft-ms 50..200 --tpot-ms 50..100 --max-concurrency 50 \
  --source "$seed: ml.g5.xlarge TTFT 50-200 ms, TPOT 50-100 ms, 10-50 concurrent, 2-5 min startup" \
  --target "SageMaker real-time ml.g5.xlarge" --out models/sagemaker-ml-g5-xlarge.toml
p --model-id sagemaker-ml.g5.12xlarge --name "ml.g5.12xlarge SageMaker real-time endpoint (assumed from ml.g5.xlarge ranges)" \
  --ttft-ms 50..200 --tpot-ms 50..100 --max-concurrency 50 \
  --source "ASSUMED: seed 000 publishes no ml.g5.12xlarge figures; its ml.g5.xlarge ranges (TTFT 50-200 ms, TPOT 50-100 ms, 10-50 concurrent) are used per instance. Calibrate on the instance to replace this" \
  --target "SageMaker real-time ml.g5.12xlarge" --out models/sagemaker-ml-g5-12xlarge.toml
# Seed 000's ml.p4d.24xlarge row gives TPOT 200-500 ms: slower per token than its ml.g5.xlarge row
# (50-100 ms) on 8 A100s against one A10G, which cannot be right. Read as 200-500 output tokens/s
# (a column mix-up), i.e. TPOT 2-5 ms; marked ASSUMED so a calibration replaces it first.
p --model-id sagemaker-ml.p4d.24xlarge --name "ml.p4d.24xlarge SageMaker real-time endpoint (published ranges, TPOT reading assumed)" \
  --ttft-ms 30..150 --tpot-ms 2..5 --max-concurrency 500 \
  --source "$seed: ml.p4d.24xlarge TTFT 30-150 ms, 100-500 concurrent, \$35-40/h; its TPOT column (200-500) ASSUMED to be tokens/s, i.e. TPOT 2-5 ms, because 200-500 ms per token would be slower than the ml.g5.xlarge row" \
  --target "SageMaker real-time ml.p4d.24xlarge" --out models/sagemaker-ml-p4d-24xlarge.toml
# Serverless: warm figures; cold starts (2-10 s per seed 000) are the simulator's serverless model.
p --model-id sagemaker-serverless --name "SageMaker Serverless Inference (published ranges, warm)" \
  --ttft-ms 100..500 --tpot-ms 20..80 --max-concurrency 200 \
  --source "$seed: SageMaker Serverless TTFT 100-500 ms warm (2-10 s cold), TPOT 20-80 ms, auto-scaling; 200 is the service's per-endpoint concurrency ceiling as last read (not re-checked)" \
  --target "SageMaker Serverless Inference" --out models/sagemaker-serverless.toml

limits models/bedrock-claude-3-5-sonnet.toml 200000 600000 800 "$quota_source" "2025-10"
limits models/bedrock-claude-3-5-haiku.toml 200000 600000 800 "$quota_source" "2025-10"
limits models/bedrock-claude-3-opus.toml 200000 600000 800 "$quota_source" "2025-10"
for f in models/sagemaker-ml-g5-xlarge.toml models/sagemaker-ml-g5-12xlarge.toml models/sagemaker-ml-p4d-24xlarge.toml models/sagemaker-serverless.toml; do
  limits "$f" - - - "SageMaker has no token quota; the context window is the served model's and the container's setting" "2025-10"
done
# The instance each range profile describes; the ranges name no model or precision, so a plan
# uses these profiles only where an option says why one may stand in (borrowed = "why").
hardware() {
  printf '\n# The instance the published ranges describe; they name no model or precision, so a plan uses\n# this profile only where an option says why it may stand in (borrowed = "why").\n[hardware]\naccelerator = "%s"\ncount = %s\n' "$2" "$3" >> "$1"
}
hardware models/sagemaker-ml-g5-xlarge.toml "NVIDIA A10G" 1
hardware models/sagemaker-ml-g5-12xlarge.toml "NVIDIA A10G" 4
hardware models/sagemaker-ml-p4d-24xlarge.toml "NVIDIA A100 40 GB" 8
