//! Command-line arguments (clap derive). Parsing only: each command's work is in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// What an LLM deployment on Amazon Bedrock or SageMaker will hold, what quota it needs and what
/// it will really cost — before the money is spent.
///
/// Metrics, as `vllm bench serve` names them:
///   TTFT  time to first token: first content token − send (seconds)
///   TPOT  time per output token, decode only: (last − first) / (output tokens − 1).
///         GuideLLM and AIPerf call this ITL.
///   tokens/s per request = 1 / TPOT (what one user sees while text streams)
///   system tokens/s      = concurrency × tokens/s per request (what the endpoint produces)
#[derive(Debug, Parser)]
#[command(name = "llmcap", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Fit(FitArgs),
    Predict(PredictArgs),
}

/// Fit a performance profile from calibration records or a table of level medians.
///
/// The model: all decoding requests share one step time, which grows with concurrency n and
/// held context K = n·(prompt + output/2):
///   TPOT = (t0 + t1·n + t2·K) · S(K),  S a smooth saturation knee
///   TTFT = prefill time (a0 + a1·prompt) · load factor
/// Several candidate forms are fitted (Levenberg–Marquardt on log errors of level medians, so
/// spikes do not pull the fit) and the one with the lowest leave-one-level-out error is kept.
/// Printed: measured vs predicted per level, leave-one-level-out predictions, held-out levels.
///
/// Example:
///   llmcap fit calibration/reference/seed002_bedrock_llama33_70b.csv --concurrency 1,10,50
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct FitArgs {
    /// A calibration run directory (with requests.csv), a per-request records CSV, or a table of
    /// medians (columns input_tokens, max_output_tokens, concurrency, median_tps_per_request,
    /// median_ttft_s_low[, median_ttft_s_high]).
    pub input: PathBuf,
    /// Write the profile (TOML) here. Without it, the fit is only printed.
    #[arg(long, value_name = "PROFILE.toml")]
    pub out: Option<PathBuf>,
    /// Fit only these concurrency levels; the others are predicted and shown as held out.
    #[arg(long, value_delimiter = ',', value_name = "N,N,...")]
    pub concurrency: Option<Vec<f64>>,
    /// The service's model id, e.g. meta.llama3-3-70b-instruct-v1:0 (default: from the run's
    /// manifest.json).
    #[arg(long)]
    pub model_id: Option<String>,
    /// A readable name for the profile.
    #[arg(long)]
    pub name: Option<String>,
    /// Where the measurements come from (default: the input path).
    #[arg(long)]
    pub source: Option<String>,
    /// When they were measured or published (default: from the manifest, else today).
    #[arg(long)]
    pub date: Option<String>,
    /// The endpoint measured: service, region, deployment.
    #[arg(long)]
    pub target: Option<String>,
    /// Print machine-readable JSON (the profile with its fit report) instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Predict speed at operating points from a profile.
///
/// For every combination of --concurrency and --prompt-tokens: p50 TTFT (s), p50 TPOT (s),
/// tokens/s per request (1 / TPOT) and system tokens/s (concurrency × per request). A point
/// outside the range the profile was fitted on is marked as extrapolated.
///
/// Example:
///   llmcap predict --profile models/bedrock-llama3-3-70b-instruct.toml \
///       --concurrency 1,10,30,50 --prompt-tokens 43,6027
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct PredictArgs {
    /// The profile to predict from (TOML, as written by `llmcap fit`).
    #[arg(long, value_name = "PROFILE.toml")]
    pub profile: PathBuf,
    /// Requests in flight at once.
    #[arg(long, value_delimiter = ',', value_name = "N,N,...", required = true)]
    pub concurrency: Vec<f64>,
    /// Prompt (input) tokens per request.
    #[arg(long, value_delimiter = ',', value_name = "N,N,...", required = true)]
    pub prompt_tokens: Vec<f64>,
    /// Output tokens per request.
    #[arg(long, default_value_t = 350.0)]
    pub output_tokens: f64,
    /// Print a JSON array of objects with keys concurrency, prompt_tokens, output_tokens,
    /// ttft_s, tpot_s, tps_per_request, system_tps, extrapolated.
    #[arg(long)]
    pub json: bool,
}
