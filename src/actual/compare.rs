//! Actual against plan: each Bedrock option of the plan matched by model id to the export's
//! series, its volume, tokens, throttling and spend set against the plan's (error = actual ÷
//! plan − 1), and the workload re-fitted: the factors a forecast needs.

use serde::{Deserialize, Serialize};

use super::cloudwatch::{Totals, Usage};
use super::cur::CurSummary;
use super::ActualError;
use crate::plan::{OptionKind, Plan};

/// What a comparison is made from.
pub struct Inputs<'a> {
    pub plan: &'a Plan,
    pub employees: u32,
    pub workdays_per_month: f64,
    /// Users behind the traffic (`--users`; default the scenario's employees).
    pub users: Option<f64>,
    /// Workdays the export stands for (`--days`; default the span of its timestamps).
    pub days: Option<f64>,
    pub usage: &'a Usage,
    pub cur: Option<&'a CurSummary>,
    /// Per option name: the catalog's input and output USD per million tokens.
    pub prices: &'a [(String, f64, f64)],
}

/// One figure, planned and measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub metric: String,
    pub plan: f64,
    pub actual: f64,
    /// actual ÷ plan − 1; none where the plan's figure is 0.
    pub error: Option<f64>,
}

impl Row {
    fn new(metric: &str, plan: f64, actual: f64) -> Row {
        Row {
            metric: metric.to_string(),
            plan,
            actual,
            error: (plan != 0.0).then(|| actual / plan - 1.0),
        }
    }
}

/// The factors a forecast multiplies the planned workload by.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refit {
    /// Actual requests per user per workday ÷ planned.
    pub usage_per_user: f64,
    /// Actual (input + output) tokens per request ÷ the simulated mean.
    pub tokens_per_request: f64,
}

impl Refit {
    /// The `[forecast]` snippet to paste into a scenario.
    pub fn toml(&self) -> String {
        format!(
            "[forecast]\nusage_per_user = {{ dist = \"fixed\", value = {:.4} }}\ntokens_per_request = {{ dist = \"fixed\", value = {:.4} }}\n",
            self.usage_per_user, self.tokens_per_request
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionComparison {
    pub option: String,
    pub model_id: String,
    pub invocations: f64,
    pub throttles: f64,
    pub periods: usize,
    pub days: f64,
    pub mean_latency_ms: Option<f64>,
    /// Where the actual spend comes from: the CUR, or tokens × the catalog price.
    pub spend_source: String,
    pub rows: Vec<Row>,
    pub refit: Refit,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub scenario: String,
    pub users: f64,
    /// Where `days` comes from: `--days` or the export's timestamps.
    pub days_source: String,
    pub options: Vec<OptionComparison>,
    /// Over every matched option's traffic.
    pub refit: Refit,
    /// Models in the export that no option of the plan serves.
    pub unmatched_models: Vec<String>,
    /// Bedrock options with no traffic in the export.
    pub options_without_traffic: Vec<String>,
    pub notes: Vec<String>,
}

/// A model id without a cross-Region profile's prefix or bedrock-mantle's `bedrock_mantle/`.
fn base_id(id: &str) -> &str {
    crate::cost::catalog::base_model_id(id.trim_start_matches("bedrock_mantle/"))
}

pub fn compare(inputs: &Inputs) -> Result<Comparison, ActualError> {
    let plan = inputs.plan;
    let usage = inputs.usage;
    let users = inputs.users.unwrap_or(f64::from(inputs.employees));
    let workdays = inputs.workdays_per_month;
    let planned_per_user_day =
        plan.monthly_requests / f64::from(inputs.employees.max(1)) / workdays.max(f64::EPSILON);
    let mut options = Vec::new();
    let mut matched_models = Vec::new();
    let mut without = Vec::new();
    let mut notes = Vec::new();
    let mut days_source = "--days".to_string();
    let (mut all_invocations, mut all_tokens, mut planned_tokens_weighted, mut all_days) =
        (0.0, 0.0, 0.0, 0.0_f64);
    for o in plan
        .options
        .iter()
        .filter(|o| o.kind == OptionKind::Bedrock)
    {
        let model_id = o.quota.as_ref().map_or(o.service.as_str(), |q| &q.model_id);
        let found = usage
            .models
            .keys()
            .find(|m| base_id(m) == base_id(model_id))
            .cloned();
        let Some(series_model) = found else {
            without.push(o.name.clone());
            continue;
        };
        let Some(totals) = usage.totals(&series_model) else {
            without.push(o.name.clone());
            continue;
        };
        matched_models.push(series_model.clone());
        let days = match inputs.days {
            Some(d) => d,
            None => {
                days_source = "the export's timestamps (first period's start to last period's end)"
                    .to_string();
                let period = usage.period_s.ok_or_else(|| ActualError::Compare {
                    problem: "the export has one timestamp, so the span it covers is unknown; give --days D (the workdays it stands for)".to_string(),
                })?;
                totals.days_covered(period)
            }
        };
        let c = &totals.counts;
        if c.invocations <= 0.0 {
            without.push(o.name.clone());
            continue;
        }
        let per_request = |tokens: f64| tokens / c.invocations;
        let monthly = c.invocations * workdays / days;
        let per_user_day = c.invocations / days / users;
        let actual_throttle = c.throttles / (c.invocations + c.throttles);
        let planned_throttle = o.quota.as_ref().map_or(0.0, |q| q.throttle_rate_current);
        let (spend, spend_source) = actual_spend(inputs, &o.name, model_id, &totals, monthly);
        if let Some(note) = spend_note(inputs.cur, model_id, &spend_source) {
            notes.push(note);
        }
        let rows = vec![
            Row::new("requests per month", o.monthly_requests, monthly),
            Row::new(
                "requests per user per workday",
                planned_per_user_day,
                per_user_day,
            ),
            Row::new(
                "input tokens per request",
                o.mean_input_tokens,
                per_request(c.input_tokens),
            ),
            Row::new(
                "output tokens per request",
                o.mean_output_tokens,
                per_request(c.output_tokens),
            ),
            Row::new("throttle rate", planned_throttle, actual_throttle),
            Row::new("spend per month (USD)", o.monthly_on_demand_usd, spend),
        ];
        let planned_tokens = o.mean_input_tokens + o.mean_output_tokens;
        let tokens = per_request(c.input_tokens + c.output_tokens);
        let refit = Refit {
            usage_per_user: per_user_day / planned_per_user_day,
            tokens_per_request: tokens / planned_tokens.max(f64::EPSILON),
        };
        check_finite(&o.name, &rows, &refit)?;
        all_invocations += c.invocations;
        all_tokens += c.input_tokens + c.output_tokens;
        planned_tokens_weighted += c.invocations * planned_tokens;
        all_days = all_days.max(days);
        options.push(OptionComparison {
            option: o.name.clone(),
            model_id: series_model,
            invocations: c.invocations,
            throttles: c.throttles,
            periods: totals.periods,
            days,
            mean_latency_ms: totals.mean_latency_ms(),
            spend_source,
            rows,
            refit,
        });
    }
    if options.is_empty() {
        let plan_ids: Vec<String> = plan
            .options
            .iter()
            .filter(|o| o.kind == OptionKind::Bedrock)
            .map(|o| {
                o.quota
                    .as_ref()
                    .map_or(o.service.clone(), |q| q.model_id.clone())
            })
            .collect();
        return Err(ActualError::Compare {
            problem: format!(
                "no Bedrock option of the plan has traffic in the export: the export has {}, the plan's Bedrock options serve {}; query the plan's model ids (`llmcap actual --print-queries {}`) or give the scenario that serves the export's models",
                usage.models.keys().cloned().collect::<Vec<_>>().join(", "),
                if plan_ids.is_empty() { "none".to_string() } else { plan_ids.join(", ") },
                plan_ids.first().map_or("MODEL_ID", String::as_str)
            ),
        });
    }
    let refit = Refit {
        usage_per_user: all_invocations / all_days.max(f64::EPSILON) / users / planned_per_user_day,
        tokens_per_request: all_tokens / planned_tokens_weighted.max(f64::EPSILON),
    };
    check_finite("all matched options", &[], &refit)?;
    let unmatched_models = usage
        .models
        .keys()
        .filter(|m| !matched_models.contains(m))
        .cloned()
        .collect();
    Ok(Comparison {
        scenario: plan.scenario.clone(),
        users,
        days_source,
        options,
        refit,
        unmatched_models,
        options_without_traffic: without,
        notes,
    })
}

/// Every figure is a number: a count so large, or days or users so few, that a rate overflows
/// is refused rather than written as `inf` or `NaN`.
fn check_finite(option: &str, rows: &[Row], refit: &Refit) -> Result<(), ActualError> {
    let figures = rows
        .iter()
        .flat_map(|r| {
            [
                (r.metric.clone(), r.actual),
                (format!("{} (error)", r.metric), r.error.unwrap_or(0.0)),
            ]
        })
        .chain([
            ("re-fitted usage_per_user".to_string(), refit.usage_per_user),
            (
                "re-fitted tokens_per_request".to_string(),
                refit.tokens_per_request,
            ),
        ]);
    for (figure, value) in figures {
        if !value.is_finite() {
            return Err(ActualError::Compare {
                problem: format!(
                    "{option}: {figure} is {value}, not a finite number; the export's counts are too large for the days and users they are spread over — check the export, --days and --users"
                ),
            });
        }
    }
    Ok(())
}

/// The month's spend: the CUR's unblended cost for the model (averaged over its billing
/// periods) when it has lines for it, else the export's tokens at the catalog's prices scaled
/// to a month.
fn actual_spend(
    inputs: &Inputs,
    option: &str,
    model_id: &str,
    totals: &Totals,
    monthly_requests: f64,
) -> (f64, String) {
    if let Some(cur) = inputs.cur {
        let groups = cur.cost_for(model_id);
        if !groups.is_empty() {
            let mut periods: Vec<&str> = groups.iter().map(|g| g.billing_period.as_str()).collect();
            periods.sort_unstable();
            periods.dedup();
            let total: f64 = groups.iter().map(|g| g.unblended_cost_usd).sum();
            return (
                total / periods.len() as f64,
                format!(
                    "Cost and Usage Report: unblended cost over {} billing period(s) ({}), a month's average",
                    periods.len(),
                    periods.join(", ")
                ),
            );
        }
    }
    let c = &totals.counts;
    match inputs.prices.iter().find(|(name, _, _)| name == option) {
        Some((_, input, output)) => {
            let per_request =
                (c.input_tokens * input + c.output_tokens * output) / 1e6 / c.invocations;
            (
                per_request * monthly_requests,
                format!("tokens × catalog price (${input}/M input, ${output}/M output)"),
            )
        }
        None => (0.0, "no price for the model in the catalog".to_string()),
    }
}

fn spend_note(cur: Option<&CurSummary>, model_id: &str, source: &str) -> Option<String> {
    let cur = cur?;
    (!source.starts_with("Cost and Usage Report")).then(|| {
        format!(
            "the Cost and Usage Report has no Bedrock usage lines for {model_id} (its models: {}); spend is priced from the tokens instead",
            cur.groups.iter().map(|g| g.model.as_str()).collect::<Vec<_>>().join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_that_overflowed_is_refused_naming_the_option_and_metric() {
        let refit = Refit {
            usage_per_user: 1.2,
            tokens_per_request: 0.9,
        };
        let fine = [Row::new("requests per month", 10.0, 12.0)];
        assert!(check_finite("o", &fine, &refit).is_ok());
        let overflowed = [Row::new("requests per month", 10.0, f64::INFINITY)];
        let e = check_finite("Llama", &overflowed, &refit)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("Llama: requests per month is inf") && e.contains("--days"),
            "{e}"
        );
        let bad_refit = Refit {
            usage_per_user: f64::NAN,
            ..refit
        };
        let e = check_finite("all", &fine, &bad_refit)
            .unwrap_err()
            .to_string();
        assert!(e.contains("re-fitted usage_per_user is NaN"), "{e}");
    }
}
