//! The accumulated traffic → a [`FittedWorkload`]: the lengths (a log-normal where it fits, else
//! quantiles), the users' sessions, the daily curve and the per-model minute figures that quota
//! planning needs; and its TOML text, with the summary and goodness of fit as comments.
//!
//! Every quantile is [`crate::stats`]'s nearest rank (of a histogram, or of the sorted minutes).

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::error::{LogError, SkipReason};
use super::traffic::{Skipped, Traffic, SESSION_GAP_S};
use crate::format::thousands;
use crate::stats::{histogram_quantile, quantile_sorted_with_zeros};
use crate::timestamp::format_iso;

/// The quantiles a length is written with when the log-normal does not fit.
pub const QUANTILE_POINTS: [f64; 11] =
    [0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0];
/// The largest Kolmogorov–Smirnov distance at which the log-normal is written.
pub const KS_GOOD: f64 = 0.05;
/// The share of requests that must use the cache for a cached prefix to be written.
pub const CACHE_USE_MIN: f64 = 0.05;
/// Below this share of requests using the cache, the fitted file warns that one class with a
/// cached prefix for every request misdescribes the others.
pub const PARTIAL_CACHE: f64 = 0.8;
/// Fewer distinct users than this are not read as people: Bedrock's `identity.arn` is the
/// caller's IAM principal, often one role for a whole application.
pub const MIN_USERS: usize = 5;
/// The standard normal's 90th percentile: a log-normal's p90 is median · e^(1.2816 σ).
const Z90: f64 = 1.2816;
/// Defaults when users cannot be told apart.
pub const DEFAULT_THINK_TIME_S: f64 = 30.0;
pub const DEFAULT_SESSION_GAP_S: f64 = 300.0;

/// A token length as fitted: the log-normal by the median and p90, its distance from the data,
/// and the data's quantiles (written instead when the distance is over [`KS_GOOD`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LengthFit {
    pub median: f64,
    pub p90: f64,
    /// `ln(p90 / median) / 1.2816`; `None` when the median is 0 or the p90 not above it.
    pub sigma: Option<f64>,
    /// The Kolmogorov–Smirnov distance between that log-normal and the data.
    pub ks: Option<f64>,
    /// Whether the log-normal is written (else the quantiles).
    pub lognormal: bool,
    /// `[q, tokens]` at [`QUANTILE_POINTS`].
    pub points: Vec<[f64; 2]>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SkippedLines {
    pub reason: SkipReason,
    pub label: String,
    pub count: u64,
    /// "a.jsonl line 4", the first few (`traffic::NAMED_LINES`).
    pub lines: Vec<String>,
    /// What was wrong with the first.
    pub first_problem: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelCount {
    pub model: String,
    pub requests: u64,
}

/// What the users' request times say (present when users are identifiable).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UserFigures {
    pub users: usize,
    pub sessions: u64,
    /// Median gap within a session: the user's think time plus the reply's own duration, since
    /// logs give when requests were made.
    pub think_time_s: Option<f64>,
    pub turns_per_session: f64,
    /// Mean gap between a user's sessions; `None` when no user came back.
    pub session_gap_s: Option<f64>,
    pub requests_per_active_user_hour: f64,
    pub out_of_order: u64,
    pub unfollowed_records: u64,
}

/// One model's traffic per minute, over every minute of the span (quiet minutes count as 0),
/// and over the minutes of the busiest UTC hour of the day on every day of the span (what a
/// simulated peak hour is compared with).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMinutes {
    pub model: String,
    pub requests: u64,
    /// Minutes in the span.
    pub minutes: u64,
    /// Minutes with at least one request (written as a comment, read back as 0).
    #[serde(default)]
    pub active_minutes: u64,
    /// Input (cached included) + output tokens in a minute.
    pub tpm_p50: f64,
    pub tpm_p99: f64,
    pub tpm_max: f64,
    pub input_tpm_p99: f64,
    /// Input less cache reads (what Bedrock's token quota counts for input; a comment).
    #[serde(default)]
    pub uncached_input_tpm_p99: f64,
    pub output_tpm_p99: f64,
    pub rpm_p50: f64,
    pub rpm_p99: f64,
    pub rpm_max: f64,
    /// Over the minutes with traffic only (written as a comment, so read back as 0).
    #[serde(default)]
    pub active_tpm_p50: f64,
    #[serde(default)]
    pub active_rpm_p50: f64,
    /// The busiest hour of the day (UTC, by requests over all models) and its minutes on every
    /// day of the span, quiet ones as 0.
    #[serde(default)]
    pub peak_hour_utc: u8,
    #[serde(default)]
    pub peak_hour_minutes: u64,
    #[serde(default)]
    pub peak_hour_tpm_p50: f64,
    #[serde(default)]
    pub peak_hour_tpm_p99: f64,
    #[serde(default)]
    pub peak_hour_tpm_max: f64,
    #[serde(default)]
    pub peak_hour_input_tpm_p99: f64,
    #[serde(default)]
    pub peak_hour_output_tpm_p99: f64,
    #[serde(default)]
    pub peak_hour_rpm_p99: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// What was read: "3 files (a.jsonl.gz, …), 2026-11-02 to 2026-11-06".
    #[serde(default)]
    pub source: String,
    pub records: u64,
    pub days: f64,
    /// Share of prompt tokens read from the cache.
    pub cached_share: f64,
    #[serde(default)]
    pub requests_per_active_user_hour: Option<f64>,
    /// Users seen, and the sessions each started on a day with traffic (where users are
    /// identifiable): what a scenario's employees and sessions_per_user_per_day are at the
    /// logs' volume.
    #[serde(default)]
    pub users: Option<u64>,
    #[serde(default)]
    pub sessions_per_user_per_day: Option<f64>,
    #[serde(rename = "model")]
    pub models: Vec<ModelMinutes>,
}

/// One request class learned from logs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FittedClass {
    pub name: String,
    pub share: f64,
    /// Its cached prefix (0 for none), written as its system prompt as well.
    pub cached_prefix: f64,
    /// The whole prompt less the cached prefix.
    pub message: LengthFit,
    pub reply: LengthFit,
}

/// A workload learned from logs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FittedWorkload {
    pub name: String,
    pub description: String,
    pub files: Vec<String>,
    pub records: u64,
    pub skipped_total: u64,
    pub skipped: Vec<SkippedLines>,
    /// Records kept with 0 output tokens (errors, refusals).
    pub zero_output: u64,
    /// First and last request, ISO 8601 UTC.
    pub first: String,
    pub last: String,
    pub span_minutes: u64,
    pub days: f64,
    pub models: Vec<ModelCount>,
    pub users: Option<UserFigures>,
    pub think_time_s: f64,
    pub turns_per_session: f64,
    pub session_gap_s: f64,
    pub streaming: bool,
    /// Share of requests that read or wrote the cache.
    pub cache_use_share: f64,
    /// The median cache read + write of the requests that used the cache (0 under
    /// [`CACHE_USE_MIN`]). As the workload schema has it, the prefix is part of every request and
    /// the message is the whole prompt less it, which describes logs where most requests use the
    /// cache; below [`PARTIAL_CACHE`] the file says so.
    pub cached_prefix: f64,
    /// The classes written: one ("all") unless the cache was used by some requests and not
    /// others (between [`CACHE_USE_MIN`] and [`PARTIAL_CACHE`] of them), then "cached" and
    /// "uncached" with their shares.
    pub classes: Vec<FittedClass>,
    /// The whole prompt's quantiles `[q, tokens]`.
    pub prompt: Vec<[f64; 2]>,
    /// The prompt less the cached prefix.
    pub message: LengthFit,
    pub reply: LengthFit,
    /// Share of requests in each UTC hour, 4 decimals, summing to 1.
    pub hourly: [f64; 24],
    pub measured: Measured,
}

/// The fitted workload; an error naming the files and the reasons when no record was usable.
pub fn fit(mut traffic: Traffic) -> Result<FittedWorkload, LogError> {
    let skipped = skipped_lines(&traffic);
    let (Some(first_s), Some(last_s)) = (traffic.first_s, traffic.last_s) else {
        return Err(LogError::NothingUsable {
            files: traffic.files.join(", "),
            skipped: skipped_summary(traffic.skipped_count(), &skipped),
        });
    };
    traffic.finish_users();
    let records = traffic.records;
    let span_minutes = (last_s.div_euclid(60) - first_s.div_euclid(60) + 1) as u64;
    let days = span_minutes as f64 / 1_440.0;

    let mut models: Vec<ModelCount> = traffic
        .models
        .iter()
        .map(|m| ModelCount {
            model: m.name.clone(),
            requests: m.requests,
        })
        .collect();
    models.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.model.cmp(&b.model)));

    let cache_use_share = traffic.cache_requests as f64 / records as f64;
    let cached_prefix = if cache_use_share >= CACHE_USE_MIN {
        histogram_quantile(&traffic.cache_used, 0.5).unwrap_or(0) as f64
    } else {
        0.0
    };

    let s = &traffic.sessions;
    let users = (traffic.users() >= MIN_USERS && s.sessions > 0).then(|| UserFigures {
        users: traffic.users(),
        sessions: s.sessions,
        think_time_s: (!s.think_gaps.is_empty()).then(|| s.think_gaps.mean()),
        turns_per_session: s.requests as f64 / s.sessions as f64,
        session_gap_s: (s.between_count > 0).then(|| s.between_sum_s / s.between_count as f64),
        requests_per_active_user_hour: s.requests as f64 / s.active_user_hours.max(1) as f64,
        out_of_order: s.out_of_order,
        unfollowed_records: traffic.unfollowed_user_records,
    });
    let think_time_s = users
        .as_ref()
        .and_then(|u| u.think_time_s)
        .unwrap_or(DEFAULT_THINK_TIME_S);
    let turns_per_session = users.as_ref().map_or(1.0, |u| u.turns_per_session.max(1.0));
    // The gap that makes a simulated active user send what an active user sent in an hour of
    // the logs: turns / ((turns − 1)·think + gap) = requests per active user-hour. The mean gap
    // between a user's sessions in the logs spans nights and weekends, so it is not used.
    let session_gap_s = users
        .as_ref()
        .map(|u| {
            let per_s = u.requests_per_active_user_hour / 3_600.0;
            (turns_per_session / per_s - (turns_per_session - 1.0) * think_time_s).max(0.0)
        })
        .filter(|g| g.is_finite())
        .unwrap_or(DEFAULT_SESSION_GAP_S);

    // Calendar days (UTC) with any request.
    let days_with_traffic = traffic
        .models
        .iter()
        .flat_map(|m| m.minutes.keys().map(|minute| minute.div_euclid(1_440)))
        .collect::<std::collections::BTreeSet<i64>>()
        .len();
    let mut measured_models: Vec<ModelMinutes> = traffic
        .models
        .iter()
        .map(|m| {
            model_minutes(
                &m.name,
                m.requests,
                &m.minutes,
                (first_s.div_euclid(60), span_minutes),
                peak_hour(&traffic.hourly),
            )
        })
        .collect();
    measured_models.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.model.cmp(&b.model)));

    let first = format_iso(first_s);
    let last = format_iso(last_s);
    let measured_source = format!(
        "{} ({} to {})",
        file_list(&traffic.files),
        &first[..10],
        &last[..10]
    );
    let first_name = traffic
        .files
        .first()
        .map(|f| f.rsplit(['/', '\\']).next().unwrap_or(f).to_string())
        .unwrap_or_default();
    let description = format!(
        "{} requests over {} days ({} to {}); models: {}",
        thousands(records as f64),
        round(days, 2),
        &first[..10],
        &last[..10],
        model_list(&models, 5)
    );
    Ok(FittedWorkload {
        name: format!("learned from {first_name}"),
        description,
        files: traffic.files.clone(),
        records,
        skipped_total: traffic.skipped_count(),
        skipped,
        zero_output: traffic.zero_output,
        first,
        last,
        span_minutes,
        days,
        models,
        think_time_s,
        turns_per_session,
        session_gap_s,
        streaming: true,
        cache_use_share,
        cached_prefix,
        classes: if cached_prefix > 0.0 && cache_use_share < PARTIAL_CACHE {
            vec![
                FittedClass {
                    name: "cached".into(),
                    share: cache_use_share,
                    cached_prefix,
                    message: length_fit(&traffic.prompt_cached, cached_prefix),
                    reply: length_fit(&traffic.output_cached, 0.0),
                },
                FittedClass {
                    name: "uncached".into(),
                    share: 1.0 - cache_use_share,
                    cached_prefix: 0.0,
                    message: length_fit(&traffic.prompt_uncached, 0.0),
                    reply: length_fit(&traffic.output_uncached, 0.0),
                },
            ]
        } else {
            vec![FittedClass {
                name: "all".into(),
                share: 1.0,
                cached_prefix,
                message: length_fit(&traffic.prompt, cached_prefix),
                reply: length_fit(&traffic.output, 0.0),
            }]
        },
        prompt: points(&traffic.prompt, 0.0),
        message: length_fit(&traffic.prompt, cached_prefix),
        reply: length_fit(&traffic.output, 0.0),
        hourly: hourly_shares(&traffic.hourly),
        measured: Measured {
            source: measured_source,
            records,
            days,
            cached_share: if traffic.prompt_sum > 0.0 {
                traffic.cache_read_sum / traffic.prompt_sum
            } else {
                0.0
            },
            requests_per_active_user_hour: users.as_ref().map(|u| u.requests_per_active_user_hour),
            users: users.as_ref().map(|u| u.users as u64),
            sessions_per_user_per_day: users.as_ref().map(|u| {
                u.sessions as f64 / u.users.max(1) as f64 / days_with_traffic.max(1) as f64
            }),
            models: measured_models,
        },
        users,
    })
}

/// "2 files (a.jsonl.gz, b.csv)", at most three named.
fn file_list(files: &[String]) -> String {
    let names: Vec<&str> = files
        .iter()
        .take(3)
        .map(|f| f.rsplit(['/', '\\']).next().unwrap_or(f))
        .collect();
    format!(
        "{} file{} ({}{})",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        names.join(", "),
        if files.len() > 3 { ", …" } else { "" }
    )
}

/// The histogram's quantiles at [`QUANTILE_POINTS`], less `shift` (at least 0).
fn points(histogram: &Histogram<u64>, shift: f64) -> Vec<[f64; 2]> {
    QUANTILE_POINTS
        .iter()
        .map(|&q| [q, shifted_quantile(histogram, q, shift)])
        .collect()
}

fn shifted_quantile(histogram: &Histogram<u64>, q: f64, shift: f64) -> f64 {
    (histogram_quantile(histogram, q).unwrap_or(0) as f64 - shift).max(0.0)
}

/// The log-normal through the median and p90 of `histogram − shift`, and how far it is from the
/// data.
pub fn length_fit(histogram: &Histogram<u64>, shift: f64) -> LengthFit {
    let median = shifted_quantile(histogram, 0.5, shift);
    let p90 = shifted_quantile(histogram, 0.9, shift);
    let sigma = (median > 0.0 && p90 > median).then(|| (p90 / median).ln() / Z90);
    let ks = sigma.map(|sigma| ks_distance(histogram, shift, median, sigma));
    LengthFit {
        median,
        p90,
        sigma,
        ks,
        lognormal: ks.is_some_and(|d| d <= KS_GOOD),
        points: points(histogram, shift),
    }
}

/// The log-normal's distribution function.
pub fn lognormal_cdf(x: f64, median: f64, sigma: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let z = (x / median).ln() / sigma;
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// Kolmogorov–Smirnov distance sup |F_n − F| between the data in `histogram` (less `shift`,
/// at least 0) and a log-normal. Token counts are whole numbers, so the data's distribution
/// steps at each count `k` and is compared with the log-normal's at `k ± 0.5` (a bucket of
/// several counts, above 2,048 tokens, from its lowest − 0.5 to its highest + 0.5).
pub fn ks_distance(histogram: &Histogram<u64>, shift: f64, median: f64, sigma: f64) -> f64 {
    let n = histogram.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    let mut below = 0u64;
    let mut distance: f64 = 0.0;
    for bucket in histogram.iter_recorded() {
        let high = bucket.value_iterated_to();
        let low = histogram.lowest_equivalent(high);
        let count = bucket.count_at_value();
        let before = below as f64 / n;
        below += count;
        let after = below as f64 / n;
        let low = (low as f64 - shift).max(0.0);
        let high = (high as f64 - shift).max(0.0);
        let f_low = lognormal_cdf(low - 0.5, median, sigma);
        let f_high = lognormal_cdf(high + 0.5, median, sigma);
        distance = distance
            .max((before - f_low).abs())
            .max((after - f_high).abs());
    }
    distance
}

/// Shares of the 24 hours, each a multiple of 0.0001, summing to exactly 1 (largest remainder).
pub fn hourly_shares(counts: &[u64; 24]) -> [f64; 24] {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return [1.0 / 24.0; 24];
    }
    let units = 10_000u64;
    let exact: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 * units as f64 / total as f64)
        .collect();
    let mut whole: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let short = units.saturating_sub(whole.iter().sum());
    let mut order: Vec<usize> = (0..24).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for &i in order.iter().take(short as usize) {
        whole[i] += 1;
    }
    let mut shares = [0.0; 24];
    for (share, w) in shares.iter_mut().zip(whole) {
        *share = w as f64 / units as f64;
    }
    shares
}

/// The UTC hour with the most requests.
pub fn peak_hour(hourly: &[u64; 24]) -> u8 {
    (0..24u8).fold(0, |best, h| {
        if hourly[h as usize] > hourly[best as usize] {
            h
        } else {
            best
        }
    })
}

pub fn model_minutes(
    name: &str,
    requests: u64,
    minutes: &std::collections::BTreeMap<i64, super::traffic::MinuteTotals>,
    (first_minute, span_minutes): (i64, u64),
    peak_hour: u8,
) -> ModelMinutes {
    let in_peak = |minute: i64| minute.div_euclid(60).rem_euclid(24) == i64::from(peak_hour);
    let peak_minutes = (first_minute..first_minute + span_minutes as i64)
        .filter(|m| in_peak(*m))
        .count();
    let peak: std::collections::BTreeMap<i64, super::traffic::MinuteTotals> = minutes
        .iter()
        .filter(|(m, _)| in_peak(**m))
        .map(|(m, t)| (*m, *t))
        .collect();
    let peak_quiet = peak_minutes.saturating_sub(peak.len());
    let peak_sorted = |f: &dyn Fn(&super::traffic::MinuteTotals) -> f64| {
        let mut v: Vec<f64> = peak.values().map(f).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let q_peak = |v: &[f64], q: f64| quantile_sorted_with_zeros(v, peak_quiet, q).unwrap_or(0.0);
    let peak_tpm = peak_sorted(&|m| m.prompt_tokens + m.output_tokens);
    let peak_input = peak_sorted(&|m| m.prompt_tokens);
    let peak_output = peak_sorted(&|m| m.output_tokens);
    let peak_rpm = peak_sorted(&|m| m.requests as f64);
    let active = minutes.len();
    let quiet = (span_minutes as usize).saturating_sub(active);
    let sorted = |f: &dyn Fn(&super::traffic::MinuteTotals) -> f64| {
        let mut v: Vec<f64> = minutes.values().map(f).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let tpm = sorted(&|m| m.prompt_tokens + m.output_tokens);
    let input = sorted(&|m| m.prompt_tokens);
    let uncached = sorted(&|m| m.uncached_input_tokens);
    let output = sorted(&|m| m.output_tokens);
    let rpm = sorted(&|m| m.requests as f64);
    let q = |v: &[f64], q: f64| quantile_sorted_with_zeros(v, quiet, q).unwrap_or(0.0);
    let q_active = |v: &[f64], q: f64| quantile_sorted_with_zeros(v, 0, q).unwrap_or(0.0);
    ModelMinutes {
        model: name.to_string(),
        requests,
        minutes: span_minutes,
        active_minutes: active as u64,
        tpm_p50: q(&tpm, 0.5),
        tpm_p99: q(&tpm, 0.99),
        tpm_max: q(&tpm, 1.0),
        input_tpm_p99: q(&input, 0.99),
        uncached_input_tpm_p99: q(&uncached, 0.99),
        output_tpm_p99: q(&output, 0.99),
        rpm_p50: q(&rpm, 0.5),
        rpm_p99: q(&rpm, 0.99),
        rpm_max: q(&rpm, 1.0),
        active_tpm_p50: q_active(&tpm, 0.5),
        active_rpm_p50: q_active(&rpm, 0.5),
        peak_hour_utc: peak_hour,
        peak_hour_minutes: peak_minutes as u64,
        peak_hour_tpm_p50: q_peak(&peak_tpm, 0.5),
        peak_hour_tpm_p99: q_peak(&peak_tpm, 0.99),
        peak_hour_tpm_max: q_peak(&peak_tpm, 1.0),
        peak_hour_input_tpm_p99: q_peak(&peak_input, 0.99),
        peak_hour_output_tpm_p99: q_peak(&peak_output, 0.99),
        peak_hour_rpm_p99: q_peak(&peak_rpm, 0.99),
    }
}

fn skipped_lines(traffic: &Traffic) -> Vec<SkippedLines> {
    traffic
        .skipped
        .iter()
        .map(|(&reason, s)| SkippedLines {
            reason,
            label: reason.label().to_string(),
            count: s.count,
            lines: named_lines(traffic, s),
            first_problem: s.detail.clone(),
        })
        .collect()
}

fn named_lines(traffic: &Traffic, skipped: &Skipped) -> Vec<String> {
    skipped
        .first
        .iter()
        .map(|&(file, line)| {
            let name = traffic.files.get(file).map_or("?", String::as_str);
            format!("{name} line {line}")
        })
        .collect()
}

/// "12: 10 no token counts (a.jsonl line 4, …), 2 bad timestamp (b.csv line 9)".
pub fn skipped_summary(total: u64, skipped: &[SkippedLines]) -> String {
    if total == 0 {
        return String::new();
    }
    let parts: Vec<String> = skipped
        .iter()
        .map(|s| {
            let more = if s.count > s.lines.len() as u64 {
                ", …"
            } else {
                ""
            };
            format!(
                "{} {} ({}{more})",
                thousands(s.count as f64),
                s.label,
                s.lines.join(", ")
            )
        })
        .collect();
    format!("{}: {}", thousands(total as f64), parts.join(", "))
}

fn model_list(models: &[ModelCount], at_most: usize) -> String {
    let mut text: Vec<String> = models
        .iter()
        .take(at_most)
        .map(|m| format!("{} ({})", m.model, thousands(m.requests as f64)))
        .collect();
    if models.len() > at_most {
        text.push(format!("and {} more", models.len() - at_most));
    }
    text.join(", ")
}

fn round(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// A TOML float: always with a decimal point.
fn float(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// A TOML basic string.
fn string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A comment's text on one line.
fn comment(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn length_comment(what: &str, fit: &LengthFit) -> String {
    match (fit.sigma, fit.ks) {
        (Some(_), Some(ks)) => format!(
            "# {what}: log-normal median {}, p90 {}: KS distance {ks:.3} ({})",
            thousands(fit.median),
            thousands(fit.p90),
            if fit.lognormal {
                "good fit"
            } else {
                "poor fit: quantiles written"
            }
        ),
        _ => format!(
            "# {what}: no log-normal (median {}, p90 {}): quantiles written",
            thousands(fit.median),
            thousands(fit.p90)
        ),
    }
}

fn length_value(fit: &LengthFit) -> String {
    if fit.lognormal {
        format!(
            "{{ dist = \"lognormal\", median = {}, p90 = {} }}",
            float(fit.median),
            float(fit.p90)
        )
    } else {
        let points: Vec<String> = fit
            .points
            .iter()
            .map(|[q, v]| format!("[{}, {}]", float(*q), float(*v)))
            .collect();
        format!(
            "{{ dist = \"quantiles\", points = [{}] }}",
            points.join(", ")
        )
    }
}

impl FittedWorkload {
    /// The workload file: the schema `llmcap` reads, the summary and the fits in comments.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        let files = self.files.len();
        line(comment(&format!(
            "# Learned by `llmcap workload fit` from {} file{} ({} records, {} to {}, {} days;",
            thousands(files as f64),
            if files == 1 { "" } else { "s" },
            thousands(self.records as f64),
            &self.first[..10],
            &self.last[..10],
            round(self.days, 2)
        )));
        let skipped = if self.skipped_total == 0 {
            "nothing skipped".to_string()
        } else {
            format!(
                "skipped {}",
                skipped_summary(self.skipped_total, &self.skipped)
            )
        };
        line(comment(&format!(
            "# models: {}; {skipped})",
            model_list(&self.models, 10)
        )));
        if self.zero_output > 0 {
            line(comment(&format!(
                "# {} records had 0 output tokens (errors or refusals): kept, in the reply lengths",
                thousands(self.zero_output as f64)
            )));
        }
        line(format!("name = {}", string(&self.name)));
        line(format!(
            "description = {}",
            string(&comment(&self.description))
        ));
        match &self.users {
            Some(u) => {
                line(comment(&format!(
                    "# {} users, {} sessions (split at gaps over {} min); gaps within a session include the reply's own time{}",
                    thousands(u.users as f64),
                    thousands(u.sessions as f64),
                    SESSION_GAP_S / 60,
                    if u.out_of_order > 0 {
                        format!("; {} requests out of time order were not used for gaps", thousands(u.out_of_order as f64))
                    } else {
                        String::new()
                    }
                )));
                let think = if u.think_time_s.is_some() {
                    "# mean gap between a user's consecutive requests within a session"
                } else {
                    "# no session had two requests: the default"
                };
                line(format!(
                    "think_time_s = {}   {think}",
                    float(round(self.think_time_s, 1))
                ));
                line(format!(
                    "turns_per_session = {}   # mean requests per session",
                    float(round(self.turns_per_session, 2))
                ));
                let gap = format!(
                    "# so that an active user sends {} requests an hour, as in the logs (the mean gap between a user's sessions there, nights included, is {})",
                    round(u.requests_per_active_user_hour, 2),
                    u.session_gap_s
                        .map_or("not seen".to_string(), |g| format!("{} s", thousands(g)))
                );
                line(format!(
                    "session_gap_s = {}   {gap}",
                    float(round(self.session_gap_s, 1))
                ));
            }
            None => {
                line(comment(&format!(
                    "# users not identifiable (fewer than {MIN_USERS} distinct users in the logs): one request per session"
                )));
                line(format!("think_time_s = {}", float(self.think_time_s)));
                line(format!(
                    "turns_per_session = {}",
                    float(self.turns_per_session)
                ));
                line(format!(
                    "session_gap_s = {}   # the per-user rate is unknown: the scenario's sessions_per_user_per_day sets the volume",
                    float(self.session_gap_s)
                ));
            }
        }
        line(format!("streaming = {}", self.streaming));
        line(String::new());
        line(comment(&format!(
            "# {} of requests read or wrote the prompt cache{}",
            crate::format::percent(self.cache_use_share),
            if self.cached_prefix == 0.0 {
                format!(
                    " (under {}): no cached prefix",
                    crate::format::percent(CACHE_USE_MIN)
                )
            } else if self.classes.len() > 1 {
                ": two classes, the requests that used it (their prefix the median cache read + write) and those that did not".to_string()
            } else {
                ": cached_prefix is the median cache read + write of those".to_string()
            }
        )));
        for class in &self.classes {
            line("[[class]]".into());
            line(format!("name = {}", string(&class.name)));
            line(format!("share = {}", float(round(class.share, 4))));
            line(format!(
                "system_prompt = {}   # the cached prefix stands for it; the rest of each prompt is the message",
                class.cached_prefix.round() as u64
            ));
            line(format!(
                "cached_prefix = {}",
                class.cached_prefix.round() as u64
            ));
            line(length_comment(
                "message (the whole prompt less cached_prefix)",
                &class.message,
            ));
            line(format!("message = {}", length_value(&class.message)));
            line(length_comment("reply", &class.reply));
            line(format!("reply = {}", length_value(&class.reply)));
            line("history = false   # prompts from logs already include any history".into());
        }
        line(String::new());
        line("[daily]".into());
        let hourly: Vec<String> = self.hourly.iter().map(|s| format!("{s:.4}")).collect();
        line(format!("hourly = [{}]", hourly.join(", ")));
        line("zone = [{ utc_offset_h = 0.0, share = 1.0 }]".into());
        line(String::new());
        line("[measured]   # what the logs say, for quota evidence".into());
        line(format!(
            "source = {}",
            string(&comment(&self.measured.source))
        ));
        line(format!("records = {}", self.measured.records));
        line(format!("days = {}", float(round(self.measured.days, 4))));
        line(format!(
            "cached_share = {}   # share of prompt tokens read from the cache",
            float(round(self.measured.cached_share, 4))
        ));
        if let Some(rate) = self.measured.requests_per_active_user_hour {
            line(format!(
                "requests_per_active_user_hour = {}",
                float(round(rate, 2))
            ));
        }
        if let (Some(users), Some(sessions)) =
            (self.measured.users, self.measured.sessions_per_user_per_day)
        {
            line(format!(
                "users = {users}   # identifiable callers in the logs: a scenario's employees at this volume"
            ));
            line(format!(
                "sessions_per_user_per_day = {}   # sessions a user started on each day with traffic",
                float(round(sessions, 3))
            ));
        }
        line("# per model: tokens (input incl. cached + output) and requests per minute, over ALL minutes of the span (quiet minutes count as 0)".into());
        for m in &self.measured.models {
            line("[[measured.model]]".into());
            line(comment(&format!(
                "# {} minutes with traffic: median {} tokens, {} requests a minute there; uncached input p99 {} tokens a minute",
                thousands(m.active_minutes as f64),
                thousands(m.active_tpm_p50),
                thousands(m.active_rpm_p50),
                thousands(m.uncached_input_tpm_p99)
            )));
            line(format!("model = {}", string(&m.model)));
            line(format!("requests = {}", m.requests));
            line(format!("minutes = {}", m.minutes));
            for (key, value) in [
                ("tpm_p50", m.tpm_p50),
                ("tpm_p99", m.tpm_p99),
                ("tpm_max", m.tpm_max),
                ("input_tpm_p99", m.input_tpm_p99),
                ("output_tpm_p99", m.output_tpm_p99),
                ("rpm_p50", m.rpm_p50),
                ("rpm_p99", m.rpm_p99),
                ("rpm_max", m.rpm_max),
            ] {
                line(format!("{key} = {}", float(value)));
            }
            line(comment(&format!(
                "# the busiest hour, {:02}:00–{:02}:00 UTC, on each of the {} days: {} minutes",
                m.peak_hour_utc,
                (m.peak_hour_utc + 1) % 24,
                round(self.days, 2),
                thousands(m.peak_hour_minutes as f64)
            )));
            line(format!("peak_hour_utc = {}", m.peak_hour_utc));
            line(format!("peak_hour_minutes = {}", m.peak_hour_minutes));
            for (key, value) in [
                ("peak_hour_tpm_p50", m.peak_hour_tpm_p50),
                ("peak_hour_tpm_p99", m.peak_hour_tpm_p99),
                ("peak_hour_tpm_max", m.peak_hour_tpm_max),
                ("peak_hour_input_tpm_p99", m.peak_hour_input_tpm_p99),
                ("peak_hour_output_tpm_p99", m.peak_hour_output_tpm_p99),
                ("peak_hour_rpm_p99", m.peak_hour_rpm_p99),
            ] {
                line(format!("{key} = {}", float(value)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::logs::record::LogRecord;

    #[test]
    fn hourly_shares_sum_to_one_in_ten_thousandths() {
        let mut counts = [0u64; 24];
        for (i, c) in counts.iter_mut().enumerate() {
            *c = (i as u64 * 7919) % 97 + 1;
        }
        let shares = hourly_shares(&counts);
        let units: u64 = shares.iter().map(|s| (s * 10_000.0).round() as u64).sum();
        assert_eq!(units, 10_000);
        let total: u64 = counts.iter().sum();
        for (s, c) in shares.iter().zip(counts) {
            assert!((s - c as f64 / total as f64).abs() <= 1e-4);
        }
    }

    #[test]
    fn a_log_normal_fits_its_own_quantiles_and_a_two_point_sample_does_not() {
        // The exact log-normal quantiles of median 800, sigma 0.6 at 20,000 evenly spaced
        // probabilities: the KS distance is the histogram's rounding alone.
        let mut histogram = Histogram::<u64>::new_with_max(2_000_000, 3).unwrap();
        let n = 20_000;
        for i in 0..n {
            let p = (i as f64 + 0.5) / n as f64;
            let z = inverse_normal(p);
            histogram
                .record((800.0 * (0.6 * z).exp()).round() as u64)
                .unwrap();
        }
        let fit = length_fit(&histogram, 0.0);
        assert!((fit.median - 800.0).abs() <= 1.0, "{fit:?}");
        let p90 = 800.0 * (0.6 * Z90).exp();
        assert!((fit.p90 - p90).abs() / p90 < 0.002, "{fit:?}");
        assert!(fit.lognormal && fit.ks.unwrap() < 0.01, "{fit:?}");
        // Half 100, half 10,000: no log-normal is near it.
        let mut two = Histogram::<u64>::new_with_max(2_000_000, 3).unwrap();
        two.record_n(100, 500).unwrap();
        two.record_n(10_000, 500).unwrap();
        let fit = length_fit(&two, 0.0);
        assert!(!fit.lognormal && fit.ks.unwrap() > 0.3, "{fit:?}");
    }

    /// Acklam's rational approximation of the standard normal quantile (|error| < 1.2e-9): an
    /// independent way to make log-normal data.
    fn inverse_normal(p: f64) -> f64 {
        let a = [
            -3.969683028665376e1,
            2.209460984245205e2,
            -2.759285104469687e2,
            1.38357751867269e2,
            -3.066479806614716e1,
            2.506628277459239,
        ];
        let b = [
            -5.447609879822406e1,
            1.615858368580409e2,
            -1.556989798598866e2,
            6.680131188771972e1,
            -1.328068155288572e1,
        ];
        let c = [
            -7.784894002430293e-3,
            -3.223964580411365e-1,
            -2.400758277161838,
            -2.549732539343734,
            4.374664141464968,
            2.938163982698783,
        ];
        let d = [
            7.784695709041462e-3,
            3.224671290700398e-1,
            2.445134137142996,
            3.754408661907416,
        ];
        let tail = |q: f64| {
            (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
        };
        if p < 0.02425 {
            tail((-2.0 * p.ln()).sqrt())
        } else if p > 1.0 - 0.02425 {
            -tail((-2.0 * (1.0 - p).ln()).sqrt())
        } else {
            let q = p - 0.5;
            let r = q * q;
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
        }
    }

    #[test]
    fn the_toml_parses_and_nothing_usable_is_an_error_naming_the_lines() {
        let mut traffic = Traffic::new();
        let file = traffic.begin_file("logs/a.jsonl");
        traffic.skip(
            file,
            3,
            crate::workload::logs::Skip::new(SkipReason::NotJson, "x"),
        );
        let error = fit(traffic.clone()).unwrap_err().to_string();
        assert!(error.contains("logs/a.jsonl line 3"), "{error}");
        let t0 = 1_796_040_000;
        for i in 0..100 {
            traffic.add(&LogRecord {
                time_s: t0 + i * 7,
                prompt_tokens: 100.0 + i as f64,
                output_tokens: 10.0,
                cache_read_tokens: 0.0,
                cache_write_tokens: 0.0,
                model: Some("m \"quoted\"".into()),
                user: None,
            });
        }
        let fitted = fit(traffic).unwrap();
        let value: toml::Value = toml::from_str(&fitted.to_toml()).unwrap();
        assert_eq!(value["name"].as_str(), Some("learned from a.jsonl"));
        assert_eq!(value["turns_per_session"].as_float(), Some(1.0));
        assert_eq!(value["session_gap_s"].as_float(), Some(300.0));
        assert_eq!(
            value["measured"]["model"][0]["model"].as_str(),
            Some("m \"quoted\"")
        );
        // 100 requests 7 s apart from 12:00:00: 693 s, so minutes 0..=11 all have traffic.
        assert_eq!(
            value["measured"]["model"][0]["minutes"].as_integer(),
            Some(12)
        );
        let hourly = value["daily"]["hourly"].as_array().unwrap();
        assert_eq!(hourly[12].as_float(), Some(1.0));
    }
}
