//! What every option's plan shares: the context a planner works in, and one builder that turns
//! a capacity search and a simulated peak into an `OptionPlan` the per-service planners finish.

use super::capacity::{point_at, Capacity, CurvePoint};
use super::hosting::{HostingCatalog, ServedModel};
use super::scenario::Scenario;
use super::simulate::{mean_tokens, requests_per_user_hour, PeakSimulator};
use super::types::{OperatingPoint, OptionKind, OptionPlan};
use crate::cost::budget::{Budget, Step};
use crate::cost::catalog::Catalog;
use crate::perf::Profile;
use crate::sim::SimResult;
use crate::workload::WorkloadSpec;

/// Budget Monte Carlo draws (the spread of P50/P90 is below 0.5 % at this count).
pub const BUDGET_SAMPLES: usize = 20_000;

pub struct Context<'a> {
    pub scenario: &'a Scenario,
    pub origin: &'a str,
    pub workload: &'a WorkloadSpec,
    pub catalog: &'a Catalog,
    pub hosting: &'a HostingCatalog,
    pub peak_users: u32,
    pub monthly_requests: f64,
}

/// The parts of an option's plan every service fills the same way.
pub struct Evidence<'a> {
    pub name: &'a str,
    pub kind: OptionKind,
    pub model: &'a str,
    pub service: String,
    pub profile: &'a Profile,
    pub capacity: Capacity,
    pub curve: Vec<CurvePoint>,
    /// Users in the curve × this = the whole option's users (SageMaker: instances).
    pub curve_scale: u32,
    /// Servers (model copies) in one unit of the curve: the profile measured one of them.
    pub servers_per_unit: u32,
    pub peak: &'a SimResult,
    /// On-demand monthly cost at the scenario's volume, and the part that does not follow it.
    pub monthly_usd: f64,
    pub monthly_fixed_usd: f64,
    pub budget: Budget,
    pub price_source: String,
}

/// The budget multiplier in words: where it sits against seed 000's "2–3× advertised pricing",
/// the factor that adds most, and how far P90 sits above P50 and why.
pub fn budget_reading(kind: OptionKind, b: &Budget) -> String {
    use crate::format::percent;
    let largest = b
        .shares
        .iter()
        .max_by(|x, y| x.usd.total_cmp(&y.usd))
        .map(|s| {
            format!(
                "{} ({} of the uplift)",
                s.factor,
                percent(s.fraction_of_uplift)
            )
        });
    let position = if b.multiplier_p50 > 3.0 {
        format!(
            "above seed 000's 2–3×: the list price counts only the bare message and reply, and the largest addition is {}",
            largest.unwrap_or_default()
        )
    } else if b.multiplier_p50 < 2.0 {
        match kind {
            OptionKind::Sagemaker => "below seed 000's 2–3×: a fleet bills instance-hours sized by the simulated peak, so prompts, history and retries add nothing to it; only data transfer and monitoring do, priced by the GB (demand above the plan adds whole instances: see `llmcap forecast`)".to_string(),
            _ => format!(
                "below seed 000's 2–3×: the largest addition is {}",
                largest.unwrap_or_default()
            ),
        }
    } else {
        format!(
            "within seed 000's 2–3×; the largest addition is {}",
            largest.unwrap_or_default()
        )
    };
    let spread = if b.p50_monthly_usd > 0.0 {
        b.p90_monthly_usd / b.p50_monthly_usd - 1.0
    } else {
        0.0
    };
    let uncertain = b.shares.iter().any(|s| s.step == Step::Demand);
    format!(
        "{:.2}× list at P50, {:.2}× at P90: {position}. {}",
        b.multiplier_p50,
        b.multiplier_p90,
        if uncertain {
            format!("P90 is {} above P50, mostly the demand's uncertainty (the scenario's usage_per_user × tokens_per_request).", percent(spread))
        } else if spread > 0.0 {
            format!(
                "P90 is {} above P50, from the retry range.",
                percent(spread)
            )
        } else {
            "P90 equals P50: the fleet's hours are fixed by the simulated peak and its overheads priced per unit; demand above the plan adds instances (see `llmcap forecast`).".to_string()
        }
    )
}

/// One server's load at the knee and the mean request, against the profile's measured range.
fn operating_point(e: &Evidence, mean_in: f64, mean_out: f64) -> Option<OperatingPoint> {
    let knee = point_at(&e.curve, e.capacity.knee)?;
    let servers = f64::from(e.servers_per_unit.max(1));
    let in_flight = knee.in_flight / servers;
    Some(OperatingPoint {
        in_flight,
        per: if e.kind == OptionKind::Sagemaker {
            "a model copy".into()
        } else {
            "the endpoint".into()
        },
        prompt_tokens: mean_in,
        output_tokens: mean_out,
        extrapolations: e.profile.model.range.outside(in_flight, mean_in, mean_out),
    })
}

impl Context<'_> {
    /// The simulations of one option: its profile, at the served model's context window.
    pub fn simulator<'a>(
        &'a self,
        option: &'a str,
        profile: &'a Profile,
        served: &ServedModel,
    ) -> PeakSimulator<'a> {
        PeakSimulator {
            scenario: self.scenario,
            workload: self.workload,
            profile,
            context_window: served.context_window,
            option,
        }
    }

    pub fn build(&self, e: Evidence) -> OptionPlan {
        let (mean_in, mean_out) = mean_tokens(e.peak);
        let operating_point = operating_point(&e, mean_in, mean_out);
        let slo = &self.scenario.slo;
        let peak_meets_slo = slo.met_by(e.peak);
        let knee_users = e.capacity.knee * e.curve_scale;
        let capacity_note = (peak_meets_slo && knee_users < self.peak_users).then(|| {
            format!(
                "the SLO holds at the peak ({} users) but not at {} users: at low load a few slow \
                 requests (cold starts) weigh more in the p95, so the knee is not a ceiling here",
                self.peak_users,
                (knee_users + 1).max(1)
            )
        });
        OptionPlan {
            name: e.name.to_string(),
            kind: e.kind,
            model: e.model.to_string(),
            service: e.service,
            hosting: None,
            profile_source: e.profile.provenance.source.clone(),
            borrowed: None,
            operating_point,
            performance_model: e.profile.model.describe(),
            knee_users,
            knee_at_search_limit: e.capacity.at_limit,
            planned_users: e.capacity.planned * e.curve_scale,
            knee_users_at_current_quota: None,
            knee_at_current_quota_at_search_limit: false,
            instances: None,
            peak_users: self.peak_users,
            peak_meets_slo,
            peak_ttft_p95_s: e.peak.ttft_s.p95,
            peak_tpot_p95_s: e.peak.tpot_s.p95,
            capacity_note,
            quota: None,
            monthly_requests: self.monthly_requests,
            mean_input_tokens: mean_in,
            mean_output_tokens: mean_out,
            requests_per_user_hour: requests_per_user_hour(e.peak, self.peak_users),
            monthly_list_usd: e.monthly_usd,
            monthly_on_demand_usd: e.monthly_usd,
            tiers: Vec::new(),
            reserve: None,
            prompt_cache_note: None,
            cost_per_request_usd: e.monthly_usd / self.monthly_requests.max(1.0),
            monthly_fixed_usd: e.monthly_fixed_usd,
            capacity_log_sigma: None,
            capacity_interval: None,
            instance_hours_per_month: None,
            fleet_steps: None,
            fleet_basis: None,
            scaling: None,
            savings_plan: None,
            budget_reading: budget_reading(e.kind, &e.budget),
            budget: e.budget,
            price_source: e.price_source,
            curve: e.curve,
            curve_scale: e.curve_scale,
            peak_minutes: Vec::new(),
        }
    }

    /// A month's data transfer and monitoring for requests of these mean tokens (as sent).
    pub fn overheads(&self, mean_in: f64, mean_out: f64) -> crate::cost::overheads::Overheads {
        crate::cost::overheads::overheads(
            &self.catalog.overheads,
            &self.scenario.overheads,
            &crate::cost::overheads::Traffic {
                requests: self.monthly_requests,
                mean_input_tokens: mean_in,
                mean_output_tokens: mean_out,
            },
        )
    }

    /// Users are searched up to this many.
    pub fn search_limit(&self) -> u32 {
        self.peak_users
            .saturating_mul(super::simulate::SEARCH_LIMIT_FACTOR)
            .clamp(4, super::simulate::SEARCH_LIMIT_USERS)
    }
}
