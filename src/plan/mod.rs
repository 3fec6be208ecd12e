//! The planning domain: a scenario's options simulated at the peak, users supported, the quota
//! each Bedrock option needs, the monthly cost, break-even between options serving the same
//! model, and a realistic budget. Pure: the caller reads files and passes their contents.

pub mod bedrock;
pub mod borrowed;
pub mod breakeven;
pub mod builder;
pub mod capacity;
pub mod error;
pub mod forecast_spec;
pub mod hosting;
pub mod invocation;
pub mod knee_search;
pub mod quota;
pub mod sagemaker;
pub mod savings_plan;
pub mod scenario;
pub mod serverless;
pub mod simulate;
pub mod staircase;
pub mod template;
pub mod tiers;
pub mod types;
pub mod verify;

use std::time::Instant;

pub use capacity::{search, Capacity, CurvePoint, SloLimits};
pub use error::PlanError;
pub use hosting::HostingCatalog;
pub use scenario::{PlanOption, Scenario};
pub use types::{BreakEven, CostLine, MinuteTpm, OptionKind, OptionPlan, Plan};

use crate::cost::catalog::Catalog;
use crate::perf::Profile;
use crate::workload::WorkloadSpec;
use builder::Context;

/// What a plan is computed from.
pub struct Inputs<'a> {
    pub scenario: &'a Scenario,
    /// Names the scenario in errors (its path, or "built-in scenario").
    pub origin: &'a str,
    /// One profile per option, in the scenario's order.
    pub profiles: &'a [Profile],
    pub catalog: &'a Catalog,
    pub hosting: &'a HostingCatalog,
    /// The date the plan is stamped with (YYYY-MM-DD).
    pub generated_on: &'a str,
}

/// Requests a month: employees × sessions a day × turns a session × workdays.
pub fn monthly_requests(scenario: &Scenario, workload: &WorkloadSpec) -> f64 {
    f64::from(scenario.employees)
        * scenario.sessions_per_user_per_day
        * workload.behaviour().turns_per_session
        * scenario.workdays_per_month
}

/// The scenario as the planners take it: its workload, and every class of a workload of
/// several held to its own SLO.
fn prepared(inputs: &Inputs) -> Result<(Scenario, WorkloadSpec), PlanError> {
    let scenario = inputs.scenario;
    let origin = inputs.origin;
    if inputs.profiles.len() != scenario.option.len() {
        return Err(PlanError::Source(format!(
            "{origin}: {} options but {} profiles",
            scenario.option.len(),
            inputs.profiles.len()
        )));
    }
    let workload = scenario.workload_spec().ok_or_else(|| {
        PlanError::field(
            origin,
            "workload",
            format!("{:?}", scenario.workload),
            "unknown workload; see `llmcap workloads`",
        )
    })?;
    let mut with_classes = scenario.clone();
    with_classes.slo = scenario.slo.for_classes(&workload);
    Ok((with_classes, workload))
}

/// Runs every planner for a scenario.
pub fn compute(inputs: &Inputs) -> Result<Plan, PlanError> {
    let clock = Instant::now();
    let origin = inputs.origin;
    let (with_classes, workload) = prepared(inputs)?;
    let scenario = &with_classes;
    let monthly_requests = monthly_requests(scenario, &workload);
    let ctx = Context {
        scenario,
        origin,
        workload: &workload,
        catalog: inputs.catalog,
        hosting: inputs.hosting,
        peak_users: scenario.peak_users(),
        monthly_requests,
    };
    let mut options = Vec::new();
    for (option, profile) in scenario.option.iter().zip(inputs.profiles) {
        options.push(plan_option(&ctx, option, profile)?);
    }
    let break_even = breakeven::break_even(&options, monthly_requests);
    Ok(Plan {
        scenario: scenario.name.clone(),
        use_case: scenario.use_case.clone(),
        generated_on: inputs.generated_on.to_string(),
        peak_users: ctx.peak_users,
        monthly_requests,
        slo: scenario.slo.clone(),
        warmup_s: simulate::peak_warmup_s(&workload),
        peak_duration_s: scenario.peak_duration_s,
        options,
        break_even,
        elapsed_s: clock.elapsed().as_secs_f64(),
        assumptions: assumptions(scenario, &workload),
    })
}

fn plan_option(
    ctx: &Context,
    option: &PlanOption,
    profile: &Profile,
) -> Result<OptionPlan, PlanError> {
    match typed(ctx, option)? {
        Typed::Bedrock(o) => bedrock::plan(ctx, &o, profile),
        Typed::Sagemaker(o) => sagemaker::plan(ctx, &o, profile),
        Typed::Serverless(o) => serverless::plan(ctx, &o, profile),
    }
}

/// A scenario option as its planner takes it.
enum Typed<'a> {
    Bedrock(bedrock::BedrockOption<'a>),
    Sagemaker(sagemaker::SagemakerOption<'a>),
    Serverless(serverless::ServerlessOption<'a>),
}

/// The option typed for its planner; a Bedrock option's way to the model checked.
fn typed<'a>(ctx: &Context, option: &'a PlanOption) -> Result<Typed<'a>, PlanError> {
    Ok(match option {
        PlanOption::Bedrock {
            name,
            model,
            model_id,
            endpoint,
            inference_profile,
            quota_tpm,
            quota_rpm,
            quota_input_tpm,
            quota_output_tpm,
            model_max_tokens,
            provisioned_model_units,
            borrowed,
            ..
        } => Typed::Bedrock(bedrock::BedrockOption {
            name,
            model,
            model_id,
            endpoint: *endpoint,
            inference_profile: bedrock::reached_through(
                ctx,
                name,
                model,
                model_id,
                *endpoint,
                *inference_profile,
            )?,
            quota_tpm: *quota_tpm,
            quota_rpm: *quota_rpm,
            quota_input_tpm: *quota_input_tpm,
            quota_output_tpm: *quota_output_tpm,
            model_max_tokens: *model_max_tokens,
            provisioned_model_units: *provisioned_model_units,
            borrowed: borrowed.as_deref(),
        }),
        PlanOption::Sagemaker {
            name,
            model,
            instance_type,
            slots_per_instance,
            model_copies,
            precision,
            autoscaling,
            savings_plan,
            prefix_cache,
            borrowed,
            ..
        } => Typed::Sagemaker(sagemaker::SagemakerOption {
            name,
            model,
            instance_type,
            slots_per_instance: *slots_per_instance,
            model_copies: *model_copies,
            precision: *precision,
            autoscaling: autoscaling.as_ref(),
            savings_plan: savings_plan.as_ref(),
            prefix_cache: *prefix_cache,
            borrowed: borrowed.as_deref(),
        }),
        PlanOption::Serverless {
            name,
            model,
            memory_mb,
            max_concurrency,
            cold_start_s,
            precision,
            ..
        } => Typed::Serverless(serverless::ServerlessOption {
            name,
            model,
            memory_mb: *memory_mb,
            max_concurrency: *max_concurrency,
            cold_start_s: *cold_start_s,
            precision: *precision,
        }),
    })
}

fn assumptions(s: &Scenario, w: &WorkloadSpec) -> Vec<String> {
    vec![
        format!(
            "Peak hour: {} employees, {} ({} users), simulated for {:.0} s after a {:.0} s warm-up that no statistic includes; users start in the steady phase of their think-time and session cycle.",
            crate::format::thousands(f64::from(s.employees)),
            s.peak_basis(),
            s.peak_users(),
            s.peak_duration_s,
            simulate::peak_warmup_s(w)
        ),
        format!(
            "Workload `{}`: {}; a user thinks {:.0} s between turns and pauses {:.0} s between sessions (exponential).",
            w.name,
            w.describe_classes(),
            w.think_time_s,
            w.session_gap_s
        ),
        if s.slo.classes.len() > 1 {
            format!(
                "SLO per request class: the knee is the most users at which every class meets its own p95 limits ({}), not the pooled p95.",
                w.classes
                    .iter()
                    .zip(&s.slo.classes)
                    .map(|(c, (ttft, tpot))| format!(
                        "{}: TTFT ≤ {} s, TPOT ≤ {} s{}",
                        c.name,
                        ttft,
                        tpot,
                        if c.slo.is_some() { "" } else { " (the scenario's)" }
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        } else {
            "SLO: the pooled p95 of every request.".into()
        },
        format!(
            "Monthly volume: employees × {} sessions a day × {} turns × {} workdays.",
            s.sessions_per_user_per_day, w.behaviour().turns_per_session, s.workdays_per_month
        ),
        "Options are compared on cost only when they serve the same model; a different model is a choice of quality as well as price.".into(),
        "Bedrock list price counts the bare message (with any retrieved context) and the reply; the realistic budget adds the simulated system prompt, the prompt cache's saving, history and billed failures (to the month as simulated), then data transfer and monitoring priced per GB, alarm and dashboard (pricing/overheads.toml, the scenario's [overheads]), and the demand's uncertainty from the scenario's [forecast] (usage_per_user × tokens_per_request) in place of an assumed peak-hour margin.".into(),
        format!("Quota: {}.", quota::rule_sentence()),
        "SageMaker fleets are sized for the peak; always-on ones bill 730 h a month, autoscaled ones the hours of a simulated workday. Against volume, an always-on fleet is bought by whole instances, each holding what one instance held at the SLO in the capacity search (a staircase); an autoscaled fleet's hours above its minimum are taken to grow in proportion to requests. Break-even lists every volume from 0.001× to 1,000× the scenario's where the cheaper option changes. A fleet's realistic budget adds data transfer and monitoring only, priced per GB: retries and peaks do not add instance-hours to a fleet already sized for the peak.".into(),
        "Profiles marked 'published ranges' or 'ASSUMED' extrapolate beyond any measurement; a profile measured at other prompt lengths is extrapolated to this workload's.".into(),
    ]
}
