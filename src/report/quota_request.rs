//! The quota document for one Bedrock option, in the shape AWS support asks for: per model,
//! endpoint and Region (or inference profile) each quota's Service Quotas name, current and
//! requested value, the steady and peak minute, the tokens per request and what admission
//! reserves, the share of long prompts, growth, and the use case; then the evidence. An ask
//! appears wherever the plan's rule says a quota is short (`crate::plan::quota`: the need —
//! p99 minute × headroom — exceeds the current value, or the peak throttles at it). Every figure is taken
//! from the plan's `QuotaEvidence` and printed with `format::thousands` (a test compares them).

use crate::format::{percent, thousands};
use crate::plan::quota::{QuotaCheck, QuotaEvidence, QuotaName, HEADROOM};
use crate::plan::scenario::InferenceProfile;
use crate::plan::SloLimits;
use crate::quota::InferenceEndpoint;

/// The verdict and the part of the rule that gave it.
pub fn verdict(c: &QuotaCheck) -> String {
    match c.requested {
        Some(ask) if c.needed > c.current => {
            format!("short (needed > current): ask {}", thousands(ask))
        }
        Some(ask) => format!("short (throttles at current): ask {}", thousands(ask)),
        None => "sufficient (needed ≤ current, no throttling)".to_string(),
    }
}

/// "599,040 (594,120–601,300 over 600 minutes)": the p99 minute with its 90 % interval.
pub fn p99_with_interval(c: &QuotaCheck) -> String {
    let [lo, hi] = c.peak_p99_interval;
    if c.minutes == 0 {
        return thousands(c.peak_p99_minute);
    }
    format!(
        "{} ({}–{}, {} minutes)",
        thousands(c.peak_p99_minute),
        thousands(lo),
        thousands(hi),
        thousands(f64::from(c.minutes))
    )
}

/// "235,600 TPM (p99 minute, charged at settlement, the larger)": the figure a quota is judged
/// by, with what it counts.
pub fn p99_phrase(c: &QuotaCheck) -> String {
    format!(
        "{} {} (p99 minute{})",
        thousands(c.peak_p99_minute),
        c.quota.short_label(),
        c.measure
            .as_ref()
            .map_or(String::new(), |m| format!(", {m}"))
    )
}

/// The request table: one row per quota, as a support case lists them.
pub fn request_table(e: &QuotaEvidence) -> String {
    let mut table = String::from(
        "| quota (Service Quotas name) | current | requested | median minute at the peak | p99 minute at the peak | p99 minute in 6 months |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for c in e.checks() {
        table += &format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            c.service_quota_name,
            thousands(c.current),
            c.requested.map_or("no change".to_string(), |ask| format!(
                "**{}**",
                thousands(ask)
            )),
            thousands(c.peak_p50_minute),
            thousands(c.peak_p99_minute),
            thousands(e.in_six_months(c)),
        );
    }
    table
}

/// Current against needed for each quota, with the throttling each one causes alone.
pub fn checks_table(e: &QuotaEvidence) -> String {
    let mut table = String::from(
        "| quota | current | p99 minute at the peak (90 % interval, minutes simulated) | throttled at current | needed (p99 × headroom) | verdict |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for c in e.checks() {
        table += &format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            c.measured_label(),
            thousands(c.current),
            p99_with_interval(c),
            percent(c.throttle_rate_at_current),
            thousands(c.needed),
            verdict(c)
        );
    }
    table
}

/// The asks, one sentence per short quota; or why none is needed.
pub fn ask_sentences(e: &QuotaEvidence) -> String {
    let asks: Vec<String> = e
        .checks()
        .filter_map(|c| {
            c.requested.map(|ask| {
                let why = if c.needed > c.current {
                    format!(
                        "the peak's p99 minute of {} × {HEADROOM} headroom needs {}, above the current {} (at which the simulated peak throttles {} of attempts)",
                        thousands(c.peak_p99_minute),
                        thousands(c.needed),
                        thousands(c.current),
                        percent(c.throttle_rate_at_current)
                    )
                } else {
                    format!(
                        "at {} the simulated peak throttles {} of attempts (bursts inside a minute, though its p99 minute of {} fits)",
                        thousands(c.current),
                        percent(c.throttle_rate_at_current),
                        thousands(c.peak_p99_minute)
                    )
                };
                format!(
                    "Raise \"{}\" for `{}` in {} from {} to **{}**: {why}.",
                    c.service_quota_name,
                    e.model_id,
                    e.region,
                    thousands(c.current),
                    thousands(ask),
                )
            })
        })
        .collect();
    if asks.is_empty() {
        let uses: Vec<String> = e
            .checks()
            .map(|c| {
                format!(
                    "{} of the {} quota",
                    percent(c.peak_p99_minute / c.current),
                    c.quota.short_label()
                )
            })
            .collect();
        format!(
            "No increase is needed: at the current quotas the simulated peak of {} users throttles {} of attempts, its p99 minute uses {}, and the p99 minute × {HEADROOM} headroom fits every quota.",
            e.peak_users,
            percent(e.throttle_rate_current),
            uses.join(" and ")
        )
    } else {
        format!(
            "{} With the requested values the simulated peak throttles {} of attempts ({} fail after retries), against {} at the current values.",
            asks.join(" "),
            percent(e.throttle_rate_planned),
            percent(e.error_rate_planned),
            percent(e.throttle_rate_current)
        )
    }
}

/// How the endpoint counts a request against its quotas, in the document's words.
fn semantics(e: &QuotaEvidence) -> String {
    match e.endpoint {
        InferenceEndpoint::Runtime => format!(
            "bedrock-runtime counts input and output against one tokens-per-minute quota{}: at each \
             request start it reserves input (cache reads included) + max_tokens; at the end it \
             settles input − cache reads + output × {} (the model's output burndown: {}) and \
             refunds the rest",
            match e.inference_profile {
                InferenceProfile::InRegion => "",
                InferenceProfile::Geographic => " (the cross-Region inference profile's own quota)",
                InferenceProfile::Global => " (the global inference profile's own quota)",
            },
            e.output_burndown,
            e.burndown_source
        ),
        InferenceEndpoint::Mantle => "bedrock-mantle has separate input and output tokens-per-minute \
             quotas and no RPM quota: admission checks uncached input + max_tokens against input \
             TPM (cache reads do not count); output tokens count against output TPM as they are \
             produced"
            .to_string(),
    }
}

/// The quota document; `profile` is what the plan says about the profile's reach (borrowed,
/// the knee against the measured range), one line each.
/// The logs' per-minute traffic beside the simulated peak's, and six months on at the
/// scenario's growth; empty when the workload measured nothing for this model.
pub fn measured_section(e: &QuotaEvidence) -> String {
    let Some(m) = &e.measured else {
        return String::new();
    };
    let f = &m.figures;
    let grown = (1.0 + e.monthly_growth).powi(6);
    let row = |name: &str, measured: f64, all: f64, simulated: f64| {
        format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            thousands(measured),
            thousands(all),
            thousands(simulated),
            if measured > 0.0 {
                format!("{:.2}×", simulated / measured)
            } else {
                "—".into()
            },
            thousands(measured * grown)
        )
    };
    format!(
        "## Measured traffic against the simulated peak\n\n\
         Measured in request logs ({logged}): {source}. Tokens are input (cached included) \
         + output, per minute. Measured over the busiest hour of the day ({h:02}:00–{h1:02}:00 UTC) \
         on each day of the logs ({minutes} minutes, quiet ones counted as 0) and over every \
         minute of the logs; simulated over the {sim_minutes} minutes of the peak at {peak} users. \
         The two agree when the scenario's peak carries the logs' busiest-hour volume; a ratio \
         above 1 is growth the scenario adds (more users, sessions or turns).\n\n\
         | per minute | measured, busiest hour | measured, every minute | simulated peak | simulated / measured | measured × {growth_factor:.2} (6 months at {growth} a month) |\n\
         | --- | --- | --- | --- | --- | --- |\n\
         {tpm50}{tpm99}{tpmmax}{rpm99}\n",
        source = m.source,
        logged = if f.model == crate::workload::logs::traffic::NO_MODEL {
            "they name no model: their traffic stands for this option's".to_string()
        } else {
            format!("`{}`", f.model)
        },
        h = f.peak_hour_utc,
        h1 = (f.peak_hour_utc + 1) % 24,
        minutes = thousands(f.peak_hour_minutes as f64),
        sim_minutes = e.measured_minutes,
        peak = e.peak_users,
        growth_factor = grown,
        growth = percent(e.monthly_growth),
        tpm50 = row("tokens, median minute", f.peak_hour_tpm_p50, f.tpm_p50, m.simulated_tpm_p50),
        tpm99 = row("tokens, p99 minute", f.peak_hour_tpm_p99, f.tpm_p99, m.simulated_tpm_p99),
        tpmmax = row("tokens, busiest minute", f.peak_hour_tpm_max, f.tpm_max, m.simulated_tpm_max),
        rpm99 = row("requests, p99 minute", f.peak_hour_rpm_p99, f.rpm_p99, m.simulated_rpm_p99),
    )
}

pub fn markdown(
    e: &QuotaEvidence,
    profile: &[String],
    slo: &SloLimits,
    generated_on: &str,
) -> String {
    let reach: String = profile.iter().map(|l| format!("\n\n- {l}")).collect();
    let title = if e.any_short() {
        "Quota increase request"
    } else {
        "Quota review (no increase needed)"
    };
    let share_of_knee = if e.knee_users > 0 {
        percent(f64::from(e.peak_users) / f64::from(e.knee_users))
    } else {
        "—".into()
    };
    let planning = if e.peak_users <= e.planned_users {
        "within the planning policy".to_string()
    } else {
        format!(
            "above the planning point of {} users: the peak leaves less than the policy's 40 % headroom",
            e.planned_users
        )
    };
    let access = match e.inference_profile {
        InferenceProfile::InRegion => "on demand in the Region (the bare model ID)".to_string(),
        InferenceProfile::Geographic => format!(
            "through a geographic cross-Region inference profile (called from {}, served in its geography's Regions)",
            e.region
        ),
        InferenceProfile::Global => format!(
            "through the global cross-Region inference profile (called from {}, served in any commercial Region); {}",
            e.region,
            crate::plan::quota::GLOBAL_NOTE
        ),
    };
    let rpm_line = match (e.check(QuotaName::Rpm), e.endpoint) {
        (Some(_), _) => thousands(e.peak_rpm),
        (None, InferenceEndpoint::Mantle) => {
            format!(
                "{} (bedrock-mantle has no RPM quota)",
                thousands(e.peak_rpm)
            )
        }
        (None, InferenceEndpoint::Runtime) => format!(
            "{} (no RPM quota stated: AWS no longer enforces RPM on bedrock-runtime)",
            thousands(e.peak_rpm)
        ),
    };
    let main_line = match e.endpoint {
        InferenceEndpoint::Runtime => format!(
            "| tokens per minute reserved at admission (input + max_tokens) | {} |\n",
            thousands(e.peak_tpm_reserved)
        ),
        InferenceEndpoint::Mantle => format!(
            "| input tokens per minute at admission (uncached input + max_tokens) | {} |\n\
             | output tokens per minute | {} |\n",
            thousands(
                e.check(QuotaName::InputTpm)
                    .map_or(0.0, |c| c.peak_p99_minute)
            ),
            thousands(
                e.check(QuotaName::OutputTpm)
                    .map_or(0.0, |c| c.peak_p99_minute)
            )
        ),
    };
    format!(
        "# {title}: {model} ({model_id}) on {host} in {region}\n\n\
         Generated by llmcap on {generated_on}.\n\n\
         ## Request\n\n\
         Model `{model_id}` ({model}), endpoint `{host}`, Region {region}, {access}.\n\n\
         {request}\n\
         | per request at the peak | value |\n| --- | --- |\n\
         | average input tokens | {mean_in} |\n\
         | of which read from the prompt cache | {cached} |\n\
         | average output tokens | {mean_out} |\n\
         | max_tokens sent | {max_tokens} |\n\
         | reserved at admission (average) | {reservation} |\n\
         | requests above 25,000 input tokens | {long} |\n\
         | expected growth | {growth} a month (the 6-month column above; the growth `llmcap forecast` uses) |\n\n\
         ## Use case\n\n{use_case}\n\n\
         ## Workload\n\n{workload}\n\n\
         ## Method\n\n\
         A discrete-event simulation of the peak hour replays the workload through a performance \
         profile of the model and Bedrock's quota semantics ({semantics}). Users start in the \
         steady phase of their think-time and session cycle; the first {warmup} s are a warm-up \
         left out of every figure, and percentiles are over {minutes} measured peak minutes (the \
         peak held for that long, as on several busy days, so the p99 minute is a p99 and not the \
         busiest minute of one hour). With \
         no quota in the way the SLO (p95 TTFT ≤ {ttft} s, p95 TPOT ≤ {tpot} s) holds up to \
         {at_least}{knee} users{searched}; the planning policy keeps load at or below 60 % of \
         that ({planned} users). The scenario's peak is {peak} users, {share_of_knee} of the knee: \
         {planning}.\n\n\
         The rule every verdict below follows: {rule}.\n\n\
         ## Calibration evidence\n\n{calibration}{reach}\n\n\
         ## Simulated peak at {peak} users (p99 minute, no quota in the way)\n\n\
         | measure | value |\n| --- | --- |\n\
         {main_line}\
         | tokens per minute charged (input − cache reads + output × burndown) | {charged} |\n\
         | requests per minute | {rpm} |\n\n\
         {measured}\
         ## Each quota: current against needed\n\n{checks}\n\
         ## The ask\n\n{ask}\n",
        measured = measured_section(e),
        model = e.model,
        model_id = e.model_id,
        host = e.endpoint.host(),
        region = e.region,
        request = request_table(e),
        mean_in = thousands(e.mean_input_tokens),
        cached = thousands(e.mean_cached_input_tokens),
        mean_out = thousands(e.mean_output_tokens),
        max_tokens = thousands(e.max_tokens),
        reservation = thousands(e.mean_reservation_tokens),
        long = percent(e.share_over_25k_input),
        growth = percent(e.monthly_growth),
        use_case = e.use_case,
        workload = e.workload,
        semantics = semantics(e),
        warmup = thousands(e.warmup_s),
        minutes = e.measured_minutes,
        ttft = slo.ttft_p95_s,
        tpot = slo.tpot_p95_s,
        knee = thousands(f64::from(e.knee_users)),
        at_least = if e.knee_at_search_limit {
            "at least "
        } else {
            ""
        },
        searched = if e.knee_at_search_limit {
            format!(
                " (the most simulated: {}× the peak, at most {} users)",
                crate::plan::simulate::SEARCH_LIMIT_FACTOR,
                thousands(f64::from(crate::plan::simulate::SEARCH_LIMIT_USERS))
            )
        } else {
            String::new()
        },
        planned = thousands(f64::from(e.planned_users)),
        peak = thousands(f64::from(e.peak_users)),
        calibration = e.calibration,
        main_line = main_line,
        charged = thousands(e.peak_tpm_charged),
        rpm = rpm_line,
        checks = checks_table(e),
        rule = crate::plan::quota::rule_sentence(),
        ask = ask_sentences(e),
    )
}
