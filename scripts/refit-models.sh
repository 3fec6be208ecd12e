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

# Llama 3.3 70B on one model copy of 2 × H100 (NVIDIA NIM's published table), fitted on all
# eight levels: the server model finds the batch limit where ITL stops growing; the hardware
# (2 × H100 at FP8, TP2) holds the fit above its roofline and is recorded in [hardware], so a
# plan refuses the profile for other hardware unless the option says why it borrows it.
"$llmcap" fit calibration/reference/published/nim_llama33_70b_2xh100_fp8_5000in_500out.csv \
  --out models/sagemaker-llama3-3-70b-nim-h100.toml \
  --model-id "meta-llama/Llama-3.3-70B-Instruct" \
  --model "Llama 3.3 70B Instruct" --accelerator H100 --count 2 --precision fp8 --tp 2 \
  --server "NVIDIA NIM 1.8.0 (TensorRT-LLM)" \
  --name "Llama 3.3 70B Instruct, one copy on 2 × H100 80 GB (FP8, TP2), NVIDIA NIM 1.8.0" \
  --source "NVIDIA NIM benchmarking guide, Performance page: Llama-3.3-70b-instruct, NIM 1.8.0 (TensorRT-LLM), 2× H100 80 GB, FP8, TP2, 5,000 input / 500 output tokens, AIPerf means (calibration/reference/published/nim_llama33_70b_2xh100_fp8_5000in_500out.csv); all eight levels c = 1-250: the server model finds the batch limit where ITL stops growing at 93 ms; held above the roofline of 2 × H100 at FP8" \
  --date "published 2025; read 2026-11" \
  --target "NVIDIA NIM on 2 × H100 80 GB (one model copy, TP2); on SageMaker ml.p5.48xlarge an instance holds four such copies"
cat >> models/sagemaker-llama3-3-70b-nim-h100.toml <<'LIMITS'

[limits]
output_burndown = 1.0
source = "SageMaker has no token quota; the context window is the served model's and the container's setting"
date = "2025-10"
LIMITS
