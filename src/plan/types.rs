//! What a plan is: the typed result every report, chart and JSON file is made from. plan.json is
//! this serialised; `llmcap report` reads it back into the same types.

use serde::{Deserialize, Serialize};

use super::capacity::{CurvePoint, SloLimits};
use super::hosting::Hosting;
use super::quota::QuotaEvidence;
use super::tiers::{ReserveDecision, TierCost};
use crate::cost::budget::Budget;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionKind {
    /// Amazon Bedrock on-demand: per token.
    Bedrock,
    /// A SageMaker real-time endpoint: per instance-hour.
    Sagemaker,
    /// SageMaker Serverless Inference: per second of compute.
    Serverless,
}

impl OptionKind {
    /// Whether the option bills per request (tokens or compute seconds) rather than per hour.
    pub fn per_request(self) -> bool {
        matches!(self, OptionKind::Bedrock | OptionKind::Serverless)
    }
}

/// One simulated minute at the planned peak (the TPM-against-quota chart), after the warm-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MinuteTpm {
    pub minute: u32,
    pub tpm_reserved: f64,
    pub tpm_charged: f64,
    pub rpm: u64,
    /// Uncached input + max_tokens at starts (bedrock-mantle's input TPM) and output tokens.
    #[serde(default)]
    pub input_tpm_reserved: f64,
    #[serde(default)]
    pub output_tokens: f64,
}

impl MinuteTpm {
    /// The figure the endpoint's main quota sees: combined TPM reserved on bedrock-runtime,
    /// input TPM reserved on bedrock-mantle.
    pub fn main_figure(&self, endpoint: crate::quota::InferenceEndpoint) -> f64 {
        match endpoint {
            crate::quota::InferenceEndpoint::Runtime => self.tpm_reserved,
            crate::quota::InferenceEndpoint::Mantle => self.input_tpm_reserved,
        }
    }
}

/// Monthly cost against volume v (requests a month): `fixed_usd + per_request_usd × v`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostLine {
    pub fixed_usd: f64,
    pub per_request_usd: f64,
}

impl CostLine {
    pub fn at(&self, requests_per_month: f64) -> f64 {
        self.fixed_usd + self.per_request_usd * requests_per_month
    }
}

/// One server's load at the option's knee (requests in flight on one model copy, or at the
/// Bedrock endpoint) and the mean request there, with each way it lies outside the profile's
/// measured range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    pub in_flight: f64,
    /// "a model copy" or "the endpoint".
    pub per: String,
    pub prompt_tokens: f64,
    pub output_tokens: f64,
    pub extrapolations: Vec<crate::perf::predict::Extrapolation>,
}

impl OperatingPoint {
    /// A table cell: "measured range", or how far outside.
    pub fn cell(&self) -> String {
        if self.extrapolations.is_empty() {
            "within measured".to_string()
        } else {
            self.extrapolations
                .iter()
                .map(|x| x.short())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    /// A sentence for plan.md and the quota documents.
    pub fn reading(&self) -> String {
        let at = format!(
            "at the knee: {:.1} requests in flight on {}, {} prompt and {} output tokens on average",
            self.in_flight,
            self.per,
            crate::format::thousands(self.prompt_tokens),
            crate::format::thousands(self.output_tokens)
        );
        if self.extrapolations.is_empty() {
            format!("{at}; within the range the profile measured")
        } else {
            format!(
                "{at}; outside the range the profile measured, so its latencies there are extrapolated: {}",
                self.extrapolations
                    .iter()
                    .map(|x| x.reading())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionPlan {
    pub name: String,
    pub kind: OptionKind,
    /// The model served (catalog/models.toml).
    pub model: String,
    /// The Bedrock model ID, the instance type, or "serverless N MB".
    pub service: String,
    /// How a SageMaker option holds its model.
    pub hosting: Option<Hosting>,
    pub profile_source: String,
    /// Set when the profile measured another model, hardware or precision and the scenario
    /// says why it may stand in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub borrowed: Option<super::borrowed::Borrowed>,
    /// Where the option runs at its knee against what its profile measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_point: Option<OperatingPoint>,
    /// What times its requests in the simulator (`PerfModel::describe`).
    pub performance_model: String,
    /// Most peak-hour users meeting the SLO (the knee), and 60 % of it (the planning point).
    pub knee_users: u32,
    /// The SLO still held at the most users searched (`simulate::SEARCH_LIMIT_FACTOR`× the
    /// peak, at most `SEARCH_LIMIT_USERS`): the knee is at least this.
    pub knee_at_search_limit: bool,
    pub planned_users: u32,
    /// Bedrock: the knee at the current quota, and whether the SLO still held there at the
    /// most users searched (then it is at least this).
    pub knee_users_at_current_quota: Option<u32>,
    pub knee_at_current_quota_at_search_limit: bool,
    /// SageMaker: instances the peak needs.
    pub instances: Option<u32>,
    pub peak_users: u32,
    pub peak_meets_slo: bool,
    pub peak_ttft_p95_s: f64,
    pub peak_tpot_p95_s: f64,
    /// A caveat on the capacity figures (e.g. cold starts failing the SLO at low load only).
    pub capacity_note: Option<String>,
    pub quota: Option<QuotaEvidence>,
    pub monthly_requests: f64,
    pub mean_input_tokens: f64,
    pub mean_output_tokens: f64,
    /// Requests one active user sends per hour at the peak (simulated).
    pub requests_per_user_hour: f64,
    pub monthly_list_usd: f64,
    pub monthly_on_demand_usd: f64,
    /// Bedrock: the same month under each tier the model is sold in (Standard, Priority, Flex,
    /// Batch, Reserved, Provisioned Throughput), and whether this workload can use it.
    pub tiers: Vec<TierCost>,
    /// Bedrock: whether reserving the peak's tokens per minute pays, where Reserved is priced.
    pub reserve: Option<ReserveDecision>,
    /// Bedrock: how the prompt cache was applied (or why not).
    pub prompt_cache_note: Option<String>,
    pub cost_per_request_usd: f64,
    /// The part of the monthly on-demand cost that does not follow volume: all of an always-on
    /// fleet's, an autoscaled fleet's minimum instances around the clock, nothing for
    /// per-request billing.
    pub monthly_fixed_usd: f64,
    /// SageMaker: how uncertain one instance's capacity is — the log-spread (σ of a lognormal)
    /// of the profile's 90 % TPOT interval at the peak's operating point, and how it was read;
    /// the forecast draws capacity from it. None where the profile has no intervals.
    #[serde(default)]
    pub capacity_log_sigma: Option<f64>,
    #[serde(default)]
    pub capacity_interval: Option<String>,
    /// SageMaker: instance-hours a month and how they were found.
    pub instance_hours_per_month: Option<f64>,
    /// SageMaker, always on: what one instance holds and costs, the steps of its cost curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet_steps: Option<super::staircase::FleetSteps>,
    /// SageMaker, autoscaled: the range it scales in and what its simulated workday ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<Scaling>,
    /// SageMaker: the month under the Savings Plan the scenario states, beside on demand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub savings_plan: Option<super::savings_plan::SavingsPlanCost>,
    pub fleet_basis: Option<String>,
    pub budget: Budget,
    /// What the budget multiplier says and why, against seed 000's 2–3× rule of thumb.
    pub budget_reading: String,
    pub price_source: String,
    /// The capacity search's simulations, by users (SageMaker: one instance's).
    pub curve: Vec<CurvePoint>,
    /// Users in `curve` are multiplied by this for the whole option (SageMaker: instances).
    pub curve_scale: u32,
    /// TPM and RPM per simulated minute at the planned peak (Bedrock).
    pub peak_minutes: Vec<MinuteTpm>,
}

impl OptionPlan {
    /// Monthly cost against volume, through this plan's point: the fixed part, and the rest
    /// spread over the scenario's requests.
    pub fn cost_line(&self) -> CostLine {
        let variable = (self.monthly_on_demand_usd - self.monthly_fixed_usd).max(0.0);
        CostLine {
            fixed_usd: self.monthly_fixed_usd,
            per_request_usd: variable / self.monthly_requests.max(1.0),
        }
    }

    /// Monthly cost against volume as this option is bought: a staircase of whole instances
    /// for an always-on fleet, else the line through this plan's point.
    pub fn cost_curve(&self) -> super::staircase::CostCurve {
        match self.fleet_steps {
            Some(steps) => super::staircase::CostCurve::Steps(steps),
            None => super::staircase::CostCurve::Line(self.cost_line()),
        }
    }
}

/// A per-request option against a dedicated fleet serving the same model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BreakEven {
    pub model: String,
    pub per_request: String,
    pub dedicated: String,
    /// Every volume between `range` where the per-request line and the fleet's cost curve
    /// change order (the first `staircase::CROSSINGS_LISTED`), and how many there are.
    pub crossings: Vec<super::staircase::Crossing>,
    pub crossings_total: u64,
    /// The highest crossing: above it the order holds to the end of `range`.
    pub last_crossing: Option<super::staircase::Crossing>,
    /// Requests a month searched for crossings (0.001× to 1,000× the scenario's volume).
    pub range: [f64; 2],
    /// The fleet's steps where it is always on (its instances as they are bought).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet_steps: Option<super::staircase::FleetSteps>,
    /// USD a request: the per-request option's, and the fleet's when its instances are full.
    pub per_request_usd: f64,
    pub fleet_usd_per_request_full: f64,
    /// The option cheaper at the scenario's volume, and by how much a month.
    pub cheaper_at_plan: String,
    pub saving_at_plan_usd: f64,
    /// The saving as a share of the dearer option's month.
    pub saving_fraction: f64,
    /// Where the per-request option's model can be reserved: the reservation's month (sized at
    /// the peak) against the dedicated fleet's, at the scenario's volume.
    #[serde(default)]
    pub reserved_month_usd: Option<f64>,
    #[serde(default)]
    pub dedicated_month_usd: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub scenario: String,
    pub use_case: String,
    pub generated_on: String,
    pub peak_users: u32,
    pub monthly_requests: f64,
    pub slo: SloLimits,
    /// Simulated before each peak's measured window (left out of every statistic).
    pub warmup_s: f64,
    pub peak_duration_s: f64,
    pub options: Vec<OptionPlan>,
    pub break_even: Vec<BreakEven>,
    pub elapsed_s: f64,
    pub assumptions: Vec<String>,
}

/// An autoscaled SageMaker fleet: the instances it may run, those the planned peak needs, and
/// its simulated workday (a fleet that may scale to zero refuses requests while none runs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    pub min_instances: u32,
    pub max_instances: u32,
    pub peak_instances: u32,
    pub workday_instance_hours: f64,
    pub workday_error_rate: f64,
}

impl Scaling {
    pub fn to_zero(&self) -> bool {
        self.min_instances == 0
    }
}
