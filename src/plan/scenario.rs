//! A plan scenario (TOML): who uses the deployment, how much, and the options to compare. Parsed
//! and validated in full before anything is simulated: every field's range is checked here, so
//! the planners only see values they can use, and the work a scenario asks for is bounded.

use serde::{Deserialize, Serialize};

use super::capacity::SloLimits;
use super::error::PlanError;
use super::forecast_spec::{ForecastSpec, Uncertain};
use crate::quota::bucket::InferenceEndpoint;
use crate::workload::{profiles, WorkloadSpec};

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
    /// Share of employees in a conversation during the busiest hour; derived from the
    /// workload's daily curve when it has one (give one or the other).
    #[serde(default)]
    pub peak_active_fraction: Option<f64>,
    pub sessions_per_user_per_day: f64,
    pub workdays_per_month: f64,
    /// A built-in workload's name (`llmcap workloads`), a workload file (`*.toml`, relative to
    /// the scenario) or an inline `[workload]` table. After [`Scenario::parse_with`] a file is
    /// read and held inline.
    pub workload: WorkloadRef,
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
    /// Expected growth in volume a month (0.05 = 5 %): the quota documents' outlook and the
    /// centre of the forecast's `usage_growth_per_month` (one number: set it here or there;
    /// unset, the forecast's default). Read it with [`Scenario::monthly_growth`].
    #[serde(default, rename = "monthly_growth")]
    pub monthly_growth_set: Option<f64>,
    /// Where replies go and what is logged and watched: data transfer and CloudWatch priced per
    /// GB, alarm and dashboard (pricing/overheads.toml).
    #[serde(default)]
    pub overheads: crate::cost::overheads::OverheadSettings,
    /// `llmcap forecast`: the horizon, adoption and the uncertain inputs (defaults say where
    /// they come from).
    #[serde(default)]
    pub forecast: ForecastSpec,
    pub option: Vec<PlanOption>,
}

/// Where a scenario's workload comes from.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum WorkloadRef {
    /// A built-in name, or a file to read (a name ending in `.toml`).
    Named(String),
    Inline(Box<WorkloadSpec>),
}

impl<'de> Deserialize<'de> for WorkloadRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = WorkloadRef;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a built-in workload's name, a workload file (*.toml) or a [workload] table",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<WorkloadRef, E> {
                Ok(WorkloadRef::Named(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<WorkloadRef, A::Error> {
                WorkloadSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|w| WorkloadRef::Inline(Box::new(w)))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl WorkloadRef {
    /// A name that is a file to read rather than a built-in workload.
    pub fn file(&self) -> Option<&str> {
        match self {
            WorkloadRef::Named(name) if name.ends_with(".toml") || name.contains('/') => Some(name),
            _ => None,
        }
    }
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

/// The share of requests assumed to find a cached prefix when the scenario does not say.
pub const DEFAULT_CACHE_HIT_RATE: f64 = 0.95;

fn cache_hit_rate() -> f64 {
    DEFAULT_CACHE_HIT_RATE
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

    /// Its value in a scenario.
    pub fn key(self) -> &'static str {
        match self {
            InferenceProfile::InRegion => "in_region",
            InferenceProfile::Geographic => "geographic",
            InferenceProfile::Global => "global",
        }
    }

    /// How a request reaches the model, in a sentence's words.
    pub fn describe(self) -> &'static str {
        match self {
            InferenceProfile::InRegion => "on demand in the Region (the bare model ID)",
            InferenceProfile::Geographic => "a geographic cross-Region inference profile",
            InferenceProfile::Global => "the global cross-Region inference profile",
        }
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
        /// The model ID's prefix decides (`us.`… geographic, `global.`); when given, this
        /// must agree with it.
        #[serde(default)]
        inference_profile: Option<InferenceProfile>,
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
        /// Also price the fleet under a SageMaker Savings Plan at the stated discount.
        #[serde(default)]
        savings_plan: Option<SavingsPlan>,
        /// The server reuses the KV of a prompt prefix it has already computed (vLLM, SGLang,
        /// TGI 3 and llama-server do by default): the workload's `cached_prefix` is then not
        /// prefilled again. `false` for a server run without it.
        #[serde(default = "prefix_cache_on")]
        prefix_cache: bool,
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

fn prefix_cache_on() -> bool {
    true
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

/// A SageMaker Savings Plan: the discount AWS gives the instance family, Region and term for
/// committing a spend an hour, with where the rate was read (none is held in the catalog).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SavingsPlan {
    /// Off the on-demand instance-hour price, e.g. 0.3 for 30 %.
    pub discount: f64,
    /// 1 or 3.
    pub term_years: u32,
    pub source: String,
}

/// A SageMaker option's autoscaling policy (ConcurrentRequestsPerModel target tracking).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscalingPolicy {
    /// 0: the model's inference components scale to zero when idle (MinInstanceCount 0);
    /// nothing is billed then, and requests fail while the first instance starts.
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
    /// Parses and validates a scenario that names no workload file; `origin` names it in
    /// every error.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, PlanError> {
        Scenario::parse_with(text, origin, |file| {
            Err(format!(
                "workload {file:?}: a workload file is read relative to a scenario file; give a built-in name or a [workload] table"
            ))
        })
    }

    /// Parses and validates a scenario; `read` gives the text of a workload file the scenario
    /// names (relative to it) and that file's name for errors, or why it cannot.
    pub fn parse_with(
        text: &str,
        origin: &str,
        read: impl FnOnce(&str) -> Result<(String, String), String>,
    ) -> Result<Scenario, PlanError> {
        let mut scenario: Scenario = toml::from_str(text).map_err(|e| PlanError::Syntax {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        if let Some(file) = scenario.workload.file() {
            let (text, file_origin) = read(file)
                .map_err(|why| PlanError::field(origin, "workload", format!("{file:?}"), &why))?;
            let workload: WorkloadSpec = toml::from_str(&text).map_err(|e| PlanError::Syntax {
                origin: file_origin.clone(),
                message: e.to_string().trim_end().to_string(),
            })?;
            workload
                .validate_as("workload")
                .map_err(|e| PlanError::Syntax {
                    origin: file_origin,
                    message: e.to_string(),
                })?;
            scenario.workload = WorkloadRef::Inline(Box::new(workload));
        }
        scenario.validate(origin)?;
        scenario.share_growth(origin)?;
        Ok(scenario)
    }

    /// The growth a month every output uses: the quota documents' 6-month column and the
    /// forecast alike (the median of `[forecast] usage_growth_per_month`).
    pub fn monthly_growth(&self) -> f64 {
        self.forecast.usage_growth_per_month.quantile(0.5)
    }

    /// Makes `monthly_growth` and the forecast's growth one number: a `monthly_growth` centres
    /// the forecast's default spread on it; both set and different is refused.
    fn share_growth(&mut self, origin: &str) -> Result<(), PlanError> {
        let Some(g) = self.monthly_growth_set else {
            return Ok(());
        };
        let default = ForecastSpec::default().usage_growth_per_month;
        if self.forecast.usage_growth_per_month == default {
            if let Uncertain::Normal { sd, .. } = default {
                self.forecast.usage_growth_per_month = Uncertain::Normal { mean: g, sd };
            }
            return Ok(());
        }
        let centre = self.monthly_growth();
        if (centre - g).abs() > 1e-9 {
            return Err(PlanError::field(
                origin,
                "monthly_growth",
                g,
                &format!(
                    "[forecast] usage_growth_per_month centres on {centre} a month; growth is one number for the quota documents and the forecast: drop monthly_growth (the forecast's is used) or set it to {centre}"
                ),
            ));
        }
        Ok(())
    }

    /// The workload: built in by name, or as the scenario (or its file) spells it out.
    pub fn workload_spec(&self) -> Option<WorkloadSpec> {
        match &self.workload {
            WorkloadRef::Named(name) => profiles::by_name(name),
            WorkloadRef::Inline(spec) => Some((**spec).clone()),
        }
    }

    /// Share of employees active in the peak hour: as given, or what the workload's daily
    /// curve implies (the busiest hour's requests over what an active user sends in an hour).
    pub fn peak_fraction(&self) -> f64 {
        if let Some(f) = self.peak_active_fraction {
            return f;
        }
        self.workload_spec()
            .and_then(|w| implied_peak_fraction(self, &w))
            .unwrap_or(1.0)
    }

    pub fn builtin() -> Scenario {
        Scenario::parse(BUILTIN_SCENARIO, BUILTIN_ORIGIN).expect("the built-in scenario is valid")
    }

    /// Where the peak's share of active employees comes from, for plan.md and the quota
    /// documents: "15 % active in the peak hour" or the daily curve's arithmetic.
    pub fn peak_basis(&self) -> String {
        let fraction = self.peak_fraction() * 100.0;
        let curve = self.workload_spec().and_then(|w| {
            let daily = w.daily.clone()?;
            let (hour, share) = daily.peak();
            let per_hour = w.behaviour().max_rate_per_s()? * 3_600.0;
            Some(format!(
                "{fraction:.1} % active in the peak hour, from the workload's daily curve: its busiest hour ({hour:02}:00–{:02}:00 UTC, {} zone(s)) holds {:.2} % of the day's {} sessions × {} requests an employee, and an active user sends up to {per_hour:.1} requests an hour",
                (hour + 1) % 24,
                daily.zone.len(),
                share * 100.0,
                self.sessions_per_user_per_day,
                w.turns_per_session
            ))
        });
        curve.unwrap_or_else(|| format!("{fraction:.0} % active in the peak hour"))
    }

    /// Peak-hour users: employees × the active share, rounded up.
    pub fn peak_users(&self) -> u32 {
        (f64::from(self.employees) * self.peak_fraction()).ceil() as u32
    }

    /// Every field's range. Errors name the field, the value and the fix.
    pub fn validate(&self, origin: &str) -> Result<(), PlanError> {
        let bad = |field: &str, value: &dyn std::fmt::Display, why: &str| {
            Err(PlanError::field(origin, field, value, why))
        };
        if self.employees == 0 {
            return bad("employees", &self.employees, "must be ≥ 1");
        }
        let workload = match self.workload_spec() {
            Some(w) => w,
            None => {
                let names: Vec<String> = profiles::builtin().into_iter().map(|w| w.name).collect();
                return bad(
                    "workload",
                    &format!("{:?}", match &self.workload {
                        WorkloadRef::Named(n) => n.as_str(),
                        WorkloadRef::Inline(_) => "",
                    }),
                    &format!(
                        "unknown workload: no built-in one of that name ({}); or name a workload file (*.toml) or write a [workload] table",
                        names.join(", ")
                    ),
                );
            }
        };
        if let Err(e) = workload.validate() {
            return Err(PlanError::Syntax {
                origin: origin.to_string(),
                message: e.to_string(),
            });
        }
        match (self.peak_active_fraction, &workload.daily) {
            (Some(f), None) if !(f > 0.0 && f <= 1.0) => {
                return bad(
                    "peak_active_fraction",
                    &f,
                    "must be in (0, 1]: the share of employees active in the peak hour",
                );
            }
            (Some(f), Some(_)) => {
                return bad(
                    "peak_active_fraction",
                    &f,
                    &format!(
                        "the workload's daily curve sets the peak hour (it implies {}); give one or the other: remove peak_active_fraction, or the workload's [daily] table",
                        implied_peak_fraction(self, &workload)
                            .map_or("no finite share".into(), |f| format!("{:.4}", f))
                    ),
                );
            }
            (None, None) => {
                return bad(
                    "peak_active_fraction",
                    &"(missing)",
                    "give the share of employees active in the peak hour (e.g. 0.15), or a [workload.daily] curve to derive it from",
                );
            }
            (None, Some(_)) => match implied_peak_fraction(self, &workload) {
                Some(f) if f > 0.0 && f <= 1.0 => {}
                other => {
                    return bad(
                        "workload.daily",
                        &other.map_or("no finite share".into(), |f| format!("{f:.3}")),
                        "the busiest hour's requests need more than every employee active (or users who never pause): lower sessions_per_user_per_day or turns_per_session, flatten the curve, or lengthen think_time_s and session_gap_s",
                    );
                }
            },
            (Some(_), None) => {}
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
                if workload.mean_cached_prefix() > 0.0 {
                    return bad(
                        "prompt_cache.prefix_tokens",
                        &p,
                        "the workload's classes already give their cached_prefix: keep one (remove prefix_tokens, or the classes' cached_prefix)",
                    );
                }
                if let Some((i, c)) = workload
                    .classes
                    .iter()
                    .enumerate()
                    .find(|(_, c)| c.min_prompt() < p)
                {
                    return bad(
                        "prompt_cache.prefix_tokens",
                        &p,
                        &format!(
                            "longer than the shortest prompt of workload class {i} ({:?}: {} tokens); a prefix repeated in every request must fit in each: shorten it, or use a workload whose system prompt holds it",
                            c.name,
                            crate::format::thousands(c.min_prompt())
                        ),
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
        if let Err((field, why)) = self.overheads.check() {
            return bad(field, &"(see the field)", &why);
        }
        if let Err((field, why)) = self.forecast.check() {
            return bad(&field, &"(see the field)", &why);
        }
        let growth = self.monthly_growth_set.unwrap_or(0.0);
        if !(growth > -1.0 && growth <= 10.0) {
            return bad(
                "monthly_growth",
                &growth,
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
            let slug = file_slug(option.name());
            if slug.is_empty() {
                return bad(
                    &format!("option[{i}].name"),
                    &format!("{:?}", option.name()),
                    "an option's name needs a letter or digit: its quota document is named after it (quota-NAME.md)",
                );
            }
            if let Some(other) = self
                .option
                .iter()
                .take(i)
                .find(|o| file_slug(o.name()) == slug)
            {
                let why = if other.name() == option.name() {
                    "two options have this name; names label the rows, charts and quota files"
                        .to_string()
                } else {
                    format!(
                        "option {:?} already writes quota-{slug}.md (names differing only in punctuation, spaces or case give the same file); give this option a name that differs in a letter or digit",
                        other.name()
                    )
                };
                return bad(
                    &format!("option[{i}].name"),
                    &format!("{:?}", option.name()),
                    &why,
                );
            }
            validate_option(option, i, origin)?;
        }
        Ok(())
    }
}

/// An option's name as it appears in file names: lower-case ASCII letters and digits, every
/// other run of characters one hyphen ("Llama 3.3 70B on Bedrock" → "llama-3-3-70b-on-bedrock").
/// Two options of one scenario never share it (`Scenario::validate`).
pub fn file_slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// The share of employees active in the peak hour that a workload's daily curve implies: the
/// busiest UTC hour's requests (employees × sessions a day × turns × the hour's share) over
/// what one active user sends in an hour when replies take no time. `None` without a curve or
/// with users who never pause.
pub fn implied_peak_fraction(s: &Scenario, w: &WorkloadSpec) -> Option<f64> {
    let daily = w.daily.as_ref()?;
    let per_user_hour = w.behaviour().max_rate_per_s()? * 3_600.0;
    let requests_per_employee_day = s.sessions_per_user_per_day * w.turns_per_session;
    let f = requests_per_employee_day * daily.peak().1 / per_user_hour;
    f.is_finite().then_some(f)
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
            savings_plan,
            ..
        } => {
            if let Some(s) = savings_plan {
                if !(s.discount > 0.0 && s.discount < 1.0) {
                    return bad(
                        "savings_plan.discount",
                        &s.discount,
                        "must be between 0 and 1 (0.3 for 30 % off the on-demand hour)",
                    );
                }
                if !matches!(s.term_years, 1 | 3) {
                    return bad(
                        "savings_plan.term_years",
                        &s.term_years,
                        "must be 1 or 3 (the terms AWS sells)",
                    );
                }
                if s.source.trim().is_empty() {
                    return bad(
                        "savings_plan.source",
                        &"\"\"",
                        "must say where the rate was read (AWS's Savings Plans pricing page and its date, or a quote)",
                    );
                }
            }
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
                if a.min_instances > 1_000 {
                    return bad(
                        "autoscaling.min_instances",
                        &a.min_instances,
                        "must be 0–1,000 (0: the inference components scale to zero when idle)",
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
