//! `llmcap predict`: a profile → speed at the requested operating points.

use crate::bounds;
use anyhow::Result;
use serde::Serialize;

use crate::cli::PredictArgs;
use crate::files::load_profile;
use crate::perf::predict::Metric;
use crate::perf::Prediction;
use crate::report::tables;

/// The JSON contract of `llmcap predict --json`: exactly these keys.
#[derive(Serialize)]
struct PredictionRow {
    concurrency: f64,
    prompt_tokens: f64,
    output_tokens: f64,
    ttft_s: f64,
    tpot_s: f64,
    tps_per_request: f64,
    system_tps: f64,
    extrapolated: bool,
    /// 90 % intervals of the p50s `[low, high]`, for a profile with a server model.
    #[serde(skip_serializing_if = "Option::is_none")]
    ttft_s_90: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tpot_s_90: Option<[f64; 2]>,
    /// Figures the profile's measurements did not include ("ttft", "tpot"): their values are
    /// the server model's priors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_measured: Vec<Metric>,
}

impl From<&Prediction> for PredictionRow {
    fn from(p: &Prediction) -> Self {
        PredictionRow {
            concurrency: p.concurrency,
            prompt_tokens: p.prompt_tokens,
            output_tokens: p.output_tokens,
            ttft_s: p.ttft_p50_s(),
            tpot_s: p.tpot_p50_s(),
            tps_per_request: p.tps_per_request(),
            system_tps: p.system_tps(),
            extrapolated: p.extrapolated,
            ttft_s_90: p.ttft_p50_band.map(|b| [b.low, b.high]),
            tpot_s_90: p.tpot_p50_band.map(|b| [b.low, b.high]),
            not_measured: p.not_measured.clone(),
        }
    }
}

pub fn run(args: &PredictArgs) -> Result<()> {
    bounds::CONCURRENCY.check_all("--concurrency", &args.concurrency)?;
    bounds::PROMPT_TOKENS.check_all("--prompt-tokens", &args.prompt_tokens)?;
    bounds::OUTPUT_TOKENS.check("--output-tokens", args.output_tokens)?;
    let profile = load_profile(&args.profile)?;
    let mut predictions = Vec::new();
    for &prompt in &args.prompt_tokens {
        for &concurrency in &args.concurrency {
            predictions.push(
                profile
                    .model
                    .predict(concurrency, prompt, args.output_tokens)?,
            );
        }
    }
    if args.json {
        let rows: Vec<PredictionRow> = predictions.iter().map(PredictionRow::from).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{} ({}) — {}",
        profile.name, profile.model_id, profile.provenance.source
    );
    println!("{}", tables::predictions(&predictions));
    if let Some(limits) = &profile.limits {
        let part = |label: &str, v: Option<f64>| v.map(|v| format!("{label} {v:.0}"));
        let known: Vec<String> = [
            part("context window", limits.context_window.map(|c| c as f64)),
            part("default quota TPM", limits.quota_tpm),
            part("RPM", limits.quota_rpm),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !known.is_empty() {
            println!(
                "limits: {} ({}, {})",
                known.join(", "),
                limits.source,
                limits.date
            );
        }
        for p in &predictions {
            if let Some(window) = limits.context_window {
                if p.prompt_tokens + p.output_tokens > window as f64 {
                    println!(
                        "warning: prompt {} + output {} tokens exceed the {window}-token context window",
                        p.prompt_tokens, p.output_tokens
                    );
                }
            }
        }
    }
    if predictions.iter().any(|p| p.extrapolated) {
        let r = &profile.model.range;
        println!(
            "extrapolated: outside the fitted range (concurrency {}–{}, prompt {}–{} tokens, output {}–{} tokens) or past the saturation knee",
            r.concurrency[0], r.concurrency[1], r.prompt_tokens[0], r.prompt_tokens[1], r.output_tokens[0], r.output_tokens[1]
        );
    }
    Ok(())
}
