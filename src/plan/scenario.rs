//! A plan scenario (TOML): who uses the deployment, how much, and the options to compare. Parsed
//! and validated in full before anything is simulated: every field's range is checked here, so
//! the planners only see values they can use, and the work a scenario asks for is bounded.

use serde::{Deserialize, Serialize};

use super::capacity::SloLimits;
use super::error::PlanError;
use super::forecast_spec::ForecastSpec;
use crate::quota::bucket::InferenceEndpoint;

/// The built-in example, compiled in so that `llmcap plan` runs from any directory.
pub const BUILTIN_SCENARIO: &str = include_str!("../../scenarios/chat-assistant.toml");
pub const BUILTIN_ORIGIN: &str = "built-in scenario (scenarios/chat-assistant.toml)";

/// The most peak-hour users a scenario may have (each option's peak is simulated for the
/// peak's duration; capacity searches go on until the SLO breaks, up to
/// `simulate::SEARCH_LIMIT_USERS`).
pub const MAX_PEAK_USERS: u32 = 10_000;
/// The longest simulated peak (4 hours).
pub const MAX_PEAK_DURATION_S: f64 = 14_400.0;
pub const MAX_OPTIONS: usize = 20;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub use_case: String,
    pub employees: u32,
    /// Share of employees in a conversation during the busiest hour.
    pub peak_active_fraction: f64,
    pub sessions_per_user_per_day: f64,
    pub workdays_per_month: f64,
    /// A built-in workload (`llmcap workloads`).
    pub workload: String,
    pub region: String,
    #[serde(default)]
    pub slo: SloLimits,
    #[serde(default = "one")]
    pub seed: u64,
    /// Length of the simulated peak (its measured window, after a warm-up).
    #[serde(default = "half_hour")]
    pub peak_duration_s: f64,
    /// Prompt caching: the prefix every request repeats (the system prompt), read from Bedrock's
    /// cache by the options whose model offers caching.
    #[serde(default)]
    pub prompt_cache: Option<PromptCache>,
    /// Expected growth in volume a month (0.05 = 5 %), for the quota documents' outlook.
    #[serde(default)]
    pub monthly_growth: f64,
    /// `llmcap forecast`: the horizon, adoption and the uncertain inputs (defaults say where
    /// they come from).
    #[serde(default)]
    pub forecast: ForecastSpec,
    pub option: Vec<PlanOption>,
}

/// The cacheable prefix of every request and how often it is found cached.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PromptCache {
    /// Tokens of the prefix; default: the workload's system prompt.
    #[serde(default)]
    pub prefix_tokens: Option<f64>,
    /// Share of requests that read the prefix from the cache; the rest write it. Default 0.95:
    /// Bedrock's cache lives 5 minutes from its last use, so during working hours only the
    /// first request after a quiet spell misses (an assumption; set it from your traffic).
    #[serde(default = "cache_hit_rate")]
    pub hit_rate: f64,
}

fn cache_hit_rate() -> f64 {
    0.95
}

/// How a Bedrock option reaches the model: in its Region on demand, or through a cross-Region
/// inference profile (its own TPM quota; a global profile is priced below a geographic one for
/// newer models).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InferenceProfile {
    #[default]
    InRegion,
    Geographic,
    Global,
}

impl InferenceProfile {
    pub fn cross_region(self) -> bool {
        !matches!(self, InferenceProfile::InRegion)
    }
}

fn one() -> u64 {
    1
}
fn half_hour() -> f64 {
    1_800.0
}

pub use crate::physics::Precision;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PlanOption {
    Bedrock {
        name: String,
        /// The model served (catalog/models.toml); options serving the same model are compared.
        model: String,
        profile: String,
        model_id: String,
        /// `runtime` (bedrock-runtime: InvokeModel, Converse; one TPM quota, input and output
        /// combined) or `mantle` (bedrock-mantle: OpenAI and Anthropic APIs; input and output
        /// TPM quotas apart).
        #[serde(default)]
        endpoint: InferenceEndpoint,
        /// In-Region on-demand, or a cross-Region inference profile (geographic or global).
        #[serde(default)]
        inference_profile: InferenceProfile,
        /// bedrock-runtime: the account's current TPM quota; default: the profile's `[limits]`.
        #[serde(default)]
        quota_tpm: Option<f64>,
        /// bedrock-runtime: an RPM quota, only where the account still has one (AWS stopped
        /// enforcing RPM in 2026-05).
        #[serde(default)]
        quota_rpm: Option<f64>,
        /// bedrock-mantle: the account's current input- and output-tokens-per-minute quotas.
        #[serde(default)]
        quota_input_tpm: Option<f64>,
        #[serde(default)]
        quota_output_tpm: Option<f64>,
        #[serde(default = "model_max")]
        model_max_tokens: f64,
        /// Bedrock Provisioned Throughput model units to price as well (no commitment).
        #[serde(default)]
        provisioned_model_units: Option<u32>,
        /// Why the option may use a profile that measured another model: the plan is then
        /// marked borrowed everywhere it appears.
        #[serde(default)]
        borrowed: Option<String>,
    },
    Sagemaker {
        name: String,
        model: String,
        profile: String,
        instance_type: String,
        /// Sequences one model copy serves at once (the server's batch).
        slots_per_instance: u32,
        /// Model copies on one instance (inference components), each with its own slots.
        #[serde(default = "one_copy")]
        model_copies: u32,
        #[serde(default)]
        precision: Precision,
        /// Target tracking on requests in flight per instance; none: always on, sized for the peak.
        #[serde(default)]
        autoscaling: Option<AutoscalingPolicy>,
        /// Why the option may use a profile measured on other hardware, another model or
        /// precision (or one that does not say): the plan is then marked borrowed everywhere it
        /// appears and its capacity interval widened.
        #[serde(default)]
        borrowed: Option<String>,
    },
    /// SageMaker Serverless Inference: CPU only, billed per second of compute at a memory size.
    Serverless {
        name: String,
        model: String,
        profile: String,
        memory_mb: u32,
        #[serde(default = "serverless_concurrency")]
        max_concurrency: u32,
        /// Seconds a new container takes (seed 000: 2-10 s).
        #[serde(default = "serverless_cold_start")]
        cold_start_s: f64,
        #[serde(default)]
        precision: Precision,
    },
}

fn one_copy() -> u32 {
    1
}
fn model_max() -> f64 {
    4_096.0
}
fn serverless_concurrency() -> u32 {
    200
}
fn serverless_cold_start() -> f64 {
    6.0
}

/// A SageMaker option's autoscaling policy (ConcurrentRequestsPerModel target tracking).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscalingPolicy {
    pub min_instances: u32,
    /// Default: the instances the peak needs.
    #[serde(default)]
    pub max_instances: Option<u32>,
    /// Requests in flight per instance to hold.
    pub target_concurrency: f64,
}

impl PlanOption {
    pub fn name(&self) -> &str {
        match self {
            PlanOption::Bedrock { name, .. }
            | PlanOption::Sagemaker { name, .. }
            | PlanOption::Serverless { name, .. } => name,
        }
    }
    pub fn model(&self) -> &str {
        match self {
            PlanOption::Bedrock { model, .. }
            | PlanOption::Sagemaker { model, .. }
            | PlanOption::Serverless { model, .. } => model,
        }
    }
    /// Why the option borrows its profile, when it says.
    pub fn borrowed(&self) -> Option<&str> {
        match self {
            PlanOption::Bedrock { borrowed, .. } | PlanOption::Sagemaker { borrowed, .. } => {
                borrowed.as_deref()
            }
            PlanOption::Serverless { .. } => None,
        }
    }
    pub fn profile(&self) -> &str {
        match self {
            PlanOption::Bedrock { profile, .. }
            | PlanOption::Sagemaker { profile, .. }
            | PlanOption::Serverless { profile, .. } => profile,
        }
    }
}

impl Scenario {
    /// Parses and validates a scenario; `origin` names it in every error.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, PlanError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| PlanError::Syntax {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        scenario.validate(origin)?;
        Ok(scenario)
    }

    pub fn builtin() -> Scenario {
        Scenario::parse(BUILTIN_SCENARIO, BUILTIN_ORIGIN).expect("the built-in scenario is valid")
    }

    /// Peak-hour users: employees × the active share, rounded up.
    pub fn peak_users(&self) -> u32 {
        (f64::from(self.employees) * self.peak_active_fraction).ceil() as u32
    }

    /// Every field's range. Errors name the field, the value and the fix.
    pub fn validate(&self, origin: &str) -> Result<(), PlanError> {
        let bad = |field: &str, value: &dyn std::fmt::Display, why: &str| {
            Err(PlanError::field(origin, field, value, why))
        };
        if self.employees == 0 {
            return bad("employees", &self.employees, "must be ≥ 1");
        }
        if !(self.peak_active_fraction > 0.0 && self.peak_active_fraction <= 1.0) {
            return bad(
                "peak_active_fraction",
                &self.peak_active_fraction,
                "must be in (0, 1]: the share of employees active in the peak hour",
            );
        }
        if self.peak_users() > MAX_PEAK_USERS {
            return bad(
                "employees",
                &self.employees,
                &format!(
                    "employees × peak_active_fraction = {} peak-hour users, more than the {MAX_PEAK_USERS} \
                     a plan simulates; plan one business unit (or one Region's share) at a time",
                    self.peak_users()
                ),
            );
        }
        if !(self.sessions_per_user_per_day > 0.0 && self.sessions_per_user_per_day <= 100.0) {
            return bad(
                "sessions_per_user_per_day",
                &self.sessions_per_user_per_day,
                "must be in (0, 100]",
            );
        }
        if !(self.workdays_per_month > 0.0 && self.workdays_per_month <= 31.0) {
            return bad(
                "workdays_per_month",
                &self.workdays_per_month,
                "must be in (0, 31]",
            );
        }
        if !(self.peak_duration_s >= 300.0 && self.peak_duration_s <= MAX_PEAK_DURATION_S) {
            return bad(
                "peak_duration_s",
                &self.peak_duration_s,
                "must be 300–14,400 s: at least five quota minutes, at most four hours",
            );
        }
        let slo = &self.slo;
        if !(slo.ttft_p95_s > 0.0 && slo.ttft_p95_s <= 600.0) {
            return bad("slo.ttft_p95_s", &slo.ttft_p95_s, "must be in (0, 600] s");
        }
        if !(slo.tpot_p95_s > 0.0 && slo.tpot_p95_s <= 60.0) {
            return bad("slo.tpot_p95_s", &slo.tpot_p95_s, "must be in (0, 60] s");
        }
        if !(slo.max_error_rate >= 0.0 && slo.max_error_rate < 1.0) {
            return bad(
                "slo.max_error_rate",
                &slo.max_error_rate,
                "must be in [0, 1): a share of requests, 0.01 = 1 %",
            );
        }
        if let Some(cache) = &self.prompt_cache {
            if let Some(p) = cache.prefix_tokens {
                if !(1.0..=1e6).contains(&p) {
                    return bad(
                        "prompt_cache.prefix_tokens",
                        &p,
                        "must be 1–1,000,000 tokens",
                    );
                }
            }
            if !(cache.hit_rate >= 0.0 && cache.hit_rate <= 1.0) {
                return bad(
                    "prompt_cache.hit_rate",
                    &cache.hit_rate,
                    "must be in [0, 1]: the share of requests that find the prefix cached",
                );
            }
        }
        if let Err((field, why)) = self.forecast.check() {
            return bad(&field, &"(see the field)", &why);
        }
        if !(self.monthly_growth > -1.0 && self.monthly_growth <= 10.0) {
            return bad(
                "monthly_growth",
                &self.monthly_growth,
                "must be in (-1, 10]: growth in volume a month, 0.05 = 5 %",
            );
        }
        if self.option.is_empty() {
            return Err(PlanError::Syntax {
                origin: origin.to_string(),
                message: "no [[option]]: add at least one bedrock, sagemaker or serverless option"
                    .into(),
            });
        }
        if self.option.len() > MAX_OPTIONS {
            return bad(
                "option",
                &self.option.len(),
                &format!("at most {MAX_OPTIONS} options in one plan"),
            );
        }
        for (i, option) in self.option.iter().enumerate() {
            if option.name().trim().is_empty() {
                return bad(
                    &format!("option[{i}].name"),
                    &"\"\"",
                    "give the option a name",
                );
            }
            if self
                .option
                .iter()
                .take(i)
                .any(|o| o.name() == option.name())
            {
                return bad(
                    &format!("option[{i}].name"),
                    &format!("{:?}", option.name()),
                    "two options have this name; names label the rows, charts and quota files",
                );
            }
            validate_option(option, i, origin)?;
        }
        Ok(())
    }
}

fn validate_option(option: &PlanOption, i: usize, origin: &str) -> Result<(), PlanError> {
    let field = |name: &str| format!("option[{i}].{name}");
    let bad = |name: &str, value: &dyn std::fmt::Display, why: &str| {
        Err(PlanError::field(origin, &field(name), value, why))
    };
    if let Some(why) = option.borrowed() {
        if why.trim().is_empty() || why.chars().count() > 500 {
            return bad(
                "borrowed",
                &format!("{:?}", why.chars().take(40).collect::<String>()),
                "must say in 1–500 characters why this option may use a profile measured elsewhere",
            );
        }
    }
    match option {
        PlanOption::Bedrock {
            endpoint,
            quota_tpm,
            quota_rpm,
            quota_input_tpm,
            quota_output_tpm,
            model_max_tokens,
            provisioned_model_units,
            ..
        } => {
            match endpoint {
                InferenceEndpoint::Mantle => {
                    if quota_tpm.is_some() || quota_rpm.is_some() {
                        return bad(
                            "quota_tpm",
                            &quota_tpm.or(*quota_rpm).unwrap_or_default(),
                            "bedrock-mantle has no combined TPM or RPM quota: give quota_input_tpm and quota_output_tpm instead",
                        );
                    }
                    for (name, value) in [
                        ("quota_input_tpm", quota_input_tpm),
                        ("quota_output_tpm", quota_output_tpm),
                    ] {
                        match value {
                            None => {
                                return bad(
                                    name,
                                    &"(missing)",
                                    "a bedrock-mantle option needs its current quota: the value of \"Bedrock Mantle input/output tokens per minute\" in Service Quotas",
                                )
                            }
                            Some(v) if !(*v >= 1_000.0 && *v <= 1e10) => {
                                return bad(name, v, "must be 1,000–10,000,000,000 tokens a minute")
                            }
                            _ => {}
                        }
                    }
                }
                InferenceEndpoint::Runtime => {
                    if let Some(v) = quota_input_tpm.or(*quota_output_tpm) {
                        return bad(
                            "quota_input_tpm",
                            &v,
                            "input and output TPM quotas are bedrock-mantle's: set endpoint = \"mantle\", or give quota_tpm for bedrock-runtime",
                        );
                    }
                }
            }
            if let Some(tpm) = quota_tpm {
                if !(*tpm >= 1_000.0 && *tpm <= 1e10) {
                    return bad(
                        "quota_tpm",
                        tpm,
                        "must be 1,000–10,000,000,000 tokens a minute: your account's value in Service Quotas",
                    );
                }
            }
            if let Some(rpm) = quota_rpm {
                if !(*rpm >= 1.0 && *rpm <= 1e7) {
                    return bad(
                        "quota_rpm",
                        rpm,
                        "must be 1–10,000,000 requests a minute (leave it out where the model has no RPM quota)",
                    );
                }
            }
            if !(*model_max_tokens >= 1.0 && *model_max_tokens <= 1e6) {
                return bad(
                    "model_max_tokens",
                    model_max_tokens,
                    "must be 1–1,000,000: what Bedrock reserves when a request sets no max_tokens",
                );
            }
            if let Some(units) = provisioned_model_units {
                if !(1..=1_000).contains(units) {
                    return bad("provisioned_model_units", units, "must be 1–1,000");
                }
            }
        }
        PlanOption::Sagemaker {
            slots_per_instance,
            model_copies,
            autoscaling,
            ..
        } => {
            if !(1..=4_096).contains(slots_per_instance) {
                return bad(
                    "slots_per_instance",
                    slots_per_instance,
                    "must be 1–4,096: the sequences one model copy batches at once (vLLM's max_num_seqs)",
                );
            }
            if !(1..=64).contains(model_copies) {
                return bad(
                    "model_copies",
                    model_copies,
                    "must be 1–64 model copies on one instance",
                );
            }
            if let Some(a) = autoscaling {
                if !(1..=1_000).contains(&a.min_instances) {
                    return bad(
                        "autoscaling.min_instances",
                        &a.min_instances,
                        "must be 1–1,000 (a real-time endpoint keeps at least one instance)",
                    );
                }
                if let Some(max) = a.max_instances {
                    if max < a.min_instances || max > 1_000 {
                        return bad(
                            "autoscaling.max_instances",
                            &max,
                            "must be at least min_instances and at most 1,000",
                        );
                    }
                }
                let per_instance = f64::from(*slots_per_instance) * f64::from(*model_copies);
                if !(a.target_concurrency >= 1.0 && a.target_concurrency <= per_instance) {
                    return bad(
                        "autoscaling.target_concurrency",
                        &a.target_concurrency,
                        &format!(
                            "must be 1–{per_instance}: requests in flight per instance, at most its \
                             slots × model copies"
                        ),
                    );
                }
            }
        }
        PlanOption::Serverless {
            max_concurrency,
            cold_start_s,
            ..
        } => {
            if !(1..=200).contains(max_concurrency) {
                return bad(
                    "max_concurrency",
                    max_concurrency,
                    "must be 1–200 (SageMaker Serverless's per-endpoint limit)",
                );
            }
            if !(*cold_start_s >= 0.0 && *cold_start_s <= 600.0) {
                return bad(
                    "cold_start_s",
                    cold_start_s,
                    "must be 0–600 s (seed 000 reports 2–10 s)",
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_scenario_parses() {
        let s = Scenario::builtin();
        assert!(s.option.len() >= 3);
        assert_eq!(s.peak_users(), 300);
    }

    #[test]
    fn out_of_range_fields_name_the_field() {
        let text = BUILTIN_SCENARIO.replace("peak_duration_s = 1800.0", "peak_duration_s = inf");
        let e = Scenario::parse(&text, "s.toml").unwrap_err().to_string();
        assert!(e.contains("s.toml") && e.contains("peak_duration_s"), "{e}");
        let text = BUILTIN_SCENARIO.replace("quota_tpm = 600000", "quota_tpm = nan");
        let e = Scenario::parse(&text, "s.toml").unwrap_err().to_string();
        assert!(e.contains("quota_tpm") && e.contains("NaN"), "{e}");
    }
}
