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
#[command(
    name = "llmcap",
    version,
    about,
    long_about,
    verbatim_doc_comment,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Calibrate(Box<CalibrateArgs>),
    Emulate(EmulateArgs),
    Report(ReportArgs),
    Fit(FitArgs),
    Predict(PredictArgs),
    Validate(ValidateArgs),
    Simulate(Box<SimulateArgs>),
    Workloads(WorkloadsArgs),
    BenchSim(BenchSimArgs),
    BenchClient(BenchClientArgs),
    ProfileFromRanges(ProfileFromRangesArgs),
    ProfileFromHardware(ProfileFromHardwareArgs),
    Pricing(PricingArgs),
    Plan(PlanArgs),
    Forecast(ForecastArgs),
    /// Users supported per option: the knee of the SLO and the 60 % planning point.
    Capacity(PlannerArgs),
    /// Each Bedrock quota at the peak: current against needed, an ask only where the peak
    /// throttles at the current value; --justify writes the quota document.
    Quota(PlannerArgs),
    /// Monthly cost per option: each Bedrock tier its model is sold in (Standard, Priority, Flex,
    /// Batch, Reserved with the reserve-or-not reading, Provisioned); SageMaker instance-hours.
    Cost(PlannerArgs),
    /// Per-request against dedicated options serving the same model: every volume where the
    /// cheaper option changes (a fleet bought by whole instances), and which is cheaper at the
    /// scenario's volume by how much.
    Breakeven(PlannerArgs),
    /// Realistic budget: list price → the month as simulated → data transfer and monitoring →
    /// demand, P50/P90 and each step with its source.
    Budget(PlannerArgs),
    Actual(ActualArgs),
    Workload(WorkloadArgs),
    Init(InitArgs),
    Verify(Box<VerifyArgs>),
}

/// Hold a plan to a live endpoint: the scenario's users measured beside the plan's simulation.
///
/// N users of the scenario's workload start in the steady phase of their sessions (as the plan
/// simulates them): they think between turns, resend and grow their history, send their
/// class's `cached_prefix` word for word (so a server's prefix cache can hit it, as a
/// SageMaker option's `prefix_cache` assumes) and draw their lengths from the workload. Requests sent during --warmup are recorded and left out of
/// the figures; nothing is retried. Every request is written to OUT/requests.csv as it
/// completes (Ctrl-C stops sending and keeps them all).
///
/// The plan's simulation of the same users, duration and warm-up runs --runs times with
/// different seeds: the 5th to 95th percentile of each figure over those runs is the spread a
/// run of this length shows if the plan is right, a latency's widened by the profile's 90 %
/// band for a median at the run's operating point (how far its fit leaves it uncertain).
/// Each measured figure (p50/p95 TTFT and TPOT,
/// requests and tokens a minute, errors, throttles) is inside, above or below it, and the run
/// says whether the option held N users at the scenario's SLO. Written to OUT/verify.md and
/// OUT/verify.json (--json prints it).
///
/// The plan's knee for the endpoint driven is printed with its interval: the knee were the
/// server as slow or as fast as the ends of the profile's 90 % fit bands. --users auto finds
/// the endpoint's own knee: it doubles the users from half the plan's knee while the SLO holds
/// (halves them while it breaks), then bisects to within 10 %, each population measured for
/// --duration after its warm-up, all within --max-duration.
///
/// A SageMaker option is simulated on --instances warm instances; a Bedrock option at its
/// current quotas (point --endpoint-url at `llmcap emulate` to run Bedrock's quota arithmetic
/// in front of a real server). Bedrock bills per token: the run prints what the plan expects
/// it to cost, refuses to start above --max-cost unless --yes, and stops sending once the
/// tokens sent reach --max-cost at the catalog's price.
///
/// Examples, against a local OpenAI-compatible server planned as a SageMaker option:
///   llmcap verify scenario.toml --option "Llama on ml.g5.xlarge" --users 8 --duration 300 \
///       --target openai --url http://127.0.0.1:8091
///   llmcap verify scenario.toml --option "Llama on ml.g5.xlarge" --users auto --duration 120 \
///       --max-duration 3600 --target openai --url http://127.0.0.1:8091
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct VerifyArgs {
    /// The scenario (its workload, SLO and options; its profile is the option's).
    pub scenario: PathBuf,
    /// The option to verify (its `name` in the scenario).
    #[arg(long)]
    pub option: String,
    /// Users driven at once, or `auto` to step them up to the endpoint's knee.
    #[arg(long, value_parser = parse_verify_users)]
    pub users: VerifyUsers,
    /// --users auto: seconds the whole search may take (warm-ups included); no population
    /// starts that would end after it.
    #[arg(long, default_value_t = 3_600.0)]
    pub max_duration: f64,
    /// Bedrock: refuse to start when the plan expects the run to cost more than this many US
    /// dollars, and stop sending once the tokens sent reach it.
    #[arg(long, default_value_t = 5.0)]
    pub max_cost: f64,
    /// Start even when the plan expects the run to cost more than --max-cost (the meter still
    /// stops it there), or when the model has no price in the catalog.
    #[arg(long)]
    pub yes: bool,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = 300.0)]
    pub duration: f64,
    /// Seconds sent before measuring (default: the plan's warm-up for the workload).
    #[arg(long)]
    pub warmup: Option<f64>,
    /// SageMaker: warm instances behind the endpoint, as simulated.
    #[arg(long, default_value_t = 1)]
    pub instances: u32,
    /// Simulations of the same run for the interval, each with its own seed.
    #[arg(long, default_value_t = 20)]
    pub runs: u32,
    /// Seconds a request may take before it is recorded as a timeout.
    #[arg(long, default_value_t = 120.0)]
    pub timeout: f64,
    /// A directory with bedrock.toml, sagemaker.toml, models.toml or hardware.toml replacing
    /// the built-in catalogs.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Where requests.csv, verify.md and verify.json are written (must not hold a run).
    #[arg(long, default_value = "llmcap-verify")]
    pub out: PathBuf,

    /// Continue an interrupted run in --out: the populations it finished (verify.json) are
    /// kept with their records, one cut short is dropped and driven again, and `--users auto`
    /// picks its search up where it stopped. The scenario, option, --warmup and --duration must
    /// be the run's.
    #[arg(long)]
    pub resume: bool,
    /// Print verify.json instead of the table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `verify --users`: a population, or the search for the endpoint's knee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyUsers {
    Fixed(u32),
    Auto,
}

fn parse_verify_users(text: &str) -> Result<VerifyUsers, String> {
    if text.trim().eq_ignore_ascii_case("auto") {
        return Ok(VerifyUsers::Auto);
    }
    match crate::commands::units::parse_count(text) {
        Ok(n @ 1..=10_000) => Ok(VerifyUsers::Fixed(n as u32)),
        Ok(n) => Err(format!("{n} users: drive 1 to 10,000, or `auto`")),
        Err(e) => Err(format!("{e}, or `auto`")),
    }
}

/// Write a commented scenario for a use case that `llmcap plan` runs as it is.
///
/// The scenario names its users, their traffic (a workload of request classes with length
/// distributions, think times and an office day's curve in your time zone, or your own
/// workload file), an SLO that suits the use case, and the model on Bedrock (and on SageMaker
/// where a profile of it on dedicated hardware is built in). Every field is commented; change
/// what you know.
///
/// Examples:
///   llmcap init --use-case rag --users 800 --utc-offset -5 --out support.toml
///   llmcap workload fit logs/ --out traffic.toml && llmcap init --workload traffic.toml
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct InitArgs {
    /// What the deployment is for: chat (multi-turn assistant), rag (questions over retrieved
    /// documents), agent (tool-calling loops), batch (documents one at a time, loose SLO).
    #[arg(long, value_enum, default_value_t = crate::plan::template::UseCase::Chat)]
    pub use_case: crate::plan::template::UseCase,
    /// Everyone who may use it (the employees the plan counts). Default: the users a learned
    /// --workload saw, else 500.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub users: Option<u32>,
    /// The model, by its catalog name: one with built-in profiles ("Llama 3.3 70B Instruct",
    /// "Claude 3.5 Sonnet v2", "Claude Sonnet 4.5", "Claude 3.5 Haiku", "Claude 3 Opus").
    #[arg(long, default_value = "Llama 3.3 70B Instruct")]
    pub model: String,
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Where the users are, hours from UTC (e.g. -5 for New York, 5.5 for India).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub utc_offset: f64,
    /// Use this workload file (e.g. from `llmcap workload fit`) in place of the use case's.
    #[arg(long, value_name = "WORKLOAD.toml")]
    pub workload: Option<PathBuf>,
    #[arg(long, default_value = "scenario.toml", value_name = "SCENARIO.toml")]
    pub out: PathBuf,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Fit a performance profile from calibration records or a table of level medians.
///
/// The server model: a continuous-batching server with at most B sequences in the batch
/// (or none), a decode step t0 + t1·n + t2·K, a prefill cost per prompt, per prompt token
/// and an attention term, whole or chunked prefills, and a fixed overhead. TTFT and TPOT are what
/// running it in a closed loop gives (slot wait + prefill queue + prefill; steps stretched by
/// the prefills beside them). It is fitted by simulating every level (Levenberg–Marquardt on
/// log errors, for each sharing policy over a grid of B); predict, simulate and plan run it.
/// Closed forms are fitted beside it and kept as the model when they fit clearly better:
///   TPOT = (t0 + t1·n + t2·K) · S(K),  S a smooth saturation knee, K = n·(prompt + output/2)
///   TTFT = prefill time (a0 + a1·prompt) · load factor
/// Printed: measured vs predicted per level, leave-one-level-out predictions of the closed
/// forms, held-out levels, the candidates. Held-out accuracy of the server model: `validate`.
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
    /// The model served, by its name in the model catalog (catalog/models.toml), e.g.
    /// "DeepSeek-R1": a mixture-of-experts model's decode step is then fitted with the experts
    /// a batch touches (`experts`, `experts_per_token`). Without it, the catalog model the
    /// input's file name names (or one of its aliases) is used, and said; `dense` for none.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
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
    #[command(flatten)]
    pub hardware: HardwareArgs,
    /// The copy's tensor-parallel degree, recorded in the profile's [hardware] (default: not
    /// stated).
    #[arg(long, value_name = "N")]
    pub tp: Option<u32>,
    /// The serving software and version measured (e.g. "vLLM 0.11"), recorded in [hardware].
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
    /// Print machine-readable JSON (the profile with its fit report) instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// The hardware measured, for the roofline's floors under the fit (src/physics); `fit` records
/// it with the model in the profile's [hardware], which `plan` checks against each option.
#[derive(Debug, Args, Clone, Default)]
pub struct HardwareArgs {
    /// The accelerator, by its name or alias in catalog/hardware.toml (H100, H200, MI300X,
    /// MI355X, Gaudi3, Wormhole, L40S, A10G, ...). Without it, read from the input's file name
    /// (`2xh100`, `8xGaudi3`, `wh_galaxy`), and said; `none` for no floors.
    #[arg(long, value_name = "NAME")]
    pub accelerator: Option<String>,
    /// Accelerators holding one copy of the model (tensor/expert parallel), with --accelerator.
    #[arg(long, value_name = "N")]
    pub count: Option<u32>,
    /// The weights' precision: bf16, fp16, fp8, int8, int4, fp4 (mxfp4). Without it, read from
    /// the file name, else the model's released precision (catalog/models.toml), else bf16.
    #[arg(long, value_name = "P")]
    pub precision: Option<String>,
}

/// Check the performance model on data it did not see: fit on some levels, predict the rest.
///
/// Fits the server model (batch slots, prefill contention, decode step) on the levels selected by
/// --fit-on (concurrency) and --fit-on-prompts (input tokens), predicts every other level of the
/// table, and prints measured against predicted p50 TPOT and TTFT, each prediction's 90 %
/// interval, and the median and worst error.
///
/// Example (NVIDIA NIM's published table, fitted on the levels a short benchmark covers):
///   llmcap validate nim.csv --fit-on 1,5,50,150,250
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A table of level medians or means (a published table: columns concurrency, input_tokens,
    /// output_tokens, ttft_s, tpot_s, ...), a calibration run directory or its records CSV.
    pub input: PathBuf,
    /// Fit on these concurrency levels only (default: all).
    #[arg(long, value_delimiter = ',', value_name = "N,N,...")]
    pub fit_on: Option<Vec<f64>>,
    /// Fit on these prompt sizes (input tokens) only (default: all).
    #[arg(long, value_delimiter = ',', value_name = "TOKENS,...")]
    pub fit_on_prompts: Option<Vec<f64>>,
    /// The model served, by its name in the model catalog (catalog/models.toml), e.g.
    /// "DeepSeek-R1": a mixture-of-experts model's decode step is then fitted with the experts
    /// a batch touches (`experts`, `experts_per_token`). Without it, the catalog model the
    /// input's file name names (or one of its aliases) is used, and said; `dense` for none.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    #[command(flatten)]
    pub hardware: HardwareArgs,
    /// Print machine-readable JSON instead of tables.
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

/// Simulate traffic through a profile, Bedrock's quotas or a SageMaker fleet.
///
/// A seeded discrete-event simulation: requests arrive (open loop --rate, think-time --users, or
/// a closed loop of --concurrency clients), are admitted by the endpoint (Bedrock: TPM/RPM
/// buckets, reserve input + max_tokens at start, settle at the end; SageMaker: instances with a
/// slot limit, a router and target-tracking autoscaling; serverless: a concurrency cap and cold
/// starts), are decoded at the profile's speed for the load at that moment, and are retried
/// with backoff when throttled.
///
/// Printed: TTFT, TPOT, E2E and queue-wait percentiles, goodput within the SLO, throttles,
/// retries and failures, tokens, the busiest minute's TPM/RPM, instance-hours, and a Little's
/// law check (L = λW) of the run itself.
///
/// Examples:
///   llmcap simulate --profile models/bedrock-llama3-3-70b-instruct.toml \
///       --workload multi_turn_chat --users 500 --duration 1h --quota-tpm 600000
///   llmcap simulate --profile models/bedrock-llama3-3-70b-instruct.toml \
///       --concurrency 30 --prompt-tokens 6027 --output-tokens 350 --requests 2000 --json
///   llmcap simulate --profile P --workload rag_document_qa --rate 5/s --duration 30m \
///       --sagemaker --instance-type ml.g5.12xlarge --instances 1..4
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct SimulateArgs {
    /// A simulation scenario (TOML); flags given as well override it.
    #[arg(long, value_name = "F.toml")]
    pub scenario: Option<PathBuf>,
    /// The performance profile (TOML).
    #[arg(long, value_name = "P.toml")]
    pub profile: Option<PathBuf>,
    /// A built-in workload (see `llmcap workloads`).
    #[arg(long, default_value = "multi_turn_chat")]
    pub workload: String,
    /// Active users, each with think time between messages (at most 500,000).
    #[arg(long, conflicts_with_all = ["rate", "concurrency"], value_parser = crate::commands::units::parse_count)]
    pub users: Option<u64>,
    /// Open-loop arrivals, e.g. 5/s, 300/min or 2.5 (per second); Poisson.
    #[arg(long, conflicts_with = "concurrency")]
    pub rate: Option<String>,
    /// Replay arrivals from a CSV with a `timestamp_s` column (seconds, any origin).
    #[arg(long, value_name = "TRACE.csv", conflicts_with_all = ["rate", "users", "concurrency"])]
    pub trace: Option<PathBuf>,
    /// Draw prompt and output lengths from a calibration run's successful requests (its
    /// requests.csv `input_tokens` and `output_tokens`) instead of the workload's distributions.
    #[arg(long, value_name = "RUN_DIR")]
    pub lengths_from: Option<PathBuf>,
    /// How long traffic is sent, e.g. 90s, 30m, 1h.
    #[arg(long, default_value = "1h")]
    pub duration: String,
    /// Users and rate loads (not traces): traffic simulated before the measured window, e.g. 60s. Users
    /// start in their steady phase; the warm-up fills the queues and is left out of every
    /// statistic (the duration is measured after it).
    #[arg(long, default_value = "60s")]
    pub warmup: String,
    /// Closed loop: clients each keeping one request in flight.
    #[arg(long, requires = "requests")]
    pub concurrency: Option<u32>,
    /// Closed loop: prompt tokens per request.
    #[arg(long, requires = "concurrency")]
    pub prompt_tokens: Option<f64>,
    /// Closed loop: output tokens per request.
    #[arg(long, requires = "concurrency")]
    pub output_tokens: Option<f64>,
    /// Closed loop: requests in all, e.g. 2000 or 1e6 (at most 1e8).
    #[arg(long, value_parser = crate::commands::units::parse_count)]
    pub requests: Option<u64>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Bedrock tokens-per-minute quota (none: unlimited).
    #[arg(long)]
    pub quota_tpm: Option<f64>,
    /// Bedrock requests-per-minute quota.
    #[arg(long)]
    pub quota_rpm: Option<f64>,
    /// bedrock-mantle input-tokens-per-minute quota (with --quota-output-tpm; instead of
    /// --quota-tpm): uncached input + max_tokens checked at admission.
    #[arg(long, requires = "quota_output_tpm", conflicts_with_all = ["quota_tpm", "quota_rpm"])]
    pub quota_input_tpm: Option<f64>,
    /// bedrock-mantle output-tokens-per-minute quota (with --quota-input-tpm).
    #[arg(long, requires = "quota_input_tpm")]
    pub quota_output_tpm: Option<f64>,
    /// Tokens of every prompt read from Bedrock's prompt cache (e.g. a cached system prompt):
    /// they still count against bedrock-runtime's TPM at admission but not on bedrock-mantle.
    #[arg(long, default_value_t = 0.0)]
    pub cached_prefix_tokens: f64,
    /// max_tokens on every request (overrides the workload's; Bedrock reserves it).
    #[arg(long)]
    pub max_tokens: Option<f64>,
    /// What Bedrock reserves when max_tokens is unset.
    #[arg(long, default_value_t = 4096.0)]
    pub model_max_tokens: f64,
    /// Simulate a SageMaker real-time endpoint instead of Bedrock.
    #[arg(long)]
    pub sagemaker: bool,
    #[arg(long, default_value = "ml.g5.12xlarge", requires = "sagemaker")]
    pub instance_type: String,
    /// Instances: N for a fixed fleet, MIN..MAX for autoscaling.
    #[arg(long, default_value = "1", requires = "sagemaker")]
    pub instances: String,
    /// Requests one instance serves at once.
    #[arg(long, default_value_t = 32, requires = "sagemaker")]
    pub slots: u32,
    /// Autoscaling target: invocations per instance per minute.
    #[arg(long, default_value_t = 100.0, requires = "sagemaker")]
    pub target_invocations: f64,
    /// Seconds before a new instance serves.
    #[arg(long, default_value = "6m", requires = "sagemaker")]
    pub cold_start: String,
    /// Attempts per request including the first.
    #[arg(long, default_value_t = 3)]
    pub max_attempts: u32,
    /// Client timeout per attempt, e.g. 30s.
    #[arg(long)]
    pub timeout: Option<String>,
    /// Every request gets the model's median speed (for checks).
    #[arg(long)]
    pub no_noise: bool,
    /// Print JSON (ttft_s, tpot_s, e2e_s, queue_wait_s with p50/p90/p95/p99, requests, throttled,
    /// failed, duration_s, ...).
    #[arg(long)]
    pub json: bool,
    /// Write the per-minute series (minutes.csv, minutes.parquet) and the summary (summary.json)
    /// into this directory. Columns: minute, started, completed, throttled, failed, retries,
    /// input_tokens, output_tokens, tpm_reserved, tpm_charged, rpm, concurrency_mean/max,
    /// instances_in_service/total, ttft_p50_s/p95_s, tpot_p50_s/p95_s.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Show progress on stderr from the start, as a line a second when stderr is not a
    /// terminal (on a terminal a bar appears by itself once a run takes over 2 s). Ctrl-C
    /// stops a run and prints what was simulated, marked partial.
    #[arg(long)]
    pub progress: bool,
}

/// List the built-in workload profiles (seed 004's SageMaker benchmark profiles).
#[derive(Debug, Args)]
pub struct WorkloadsArgs {
    #[arg(long)]
    pub json: bool,
}

/// Benchmark the simulator: simulated requests per second and peak memory.
///
/// Runs a 1 M-request Bedrock scenario, a 1 M-request SageMaker autoscaling scenario (with the
/// closed-form profile, then with a server-model profile: batch slots and a prefill queue), and
/// a 10 M-request Bedrock scenario to show memory stays flat in the number of requests.
#[derive(Debug, Args)]
pub struct BenchSimArgs {
    /// Requests in the small runs.
    #[arg(long, default_value_t = 1_000_000)]
    pub requests: u64,
    /// Skip the 10x run.
    #[arg(long)]
    pub quick: bool,
    #[arg(long)]
    pub json: bool,
}

/// Make a profile for hardware nobody has benchmarked yet, from physics alone.
///
/// The roofline of one model copy on COUNT accelerators (catalog/hardware.toml's bandwidth and
/// peak arithmetic, catalog/models.toml's layers, experts and KV bytes a token), slowed by the
/// efficiency servers on that vendor's accelerators reach (catalog/efficiency.toml, fitted on
/// published tables): a decode step = layers × a fixed time + weights and KV read at the
/// reached bandwidth + each sequence's arithmetic; prefill at half the peak arithmetic; the
/// batch limit from the memory left for the KV cache. Its intervals are a factor of two either
/// way and it says it measured nothing; a calibration replaces it.
///
/// With --published DIR it instead refits the efficiencies on the tables in DIR (hardware and
/// model read from their file names) and prints each table's errors predicted from physics
/// alone, with the table itself left out of its vendor's efficiency.
///
/// Examples:
///   llmcap profile-from-hardware --model "Llama 3.3 70B Instruct" --accelerator L40S \
///       --count 4 --precision fp8 --out llama-g6e.toml
///   llmcap profile-from-hardware --published calibration/reference/published
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ProfileFromHardwareArgs {
    /// The model, by its name in catalog/models.toml (its architecture must be recorded).
    #[arg(long, value_name = "NAME", required_unless_present = "published")]
    pub model: Option<String>,
    /// The accelerator, by name or alias in catalog/hardware.toml.
    #[arg(long, value_name = "NAME", required_unless_present = "published")]
    pub accelerator: Option<String>,
    /// Accelerators holding one copy of the model (tensor or expert parallel).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: u32,
    /// The copy's tensor-parallel degree, recorded in the profile (default: --count).
    #[arg(long, value_name = "N")]
    pub tp: Option<u32>,
    /// The weights' precision: bf16, fp16, fp8, int8, int4, fp4 (default: the model's released
    /// precision, else bf16).
    #[arg(long, value_name = "P")]
    pub precision: Option<String>,
    /// Prompt and reply tokens of a typical sequence: with the memory left after the weights,
    /// how many sequences the KV cache holds (the batch limit).
    #[arg(long, value_name = "TOKENS", default_value_t = 4_096.0)]
    pub context_tokens: f64,
    /// The service's model id to put in the profile (default: the model's name).
    #[arg(long)]
    pub model_id: Option<String>,
    /// Write the profile (TOML) here.
    #[arg(long, value_name = "PROFILE.toml")]
    pub out: Option<std::path::PathBuf>,
    /// Refit the efficiencies on the published tables in this directory and print each
    /// table's errors from physics alone, instead of making a profile.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["model", "accelerator", "out"])]
    pub published: Option<std::path::PathBuf>,
}

/// Make a profile from published TTFT/TPOT ranges when no calibration exists.
///
/// TPOT rises linearly from its low end (one request) to its high end (max concurrency); TTFT
/// along a quadratic knee. The profile says it comes from published ranges; calibrate to replace.
#[derive(Debug, Args)]
pub struct ProfileFromRangesArgs {
    #[arg(long)]
    pub model_id: String,
    #[arg(long)]
    pub name: String,
    /// TTFT range in milliseconds, e.g. 300..600.
    #[arg(long)]
    pub ttft_ms: String,
    /// TPOT range in milliseconds, e.g. 25..40.
    #[arg(long)]
    pub tpot_ms: String,
    #[arg(long)]
    pub max_concurrency: f64,
    #[arg(long, default_value_t = 8192.0)]
    pub max_prompt_tokens: f64,
    #[arg(long)]
    pub source: String,
    #[arg(long)]
    pub date: String,
    #[arg(long)]
    pub target: String,
    #[arg(long, value_name = "PROFILE.toml")]
    pub out: PathBuf,
}

/// List the price catalogs (pricing/*.toml): every row with its source and date.
///
/// `llmcap pricing import --litellm FILE` refreshes Bedrock on-demand rows from LiteLLM's
/// model_prices_and_context_window.json; `--genai-prices FILE` from pydantic genai-prices'
/// prices/providers/aws.yml (base tier of tiered prices; the price set in force today). Updated
/// rows are stamped with the file (or --source) and the date; rows the file does not price
/// keep theirs. `--add-current` also adds the current chat models of a region.
///
/// The Bedrock table: one row per model, region, profile (regional or global cross-Region)
/// and endpoint (runtime, or mantle: bedrock-mantle); Standard, Priority, Flex and batch
/// prices in/out and cache read/write in USD per million tokens ("—": not offered or not
/// known); "legacy" where the source marks the model deprecated; the source as a number
/// into the list of sources printed below it. Reserved tier prices, where a row holds them,
/// are listed after it with where they come from. --json prints every field.
#[derive(Debug, Args)]
pub struct PricingArgs {
    #[command(subcommand)]
    pub action: Option<PricingAction>,
    /// Directory holding bedrock.toml and sagemaker.toml.
    #[arg(long, default_value = "pricing", global = true)]
    pub dir: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum PricingAction {
    /// Refresh Bedrock rows from a community-kept price file, then list the catalogs.
    Import(PricingImportArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("file").required(true).args(["litellm", "genai_prices"])))]
pub struct PricingImportArgs {
    /// LiteLLM's model_prices_and_context_window.json (the litellm PyPI wheel ships it as
    /// litellm/model_prices_and_context_window_backup.json; unzip the .whl first:
    /// `unzip -o litellm-VERSION-*.whl litellm/model_prices_and_context_window_backup.json`).
    #[arg(long, value_name = "FILE.json")]
    pub litellm: Option<PathBuf>,
    /// pydantic genai-prices' prices/providers/aws.yml (scripts/genai_prices_aws_yaml.py
    /// writes it from the genai-prices wheel).
    #[arg(long, value_name = "aws.yml")]
    pub genai_prices: Option<PathBuf>,
    /// Also add a row for every current chat model the LiteLLM file prices in --region that
    /// the catalog lacks (one per model id, profile and endpoint), with its Priority, Flex,
    /// batch and cache prices where the file has them; bedrock_mantle keys get endpoint =
    /// "mantle", entries past their deprecation_date legacy = true. Needs --source.
    #[arg(long, requires_all = ["litellm", "source"])]
    pub add_current: bool,
    /// The region rows are added for (--add-current).
    #[arg(long, default_value = "us-east-1", requires = "add_current")]
    pub region: String,
    /// Written as each imported row's `source`: the package, its version and the file, e.g.
    /// "LiteLLM 1.110.2 (PyPI wheel), litellm/model_prices_and_context_window_backup.json".
    /// Without it, the source is the file's kind and path.
    #[arg(long, value_name = "TEXT")]
    pub source: Option<String>,
}

/// Plan a deployment: users supported, quota needed, monthly cost, break-even and a realistic
/// budget for each option of a scenario, written into a report directory.
///
/// With no scenario it runs the built-in example (compiled in; works from any directory):
/// 2,000 employees using a chat assistant, served by Llama 3.3 70B on Bedrock or on SageMaker
/// ml.p5.48xlarge instances (always on or autoscaled), and by Claude 3.5 Sonnet on Bedrock as a
/// second model choice.
///
/// Method: each option names the model it serves; a SageMaker option must be able to hold it
/// (accelerator memory, open weights; Serverless: CPU, at most 6 GB) and its profile must have
/// measured that model on that hardware at that precision (the profile's [hardware]), unless the
/// option says why it borrows one (`borrowed = "why"`: marked BORROWED, held to the hardware's
/// roofline, its capacity interval widened). For each option, bisection over simulated
/// peak-hour users finds the most users whose p95 TTFT, p95 TPOT and error rate meet the SLO
/// (the knee, searched until the SLO breaks, up to 1,000× the peak); the plan uses 60 % of it
/// (seed 000), and says where the knee lies outside what the profile measured ("profile at the
/// knee"). Users start in the steady phase of their think-time cycle and a warm-up of one
/// session gap (2–30 minutes) is left out of every statistic.
/// A Bedrock quota is asked for whenever the need (the p99 of 600 simulated peak minutes × 1.25,
/// rounded up) exceeds its current value or the simulated peak throttles at it; the ask is the need. Cost = monthly tokens × catalog prices
/// (Bedrock), instance-hours × hourly price (SageMaker) or compute seconds (Serverless);
/// break-even is computed only between options serving the same model, an always-on fleet
/// bought by whole instances (every crossing from 0.001× to 1,000× the volume); the budget is a
/// waterfall from list price through the month as simulated (system prompt, prompt cache,
/// history, billed failures) to data transfer and monitoring priced per GB, alarm and dashboard
/// (pricing/overheads.toml; the scenario's [overheads]) and the demand's P50/P90.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A plan scenario (TOML); none runs the built-in example.
    pub scenario: Option<PathBuf>,
    /// The report directory.
    #[arg(long, default_value = "llmcap-plan")]
    pub out: PathBuf,
    /// A catalog directory overriding the built-in one: any of bedrock.toml and sagemaker.toml
    /// (prices), models.toml and hardware.toml (served models, instance accelerators).
    #[arg(long, alias = "pricing", value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// Request logs whose measured per-minute traffic the quota documents show beside the
    /// simulated peak (as `llmcap quota --from-logs`).
    #[arg(long, value_name = "LOGS", num_args = 1..)]
    pub from_logs: Vec<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

/// Forecast monthly spend per option over a horizon, with uncertainty bands.
///
/// The plan's options month by month as adoption rises and use per person grows: each month's
/// spend at P10, P50 and P90 from a Monte Carlo over the scenario's `[forecast]` distributions
/// (adoption start, target and midpoint month, requests per user against the plan, growth a
/// month, tokens per request, capacity against the profile), drawn together for every option;
/// the month options serving the same model cross; a tornado of which input moves the
/// horizon's cost most (each at its P10 and P90, the others at their medians). Every default
/// says where it comes from; set your own in the scenario:
///
///   [forecast]
///   months = 12
///   adoption_target = { dist = "triangular", low = 0.5, mode = 0.75, high = 0.95 }
///   usage_per_user = { dist = "lognormal", median = 1.0, sigma = 0.3 }
///   tokens_per_request = { dist = "fixed", value = 1.1 }
///
/// Distributions: fixed {value}, uniform {low, high}, triangular {low, mode, high},
/// normal {mean, sd}, lognormal {median, sigma}. Writes report.html (fan chart of monthly
/// spend, one tornado per option), report.md, forecast.json and data/forecast_monthly and
/// data/tornado (CSV + Parquet).
#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// A plan scenario (TOML); none runs the built-in example.
    pub scenario: Option<PathBuf>,
    /// The report directory.
    #[arg(long, default_value = "llmcap-forecast")]
    pub out: PathBuf,
    /// A catalog directory overriding the built-in one (see `llmcap plan --help`).
    #[arg(long, alias = "pricing", value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// Months to forecast (overrides the scenario's `forecast.months`).
    #[arg(long)]
    pub months: Option<u32>,
    /// Monte Carlo draws (overrides `forecast.draws`).
    #[arg(long)]
    pub draws: Option<u32>,
    #[arg(long)]
    pub json: bool,
}

/// Plan against real usage: CloudWatch metrics and the Cost and Usage Report against the plan.
///
/// A CloudWatch export of Amazon Bedrock's metrics (and a Cost and Usage Report 2.0) against
/// the plan, and the workload re-fitted for a forecast.
///
/// Each Bedrock option of the plan is matched by model id to the export's series, and compared:
///   requests per month            invocations × workdays_per_month ÷ days covered
///   requests per user per workday invocations ÷ days ÷ users
///   input, output tokens per request, against the simulated means
///   throttle rate                 throttles ÷ (invocations + throttles), against the simulated
///   spend per month               the CUR's unblended cost when given, else tokens × catalog
/// each with the plan's error (actual ÷ plan − 1). Days covered: the export's first period's
/// start to its last period's end, or --days (a compressed or scaled run: the workdays it
/// stands for). The re-fit: usage_per_user = actual ÷ planned requests per user per workday,
/// tokens_per_request = actual ÷ simulated tokens per request, printed and written as a
/// [forecast] snippet (forecast.toml) to paste into the scenario.
///
/// Writes into --out: actual.json, actual.md, forecast.toml, data/actual_vs_plan.csv and
/// .parquet, charts/actual_vs_plan.svg and .png.
///
/// The export, from a real account (one query per model and metric; the Labels name both):
///   llmcap actual --print-queries meta.llama3-3-70b-instruct-v1:0 > q.json
///   aws cloudwatch get-metric-data --metric-data-queries file://q.json \
///       --start-time 2026-11-01T00:00:00Z --end-time 2026-12-01T00:00:00Z > cloudwatch.json
///   llmcap actual --cloudwatch cloudwatch.json --cur cur.parquet scenario.toml
/// or from the emulator: llmcap emulate --profile P.toml --cloudwatch-out cloudwatch.json.
/// The CUR (AWS Data Exports, CUR 2.0; CSV or Parquet): Amazon Bedrock's usage lines
/// (line_item_product_code = AmazonBedrock; Usage, DiscountedUsage, SavingsPlanCoveredUsage)
/// summed per billing period and model (line_item_resource_id, else line_item_usage_type).
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ActualArgs {
    /// A plan scenario (TOML); none uses the built-in example.
    pub scenario: Option<PathBuf>,
    /// The JSON `aws cloudwatch get-metric-data` printed (or `llmcap emulate --cloudwatch-out`).
    #[arg(
        long,
        value_name = "FILE.json",
        required_unless_present = "print_queries"
    )]
    pub cloudwatch: Option<PathBuf>,
    /// A Cost and Usage Report 2.0 export (.csv, .csv.gz not read; .parquet).
    #[arg(long, value_name = "FILE")]
    pub cur: Option<PathBuf>,
    /// Users behind the traffic (default: the scenario's employees).
    #[arg(long, value_name = "N")]
    pub users: Option<f64>,
    /// Workdays the export stands for (default: the span of its timestamps).
    #[arg(long, value_name = "D")]
    pub days: Option<f64>,
    /// The output directory.
    #[arg(long, default_value = "llmcap-actual")]
    pub out: PathBuf,
    /// A catalog directory overriding the built-in one (see `llmcap plan --help`).
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
    /// Print the MetricDataQueries for these model ids (for `aws cloudwatch get-metric-data
    /// --metric-data-queries file://q.json`) and stop.
    #[arg(long, value_name = "MODEL_ID", num_args = 1.., conflicts_with_all = ["cloudwatch", "cur"])]
    pub print_queries: Option<Vec<String>>,
    /// The queries' period in seconds (with --print-queries; 60 or a multiple of 60).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub period: u32,
}

/// Options shared by the planners (`capacity`, `quota`, `cost`, `breakeven`, `budget`).
#[derive(Debug, Args)]
pub struct PlannerArgs {
    /// A plan scenario (TOML); none uses the built-in example.
    pub scenario: Option<PathBuf>,
    /// A catalog directory overriding the built-in one (see `llmcap plan --help`).
    #[arg(long, alias = "pricing", value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// `quota` only: write the quota-increase justification (markdown) here.
    #[arg(long, value_name = "FILE.md")]
    pub justify: Option<PathBuf>,
    /// Request logs (Bedrock invocation logs, OpenAI-style usage or a CSV; files or
    /// directories, gzip or not), or a CloudWatch export (`aws cloudwatch get-metric-data`'s
    /// JSON, as `llmcap actual --cloudwatch` reads it), whose measured per-minute traffic each
    /// quota document shows beside the simulated peak, by model (see `llmcap workload fit`).
    #[arg(long, value_name = "LOGS", num_args = 1..)]
    pub from_logs: Vec<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

/// The endpoint a command sends to: an OpenAI-compatible server, Bedrock or a SageMaker
/// endpoint (calibrate and verify take the same flags).
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// The kind of endpoint.
    #[arg(long, value_enum)]
    pub target: CalibrateTarget,

    /// openai: the server's base URL (…/v1 or …/chat/completions also accepted).
    #[arg(long, help_heading = "OpenAI-compatible target")]
    pub url: Option<String>,
    /// openai: the served model name (default: the first id from GET /v1/models).
    #[arg(long, help_heading = "OpenAI-compatible target")]
    pub model: Option<String>,
    /// openai: the environment variable holding the API key, sent as a bearer token and never
    /// recorded. Unset variable: no key.
    #[arg(
        long,
        default_value = "OPENAI_API_KEY",
        help_heading = "OpenAI-compatible target"
    )]
    pub api_key_env: String,

    /// bedrock: the model or inference-profile id; sagemaker: a name for the model served.
    #[arg(long, help_heading = "AWS targets")]
    pub model_id: Option<String>,
    /// bedrock: ConverseStream, or InvokeModelWithResponseStream with the model's native body.
    #[arg(
        long,
        value_enum,
        default_value = "converse",
        help_heading = "AWS targets"
    )]
    pub api: crate::calibrate::target::bedrock::BedrockApi,
    /// sagemaker: the endpoint's name.
    #[arg(long, help_heading = "AWS targets")]
    pub endpoint_name: Option<String>,
    /// sagemaker: the container's request format.
    #[arg(long, value_enum, default_value = "tgi", help_heading = "AWS targets")]
    pub payload: crate::calibrate::target::sagemaker::SagemakerPayload,
    /// AWS region (default: the standard chain — AWS_REGION, the profile).
    #[arg(long, help_heading = "AWS targets")]
    pub region: Option<String>,
    /// A named profile from ~/.aws/config; credentials otherwise come from the standard chain.
    #[arg(long, help_heading = "AWS targets")]
    pub aws_profile: Option<String>,
    /// Send AWS requests here instead, e.g. the URL `llmcap emulate` prints.
    #[arg(long, help_heading = "AWS targets")]
    pub endpoint_url: Option<String>,
}

/// Measure an endpoint: a short real benchmark of TTFT and TPOT, fitted into a profile.
///
/// TTFT and TPOT across concurrency and prompt size, written as a run directory, summarised per
/// level, and fitted into a profile.
///
/// Metrics (as `vllm bench serve` names them; GuideLLM and AIPerf call TPOT "ITL"):
///   TTFT   first content token − send          TPOT  (last − first token) / (N − 1)
///   ITL    gaps between streamed chunks         NTPOT end-to-end / N
///   N is the server's own output count (usage) whenever it reports one.
/// Prompts are unique per request (random prefix) so prefix caches cannot flatter TTFT, and
/// sized in tokens by two probe requests. Output is fixed at --output-tokens where the server
/// allows (ignore_eos, min_tokens); early stops are counted.
///
/// Writes OUT/requests.csv (appended as requests finish), requests.parquet, levels.csv,
/// manifest.json and profile.toml. Ctrl-C stops dispatching, lets in-flight requests finish for
/// --grace seconds, keeps every finished request and marks the run partial; --resume finishes it
/// without repeating them. Paid targets (Bedrock) print the worst-case spend first and refuse
/// above --max-cost unless --yes.
///
/// Examples:
///   scripts/llama-server.sh start     # SmolLM2-135M on llama.cpp, prints its URL
///   llmcap calibrate --target openai --url http://127.0.0.1:8091 --concurrency 1,2,4,8 \
///       --prompt-tokens 64,1024 --output-tokens 128 --requests-per-level 24 \
///       --out calibration/runs/smollm2-local
///   llmcap calibrate --target bedrock --model-id meta.llama3-3-70b-instruct-v1:0 \
///       --region us-east-1 --concurrency 1,4,16 --prompt-tokens 500,4000 --out calibration/runs/llama70b
///   llmcap calibrate --target sagemaker --endpoint-name my-tgi-endpoint --payload tgi \
///       --region us-west-2 --concurrency 1,2,4 --out calibration/runs/g5
///   llmcap calibrate --resume --out calibration/runs/smollm2-local --target openai \
///       --url http://127.0.0.1:8091
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct CalibrateArgs {
    /// Where the requests go.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// How load is applied within a level.
    #[arg(long, value_enum, default_value = "closed", help_heading = "Sweep")]
    pub mode: crate::calibrate::sweep::SweepMode,
    /// Choose the levels as the run goes, to find the knee. At the middle --prompt-tokens size
    /// concurrency doubles from 1 until the endpoint saturates (output tokens/s grows by less
    /// than 15 % for a doubling, or p50 TTFT jumps fourfold), then fills in around the knee (its
    /// midpoint, one level past it, at least five levels); the other prompt sizes run at 1 and
    /// on both sides of the knee. Closed loop at the middle --output-tokens size; the knee is
    /// printed and kept in manifest.json. Bounded by --auto-max-concurrency, --max-duration and
    /// the spend guard (which prices every level it may run).
    #[arg(
        long,
        help_heading = "Sweep",
        conflicts_with_all = ["concurrency", "rate", "interval"]
    )]
    pub auto: bool,
    /// --auto: the highest concurrency to try.
    #[arg(long, default_value_t = 256, value_name = "N", help_heading = "Sweep")]
    pub auto_max_concurrency: u32,
    /// --auto: start no level that would end more than this many seconds into the run.
    #[arg(
        long,
        value_name = "SECONDS",
        help_heading = "Sweep",
        requires = "auto"
    )]
    pub max_duration: Option<f64>,
    /// Concurrency levels (rate mode: the in-flight cap).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,2,4,8",
        help_heading = "Sweep"
    )]
    pub concurrency: Vec<u32>,
    /// Prompt sizes in tokens.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "64,1024",
        help_heading = "Sweep"
    )]
    pub prompt_tokens: Vec<u32>,
    /// Output sizes in tokens (max_tokens).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "128",
        help_heading = "Sweep"
    )]
    pub output_tokens: Vec<u32>,
    /// Measured requests per level (warm-up not included).
    #[arg(long, default_value_t = 24, help_heading = "Sweep")]
    pub requests_per_level: u32,
    /// Warm-up requests at the start of each level, recorded but excluded from levels and fit.
    #[arg(long, default_value_t = 1, help_heading = "Sweep")]
    pub warmup: u32,
    /// Run the sweep in K interleaved passes: every level gets 1/K of its measured requests in
    /// each pass, each time after its full --warmup (so K × warm-up in all), odd passes in
    /// reverse order, so a slow change in the endpoint's speed (other tenants, a neighbour's
    /// build, throttling) falls on every level alike instead of on the levels that happened to
    /// run then. Not with --auto.
    #[arg(long, value_name = "K", default_value_t = 1, help_heading = "Sweep")]
    pub passes: u32,
    /// Stop a level after this many seconds even if requests remain.
    #[arg(long, value_name = "SECONDS", help_heading = "Sweep")]
    pub duration_per_level: Option<f64>,
    /// interval mode: seconds between batches of c.
    #[arg(long, value_name = "SECONDS", help_heading = "Sweep")]
    pub interval: Option<f64>,
    /// rate mode: requests per second, one level per rate.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "R,R,...",
        help_heading = "Sweep"
    )]
    pub rate: Vec<f64>,
    /// rate mode: arrival process.
    #[arg(long, value_enum, default_value = "poisson", help_heading = "Sweep")]
    pub arrivals: crate::calibrate::sweep::Arrivals,
    /// rate mode, gamma arrivals: coefficient of variation of the gaps (1 = Poisson-like).
    #[arg(long, default_value_t = 1.0, help_heading = "Sweep")]
    pub burstiness: f64,
    /// Let the model stop early instead of asking for exactly --output-tokens.
    #[arg(long, help_heading = "Sweep")]
    pub no_fixed_output: bool,
    /// Seconds before an unanswered request is recorded as a timeout.
    #[arg(long, default_value_t = 120.0, help_heading = "Sweep")]
    pub timeout: f64,
    /// Stop the run when more than this fraction of a level's requests fail (after 10).
    #[arg(long, default_value_t = 0.5, help_heading = "Sweep")]
    pub max_error_rate: f64,
    /// Seed for prompts and arrivals.
    #[arg(long, default_value_t = 1, help_heading = "Sweep")]
    pub seed: u64,

    /// The run directory (default: calibration/runs/<target>-<UTC time>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Finish the interrupted run in --out without repeating its finished requests (the sweep
    /// comes from its manifest; sweep flags are ignored).
    #[arg(long)]
    pub resume: bool,
    /// Seconds in-flight requests may finish after Ctrl-C or an abort.
    #[arg(long, default_value_t = 5.0)]
    pub grace: f64,
    /// Refuse a paid run whose worst-case spend exceeds this many US dollars.
    #[arg(long, default_value_t = 5.0)]
    pub max_cost: f64,
    /// Run even above --max-cost, or without a price for the model.
    #[arg(long)]
    pub yes: bool,
    /// Directory holding bedrock.toml and sagemaker.toml, for the spend guard.
    #[arg(long, default_value = "pricing")]
    pub pricing_dir: PathBuf,
    /// Do not fit a profile at the end.
    #[arg(long)]
    pub no_fit: bool,
    /// No progress bars (a line per level is still printed).
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CalibrateTarget {
    /// An OpenAI-compatible server: vLLM, TGI, llama-server, SGLang, Bedrock's OpenAI endpoint.
    Openai,
    /// Amazon Bedrock Runtime through aws-sdk-bedrockruntime.
    Bedrock,
    /// An Amazon SageMaker real-time endpoint through aws-sdk-sagemakerruntime.
    Sagemaker,
}

/// Benchmark calibrate's client: its own overhead on TTFT and the streamed requests per second
/// it sustains, against a local fixed-latency server (first token after --ttft-ms, then one
/// every --itl-ms). The server paces streams with OS sleeps, not tokio's 1 ms timer.
///
/// Two phases. Overhead: Poisson arrivals keeping --concurrency streams in flight on average
/// (a closed loop against a fixed server phase-locks the streams into bursts); printed are
/// TTFT − t at p50/p99/max and chunk gaps − i at p99. Throughput: a closed loop of short
/// responses; printed are streamed requests/s. Targets on a 2-core machine: TTFT − t < 1 ms at
/// p99 with 256 streams; ≥ 2,000 requests/s.
#[derive(Debug, Args)]
pub struct BenchClientArgs {
    /// Streams in flight.
    #[arg(long, default_value_t = 256)]
    pub concurrency: u32,
    /// Requests in the throughput phase (the overhead phase sends half as many).
    #[arg(long, default_value_t = 6000)]
    pub requests: u32,
    /// Overhead phase: the server's time to first token.
    #[arg(long, default_value_t = 50.0)]
    pub ttft_ms: f64,
    /// Overhead phase: the server's gap between tokens (20 ms = 50 tokens/s per stream).
    #[arg(long, default_value_t = 20.0)]
    pub itl_ms: f64,
    /// Overhead phase: tokens per response.
    #[arg(long, default_value_t = 32)]
    pub overhead_output_tokens: u32,
    /// Throughput phase: the server's time to first token.
    #[arg(long, default_value_t = 10.0)]
    pub throughput_ttft_ms: f64,
    /// Throughput phase: the server's gap between tokens.
    #[arg(long, default_value_t = 5.0)]
    pub throughput_itl_ms: f64,
    /// Throughput phase: tokens per response.
    #[arg(long, default_value_t = 8)]
    pub output_tokens: u32,
    #[arg(long)]
    pub json: bool,
}

/// Serve Bedrock Runtime, Bedrock's mantle endpoint and SageMaker Runtime on loopback.
///
/// Driven by a profile: the real AWS, OpenAI and Anthropic SDKs (and `llmcap calibrate
/// --endpoint-url`) talk to it as to the service.
///
/// Prints the endpoint URL on its first line, then serves until Ctrl-C. Bedrock: Converse,
/// ConverseStream, InvokeModel, InvokeModelWithResponseStream (Anthropic, Meta Llama and
/// Titan-style bodies) for the profile's model id (and --model-id ones). SageMaker:
/// InvokeEndpoint and InvokeEndpointWithResponseStream (TGI `inputs` or OpenAI `messages`
/// bodies) for endpoint `llmcap-emulator` (and --endpoint-name ones).
///
/// Bedrock's bedrock-mantle endpoint on the same port: POST /v1/chat/completions (OpenAI Chat
/// Completions; the OpenAI SDKs with base_url URL/v1) and POST /v1/messages (Anthropic
/// Messages), streaming as server-sent events, with the Bedrock API key --api-key as
/// `Authorization: Bearer KEY` or `x-api-key: KEY` (401 otherwise). A prompt cache: Anthropic
/// blocks up to the last `cache_control` breakpoint, OpenAI system messages of 1,024 tokens
/// or more, kept 5 minutes; usage reports cache reads and writes.
///
/// Timing: TTFT and TPOT from the profile at the live concurrency (with its noise unless
/// --no-noise). Tokens: input ≈ characters / 4; output = max tokens. Quotas: Bedrock's rolling
/// TPM/RPM buckets with the max_tokens reservation, the same code the simulator uses; on the
/// mantle paths their own quota (--mantle-input-tpm, --mantle-output-tpm): uncached input +
/// max_tokens must fit input TPM, output counts against output TPM and new requests wait while
/// it is spent; a 429 names the quota and carries retry-after.
///
/// Strict as the services: each request's SigV4 signature is verified against
/// --access-key-id/--secret-access-key (UnrecognizedClientException for another key,
/// InvalidSignatureException for a wrong signature or a body changed after signing); output
/// limits (maxTokens, max_tokens, max_gen_len, max_new_tokens) below 1, not whole numbers or
/// above the model's limit, and prompts that do not fit the context window (the profile's
/// [limits], else 128k tokens), get the service's validation error; bodies over 25 MB
/// (Bedrock) or 6 MB (SageMaker) a ValidationException; connections idle for --idle-timeout
/// seconds are closed.
///
/// Faults (repeatable --fault NAME=VALUE): error=P (503), drop=P (connection cut mid-stream),
/// stream-throttle=P (throttlingException inside the stream), spike=P:FACTOR (TTFT × FACTOR),
/// cold-start=SECONDS (first request), not-ready=SECONDS (ModelNotReadyException until then).
///
/// Proxy mode (--upstream URL): a real OpenAI-compatible server (llama-server, vLLM) generates;
/// the emulator still checks signatures, applies quotas and faults, and re-frames the server's
/// stream as Bedrock events or SageMaker PayloadParts, with the server's text, timing and token
/// counts. Every body is forwarded as chat messages (a raw `prompt` or `inputs` as one user
/// turn), so the server applies its own chat template.
///
/// Example:
///   llmcap emulate --profile models/bedrock-llama3-3-70b-instruct.toml --quota-tpm 200000
///   llmcap emulate --profile P.toml --mantle-input-tpm 100000 --mantle-output-tpm 20000
///   AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test llmcap calibrate --target bedrock \
///       --model-id meta.llama3-3-70b-instruct-v1:0 --region us-east-1 \
///       --endpoint-url http://127.0.0.1:PORT --concurrency 1,4,16 --yes
///
///   # the Bedrock SDK path against a real model:
///   llmcap emulate --profile models/bedrock-llama3-3-70b-instruct.toml \
///       --upstream "$(scripts/llama-server.sh url)"
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct EmulateArgs {
    /// The profile whose behaviour to serve.
    #[arg(long, value_name = "PROFILE.toml")]
    pub profile: PathBuf,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Bedrock tokens-per-minute quota (none: never throttle).
    #[arg(long)]
    pub quota_tpm: Option<f64>,
    /// Bedrock requests-per-minute quota.
    #[arg(long)]
    pub quota_rpm: Option<f64>,
    /// Quota tokens charged per output token (5 for Claude Sonnet 4 / Opus 4).
    #[arg(long, default_value_t = 1.0)]
    pub output_burndown: f64,
    /// bedrock-mantle input-tokens-per-minute quota (with --mantle-output-tpm; none: the
    /// mantle paths never throttle).
    #[arg(long, value_name = "N", requires = "mantle_output_tpm")]
    pub mantle_input_tpm: Option<f64>,
    /// bedrock-mantle output-tokens-per-minute quota (with --mantle-input-tpm).
    #[arg(long, value_name = "N", requires = "mantle_input_tpm")]
    pub mantle_output_tpm: Option<f64>,
    /// Injected faults, e.g. --fault error=0.02 --fault spike=0.01:5.
    #[arg(long, value_name = "NAME=VALUE")]
    pub fault: Vec<String>,
    /// Every request at the profile's medians (no noise).
    #[arg(long)]
    pub no_noise: bool,
    /// More Bedrock model ids to serve.
    #[arg(long)]
    pub model_id: Vec<String>,
    /// More SageMaker endpoint names to serve.
    #[arg(long)]
    pub endpoint_name: Vec<String>,
    /// Serve any model id and endpoint name.
    #[arg(long)]
    pub accept_any_model: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Proxy mode: an OpenAI-compatible server (base URL, …/v1 or …/chat/completions) that
    /// generates instead of the profile.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// The upstream's model name (default: the first its /v1/models lists).
    #[arg(long, value_name = "NAME", requires = "upstream")]
    pub upstream_model: Option<String>,
    /// The access key id requests must be signed with.
    #[arg(long, value_name = "ID", default_value = "test")]
    pub access_key_id: String,
    /// The secret access key requests must be signed with.
    #[arg(long, value_name = "KEY", default_value = "test")]
    pub secret_access_key: String,
    /// The Bedrock API key the mantle paths take (Authorization: Bearer KEY or x-api-key).
    #[arg(long, value_name = "KEY", default_value = "test")]
    pub api_key: String,
    /// Close a connection that has waited this many seconds for its next request.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub idle_timeout: f64,
    /// Keep Amazon Bedrock's CloudWatch metrics of the traffic served (Invocations,
    /// InputTokenCount, OutputTokenCount, InvocationThrottles, InvocationLatency per model id,
    /// bedrock-runtime and bedrock-mantle paths) and write them here as `aws cloudwatch
    /// get-metric-data` prints them; rewritten atomically after every period and at Ctrl-C.
    /// Read it with `llmcap actual --cloudwatch FILE`.
    #[arg(long, value_name = "FILE.json")]
    pub cloudwatch_out: Option<PathBuf>,
    /// The CloudWatch export's period in seconds (with --cloudwatch-out).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        requires = "cloudwatch_out"
    )]
    pub cloudwatch_period: u64,
    /// Append each bedrock-runtime invocation to FILE as one JSON line in the shape of Bedrock's
    /// model invocation logs (token counts, operation, model, time; no bodies): what
    /// `llmcap workload fit FILE` learns a workload from.
    #[arg(long, value_name = "FILE.jsonl")]
    pub invocation_log: Option<PathBuf>,
}

/// Write the report of a calibration run or a plan: charts, report.html and report.md.
///
/// Charts (SVG and PNG), a self-contained report.html and its markdown twin report.md, with
/// sections for architects (capacity), finance (cost, budget) and engineers (quota, tails,
/// errors), each figure read in one sentence; and every table behind a chart in data/ as CSV
/// and Parquet.
///
/// Run: tokens/s and TTFT against concurrency (p25–p75 band, p50 points, the fitted curve),
/// TTFT and TPOT histograms per level, requests in flight over time.
/// Plan: p95 TTFT against users with the SLO and knees, TPM per minute against the quota,
/// monthly cost against volume with break-even points, a budget waterfall per option.
/// (`llmcap plan` writes its report itself.)
///
/// Example:
///   llmcap report calibration/runs/smollm2
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ReportArgs {
    /// A calibration run directory (manifest.json, requests.csv) or a plan directory (plan.json).
    pub dir: PathBuf,
    /// Where to write (default: DIR itself).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Workloads from real traffic: `workload fit LOGS...` learns one from request logs.
#[derive(Debug, Args)]
pub struct WorkloadArgs {
    #[command(subcommand)]
    pub command: WorkloadCommand,
}

#[derive(Debug, Subcommand)]
pub enum WorkloadCommand {
    Fit(WorkloadFitArgs),
}

/// Learn a workload (lengths, sessions, daily curve, per-model minute peaks) from request logs.
///
/// Reads Bedrock model invocation logs (JSON lines from S3 or CloudWatch Logs), OpenAI-style
/// usage logs (JSON lines with usage.prompt_tokens, usage.completion_tokens) and CSV
/// (timestamp,input_tokens,output_tokens[,cached_tokens,user[,model]], input_tokens counting
/// cached tokens). Files may be gzipped (told by their first bytes); a directory means every
/// regular file under it, in name order. Malformed lines are counted and named, not fatal.
///
/// The file written is a workload a scenario names (`workload = "workload.toml"`): one class
/// (two when only some requests used the prompt cache) with its length distributions, the
/// sessions and think time where users are identifiable, the hourly curve in UTC, and what the
/// logs measured per model and minute, which every quota document then shows beside the
/// simulated peak.
///
/// Examples:
///   llmcap workload fit s3-export/ --out workload.toml
///   llmcap init --workload workload.toml --model "Claude 3.5 Sonnet v2" --out scenario.toml
///   llmcap quota scenario.toml --justify quota-request.md
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct WorkloadFitArgs {
    /// Log files or directories.
    #[arg(required = true, value_name = "LOGS")]
    pub logs: Vec<PathBuf>,
    /// Write the workload (TOML) here; without it, only the summary is printed.
    #[arg(long, value_name = "WORKLOAD.toml")]
    pub out: Option<PathBuf>,
    /// The log format; auto tells each JSON record by its fields, and reads a file as CSV when its
    /// first line is not a JSON object but has a comma (a header).
    #[arg(long, value_enum, default_value_t = crate::workload::logs::LogFormat::Auto)]
    pub format: crate::workload::logs::LogFormat,
    /// Print the fitted workload as JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod help_tests {
    use clap::CommandFactory;

    use super::Cli;

    /// clap wraps help text itself: a hard line break inside a command's one-line summary
    /// shows as a sentence broken mid-way in `llmcap --help`'s list of commands.
    #[test]
    fn summaries_are_one_line_and_the_metrics_table_keeps_its_lines() {
        let cli = Cli::command();
        for command in cli.get_subcommands() {
            let about = command
                .get_about()
                .map(|a| a.to_string())
                .unwrap_or_default();
            assert!(!about.is_empty(), "{} has no summary", command.get_name());
            assert!(
                !about.contains('\n'),
                "{}'s summary has a hard line break: {about:?}",
                command.get_name()
            );
        }
        let top = cli
            .get_long_about()
            .map(|a| a.to_string())
            .unwrap_or_default();
        assert!(
            top.lines().any(|l| l.trim_start().starts_with("TPOT")),
            "the metrics keep their own lines: {top}"
        );
    }
}
