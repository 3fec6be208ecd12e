//! Amazon Bedrock's CloudWatch metrics as `aws cloudwatch get-metric-data` prints them:
//! `{"MetricDataResults": [{"Id", "Label", "Timestamps", "Values", "StatusCode"}], "Messages"}`.
//!
//! One query per (model id, metric), in namespace `AWS/Bedrock` with the `ModelId` dimension:
//! Id `<metric>_<n>` (`invocations_0`, `input_tokens_0`, `output_tokens_0`, `throttles_0`,
//! `latency_0`; n numbers the model ids in the order given) and Label `<model id> <MetricName>`
//! (`meta.llama3-3-70b-instruct-v1:0 Invocations`). The Label is what is read back: a model id
//! has no spaces, so its last word is the metric and the rest the model. `llmcap actual
//! --print-queries` writes these queries for a real account, and `llmcap emulate
//! --cloudwatch-out` writes the same shape for the traffic it served.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{shown, ActualError};
use crate::timestamp::{format_iso, parse_iso};

pub const NAMESPACE: &str = "AWS/Bedrock";

/// The runtime metrics read and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Invocations,
    InputTokenCount,
    OutputTokenCount,
    InvocationThrottles,
    InvocationLatency,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::Invocations,
        Metric::InputTokenCount,
        Metric::OutputTokenCount,
        Metric::InvocationThrottles,
        Metric::InvocationLatency,
    ];

    /// CloudWatch's metric name.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Invocations => "Invocations",
            Metric::InputTokenCount => "InputTokenCount",
            Metric::OutputTokenCount => "OutputTokenCount",
            Metric::InvocationThrottles => "InvocationThrottles",
            Metric::InvocationLatency => "InvocationLatency",
        }
    }

    /// The query Id's prefix (a query Id starts with a lower-case letter).
    pub fn id_prefix(self) -> &'static str {
        match self {
            Metric::Invocations => "invocations",
            Metric::InputTokenCount => "input_tokens",
            Metric::OutputTokenCount => "output_tokens",
            Metric::InvocationThrottles => "throttles",
            Metric::InvocationLatency => "latency",
        }
    }

    /// Counts are summed over a period; latency is averaged.
    pub fn stat(self) -> &'static str {
        match self {
            Metric::InvocationLatency => "Average",
            _ => "Sum",
        }
    }

    fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// One series of `get-metric-data`'s output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDataResult {
    pub id: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub timestamps: Vec<String>,
    #[serde(default)]
    pub values: Vec<f64>,
    #[serde(default)]
    pub status_code: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Value>,
}

/// `aws cloudwatch get-metric-data`'s output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricData {
    pub metric_data_results: Vec<MetricDataResult>,
    #[serde(default)]
    pub messages: Vec<Value>,
}

/// One model's traffic in one period.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PeriodCounts {
    pub invocations: f64,
    pub input_tokens: f64,
    pub output_tokens: f64,
    pub throttles: f64,
    /// Latency summed over the invocations (the period's average × its invocations).
    pub latency_ms_sum: f64,
}

impl PeriodCounts {
    fn add(&mut self, other: &PeriodCounts) {
        self.invocations += other.invocations;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.throttles += other.throttles;
        self.latency_ms_sum += other.latency_ms_sum;
    }
}

/// Per model id, per period start (seconds since 1970), what was served.
pub type Series = BTreeMap<String, BTreeMap<i64, PeriodCounts>>;

/// A parsed export.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    pub models: Series,
    /// The period, from the smallest gap between timestamps (none with one timestamp).
    pub period_s: Option<i64>,
}

/// A model's traffic over the whole export.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    pub counts: PeriodCounts,
    pub first_period: i64,
    pub last_period: i64,
    pub periods: usize,
}

impl Totals {
    pub fn mean_latency_ms(&self) -> Option<f64> {
        (self.counts.invocations > 0.0)
            .then(|| self.counts.latency_ms_sum / self.counts.invocations)
    }

    /// Days from the first period's start to the last period's end.
    pub fn days_covered(&self, period_s: i64) -> f64 {
        (self.last_period - self.first_period + period_s) as f64 / 86_400.0
    }
}

impl Usage {
    pub fn totals(&self, model_id: &str) -> Option<Totals> {
        let periods = self.models.get(model_id)?;
        let mut counts = PeriodCounts::default();
        for p in periods.values() {
            counts.add(p);
        }
        Some(Totals {
            counts,
            first_period: *periods.keys().next()?,
            last_period: *periods.keys().next_back()?,
            periods: periods.len(),
        })
    }
}

/// The MetricDataQueries for these model ids (for `--metric-data-queries file://q.json`).
pub fn queries(model_ids: &[String], period_s: u32) -> Value {
    let mut queries = Vec::new();
    for (n, model) in model_ids.iter().enumerate() {
        for metric in Metric::ALL {
            queries.push(json!({
                "Id": format!("{}_{n}", metric.id_prefix()),
                "Label": format!("{model} {}", metric.name()),
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": metric.name(),
                        "Dimensions": [{"Name": "ModelId", "Value": model}],
                    },
                    "Period": period_s,
                    "Stat": metric.stat(),
                },
                "ReturnData": true,
            }));
        }
    }
    Value::Array(queries)
}

/// The export of `series` in get-metric-data's shape: one result per (model, metric), newest
/// period first; a period appears where the metric had data (latency and tokens where there
/// were invocations, throttles where there were throttles).
pub fn export(series: &Series) -> GetMetricData {
    let mut results = Vec::new();
    for (n, (model, periods)) in series.iter().enumerate() {
        for metric in Metric::ALL {
            let mut timestamps = Vec::new();
            let mut values = Vec::new();
            for (start, c) in periods.iter().rev() {
                let value = match metric {
                    Metric::Invocations => (c.invocations > 0.0).then_some(c.invocations),
                    Metric::InputTokenCount => (c.invocations > 0.0).then_some(c.input_tokens),
                    Metric::OutputTokenCount => (c.invocations > 0.0).then_some(c.output_tokens),
                    Metric::InvocationThrottles => (c.throttles > 0.0).then_some(c.throttles),
                    Metric::InvocationLatency => {
                        (c.invocations > 0.0).then(|| c.latency_ms_sum / c.invocations)
                    }
                };
                if let Some(value) = value {
                    timestamps.push(format_iso(*start));
                    values.push(value);
                }
            }
            results.push(MetricDataResult {
                id: format!("{}_{n}", metric.id_prefix()),
                label: format!("{model} {}", metric.name()),
                timestamps,
                values,
                status_code: "Complete".to_string(),
                messages: Vec::new(),
            });
        }
    }
    GetMetricData {
        metric_data_results: results,
        messages: Vec::new(),
    }
}

/// The most a datapoint may hold: a count summed over one period (10¹⁵ is a thousand times a
/// year of the largest Bedrock quota), or a period's mean latency in milliseconds (a day; an
/// invocation times out long before). More is a corrupted export, not traffic.
pub fn ceiling(metric: Metric) -> f64 {
    match metric {
        Metric::InvocationLatency => 86_400_000.0,
        _ => 1e15,
    }
}

/// Reads an export (`origin` names the file in errors). Every datapoint is checked before any
/// is used: a timestamp that is not ISO 8601, or a value that is not finite, is negative or is
/// above [`ceiling`], is refused naming the file, the series and the datapoint.
pub fn parse(text: &str, origin: &str) -> Result<Usage, ActualError> {
    let output: GetMetricData =
        serde_json::from_str(text).map_err(|cause| ActualError::CloudWatchJson {
            origin: origin.to_string(),
            cause,
        })?;
    let mut models = Series::new();
    let mut seen: Vec<(String, Metric)> = Vec::new();
    let mut stamps: Vec<i64> = Vec::new();
    for (index, r) in output.metric_data_results.iter().enumerate() {
        let fail = |problem: String| ActualError::CloudWatchResult {
            origin: origin.to_string(),
            index,
            id: r.id.clone(),
            problem,
        };
        let (model, metric) = check_series(r).map_err(fail)?;
        if seen.contains(&(model.to_string(), metric)) {
            return Err(fail(format!(
                "a second series labelled {:?}; each (model, metric) once",
                r.label
            )));
        }
        seen.push((model.to_string(), metric));
        let points = read_points(r, metric).map_err(fail)?;
        let periods = models.entry(model.to_string()).or_default();
        for &(start, value) in &points {
            let c = periods.entry(start).or_default();
            match metric {
                Metric::Invocations => c.invocations = value,
                Metric::InputTokenCount => c.input_tokens = value,
                Metric::OutputTokenCount => c.output_tokens = value,
                Metric::InvocationThrottles => c.throttles = value,
                // An average; weighted by the invocations once all series are read.
                Metric::InvocationLatency => c.latency_ms_sum = value,
            }
        }
        stamps.extend(points.iter().map(|(start, _)| start));
    }
    if models.is_empty() {
        return Err(ActualError::CloudWatch {
            origin: origin.to_string(),
            problem: "no MetricDataResults; query at least one model (`llmcap actual --print-queries MODEL_ID`)".to_string(),
        });
    }
    for periods in models.values_mut() {
        for c in periods.values_mut() {
            c.latency_ms_sum *= c.invocations;
        }
    }
    stamps.sort_unstable();
    stamps.dedup();
    let period_s = stamps.windows(2).map(|w| w[1] - w[0]).min();
    Ok(Usage { models, period_s })
}

/// A series' status, its Label's model and metric, and its lengths.
fn check_series(r: &MetricDataResult) -> Result<(&str, Metric), String> {
    if r.status_code != "Complete" {
        return Err(format!(
            "StatusCode is {:?}, not \"Complete\": the series is incomplete; run get-metric-data again (the AWS CLI follows NextToken itself) or narrow --start-time/--end-time",
            r.status_code
        ));
    }
    let (model, metric) = r
        .label
        .trim()
        .rsplit_once(' ')
        .and_then(|(model, name)| Some((model.trim(), Metric::from_name(name)?)))
        .filter(|(model, _)| !model.is_empty())
        .ok_or_else(|| {
            format!(
                "Label {:?} is not `MODEL_ID METRIC` with METRIC one of {}; build the queries with `llmcap actual --print-queries MODEL_ID`, whose Labels name both",
                r.label,
                Metric::ALL.map(Metric::name).join(", ")
            )
        })?;
    if r.timestamps.len() != r.values.len() {
        return Err(format!(
            "{} Timestamps but {} Values; each value has its timestamp",
            r.timestamps.len(),
            r.values.len()
        ));
    }
    Ok((model, metric))
}

/// A series' datapoints as (period start, value), each checked.
fn read_points(r: &MetricDataResult, metric: Metric) -> Result<Vec<(i64, f64)>, String> {
    let mut points: Vec<(i64, f64)> = Vec::with_capacity(r.values.len());
    let mut starts = BTreeSet::new();
    for (i, (stamp, &value)) in r.timestamps.iter().zip(&r.values).enumerate() {
        let start = parse_iso(stamp).ok_or_else(|| {
            format!(
                "datapoint {i}: Timestamps[{i}] {stamp:?} is not an ISO 8601 date-time (e.g. 2026-11-30T12:00:00+00:00); export again with the AWS CLI, whose timestamps are"
            )
        })?;
        check_value(value, metric).map_err(|why| {
            format!(
                "datapoint {i} ({stamp}): Values[{i}] = {} {why}",
                shown(value)
            )
        })?;
        if !starts.insert(start) {
            return Err(format!(
                "datapoint {i}: timestamp {stamp} appears twice; each period once"
            ));
        }
        points.push((start, value));
    }
    Ok(points)
}

/// Why a datapoint's value cannot be one of this metric's.
fn check_value(value: f64, metric: Metric) -> Result<(), String> {
    if !(value.is_finite() && value >= 0.0) {
        return Err(format!(
            "is not a finite number ≥ 0, which a {} of {} always is; export the series again",
            metric.stat(),
            metric.name()
        ));
    }
    let most = ceiling(metric);
    if value > most {
        return Err(match metric {
            Metric::InvocationLatency => format!(
                "is above {most:e} ms (a day), longer than an invocation can take; the export is corrupt — export the series again"
            ),
            _ => format!(
                "is above {most:e}, more {} than any account has in one period; the export is corrupt — export the series again",
                metric.name()
            ),
        });
    }
    Ok(())
}

/// What a CloudWatch export measured, in the form a learned workload keeps it
/// (`workload::logs::fit::Measured`), for `--from-logs`: per model, tokens (input + output)
/// and invocations a minute over every minute of the export and over its busiest UTC hour's.
/// A period longer than a minute is spread evenly over its minutes (the export holds no
/// finer figure), which flattens the minute peaks: the source says so. CloudWatch's
/// InputTokenCount leaves cache reads out, so the tokens are what the quota is charged.
pub fn measured(usage: &Usage, origin: &str) -> crate::workload::logs::fit::Measured {
    use crate::workload::logs::fit::{model_minutes, peak_hour, Measured};
    use crate::workload::logs::traffic::MinuteTotals;
    let period_s = usage.period_s.unwrap_or(60).max(60);
    let per_period = (period_s / 60) as f64;
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    let mut hourly = [0u64; 24];
    let mut by_model = Vec::new();
    for (model, periods) in &usage.models {
        let mut minutes = std::collections::BTreeMap::new();
        for (&start, c) in periods {
            for k in 0..period_s / 60 {
                let minute = start.div_euclid(60) + k;
                first = first.min(minute);
                last = last.max(minute);
                minutes.insert(
                    minute,
                    MinuteTotals {
                        requests: (c.invocations / per_period).round() as u64,
                        prompt_tokens: c.input_tokens / per_period,
                        uncached_input_tokens: c.input_tokens / per_period,
                        output_tokens: c.output_tokens / per_period,
                    },
                );
            }
            hourly[(start.rem_euclid(86_400) / 3_600) as usize] += c.invocations as u64;
        }
        by_model.push((model.clone(), minutes));
    }
    let span = if first <= last {
        (last - first + 1) as u64
    } else {
        0
    };
    let peak = peak_hour(&hourly);
    let mut models: Vec<_> = by_model
        .iter()
        .map(|(model, minutes)| {
            let requests = usage.models[model]
                .values()
                .map(|c| c.invocations)
                .sum::<f64>() as u64;
            model_minutes(model, requests, minutes, (first, span), peak)
        })
        .collect();
    models.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.model.cmp(&b.model)));
    Measured {
        source: format!(
            "the CloudWatch export {origin} ({}-second periods{})",
            period_s,
            if period_s > 60 {
                ", spread evenly over their minutes"
            } else {
                ""
            }
        ),
        records: models.iter().map(|m| m.requests).sum(),
        days: span as f64 / 1_440.0,
        cached_share: 0.0,
        requests_per_active_user_hour: None,
        users: None,
        sessions_per_user_per_day: None,
        models,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(invocations: f64, input: f64, output: f64, throttles: f64) -> PeriodCounts {
        PeriodCounts {
            invocations,
            input_tokens: input,
            output_tokens: output,
            throttles,
            latency_ms_sum: invocations * 250.0,
        }
    }

    #[test]
    fn an_export_reads_back_to_the_same_counts() {
        let mut series = Series::new();
        let model = "meta.llama3-3-70b-instruct-v1:0".to_string();
        let t0 = 1_796_040_000;
        series.entry(model.clone()).or_default().extend([
            (t0, counts(10.0, 1000.0, 500.0, 0.0)),
            (t0 + 60, counts(5.0, 600.0, 200.0, 2.0)),
        ]);
        let text = serde_json::to_string_pretty(&export(&series)).unwrap();
        assert!(text.contains("\"StatusCode\": \"Complete\""));
        assert!(text.contains("\"Label\": \"meta.llama3-3-70b-instruct-v1:0 Invocations\""));
        let first = text.find("2026-11-30T12:01:00+00:00").unwrap();
        let second = text.find("2026-11-30T12:00:00+00:00").unwrap();
        assert!(first < second, "newest first, as the CLI prints");
        let usage = parse(&text, "x.json").unwrap();
        assert_eq!(usage.period_s, Some(60));
        assert_eq!(usage.models, series);
        let totals = usage.totals(&model).unwrap();
        assert_eq!(totals.counts.invocations, 15.0);
        assert_eq!(totals.mean_latency_ms(), Some(250.0));
        assert!((totals.days_covered(60) - 120.0 / 86_400.0).abs() < 1e-12);
    }

    #[test]
    fn queries_carry_the_labels_the_parser_reads() {
        let q = queries(&["m.a:0".to_string()], 3600);
        assert_eq!(q.as_array().unwrap().len(), 5);
        assert_eq!(q[0]["Id"], "invocations_0");
        assert_eq!(q[0]["Label"], "m.a:0 Invocations");
        assert_eq!(q[4]["MetricStat"]["Stat"], "Average");
        assert_eq!(
            q[1]["MetricStat"]["Metric"]["Dimensions"][0]["Value"],
            "m.a:0"
        );
    }

    #[test]
    fn bad_exports_are_refused_naming_the_file_and_the_fix() {
        let bad = r#"{"MetricDataResults":[{"Id":"m1","Label":"Invocations","Timestamps":[],"Values":[],"StatusCode":"Complete"}],"Messages":[]}"#;
        let e = parse(bad, "cw.json").unwrap_err().to_string();
        assert!(
            e.contains("cw.json") && e.contains("--print-queries"),
            "{e}"
        );
        let partial = r#"{"MetricDataResults":[{"Id":"a","Label":"m Invocations","Timestamps":["2026-11-30T12:00:00Z"],"Values":[1],"StatusCode":"PartialData"}]}"#;
        assert!(parse(partial, "cw.json")
            .unwrap_err()
            .to_string()
            .contains("PartialData"));
        let uneven = r#"{"MetricDataResults":[{"Id":"a","Label":"m Invocations","Timestamps":["2026-11-30T12:00:00Z"],"Values":[],"StatusCode":"Complete"}]}"#;
        assert!(parse(uneven, "cw.json")
            .unwrap_err()
            .to_string()
            .contains("1 Timestamps but 0 Values"));
        assert!(parse("[]", "cw.json")
            .unwrap_err()
            .to_string()
            .contains("get-metric-data"));
    }

    /// An export of one Invocations series with these timestamps and values (JSON text).
    fn one_series(label: &str, stamps: &[&str], values: &[&str]) -> String {
        format!(
            r#"{{"MetricDataResults":[{{"Id":"invocations_0","Label":"{label}","Timestamps":[{}],"Values":[{}],"StatusCode":"Complete"}}]}}"#,
            stamps
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(","),
            values.join(",")
        )
    }

    #[test]
    fn a_bad_datapoint_is_refused_naming_the_file_series_and_datapoint() {
        let good = "2026-11-30T12:00:00+00:00";
        let cases = [
            (
                "m Invocations",
                [good, "2026-01-0é"],
                ["1", "2"],
                "Timestamps[1]",
            ),
            (
                "m Invocations",
                [good, ""],
                ["1", "2"],
                "Timestamps[1] \"\"",
            ),
            (
                "m Invocations",
                ["2026-11-30T13:00:00Z", good],
                ["1e308", "2"],
                "Values[0] = 1e308",
            ),
            (
                "m Invocations",
                [good, "2026-11-30T13:00:00Z"],
                ["1", "-3"],
                "Values[1] = -3 ",
            ),
            (
                "m InvocationLatency",
                [good, "2026-11-30T13:00:00Z"],
                ["250", "1e9"],
                "Values[1] = 1e9",
            ),
        ];
        for (label, stamps, values, named) in cases {
            let text = one_series(label, &stamps, &values);
            let e = parse(&text, "cw.json").unwrap_err().to_string();
            assert!(
                e.starts_with("cw.json: MetricDataResults[0] (invocations_0): datapoint")
                    && e.contains(named),
                "{text}: {e}"
            );
        }
        // At the ceiling is a value; NaN and infinity cannot be JSON, and are refused as values.
        let at = one_series("m Invocations", &[good], &["1e15"]);
        assert_eq!(parse(&at, "cw.json").unwrap().models["m"].len(), 1);
        for v in [f64::NAN, f64::INFINITY] {
            assert!(check_value(v, Metric::InputTokenCount).is_err());
        }
        let null = one_series("m Invocations", &[good], &["null"]);
        let e = parse(&null, "cw.json").unwrap_err().to_string();
        assert!(e.contains("cw.json") && e.contains("line 1 column"), "{e}");
    }
}
