//! The quota a Bedrock option needs at the planned peak, and the evidence behind each ask.
//!
//! Policy (one rule, stated in every quota document and applied to every row): a quota is
//! **short** when what the plan needs — the steady peak's p99 minute × `HEADROOM`, rounded up to
//! a tidy step — exceeds the current value, or when the simulated peak throttles at the current
//! value (bursts inside a minute). A short quota is asked for: the need, or (bursts only) the
//! current value × `HEADROOM`; the peak is simulated again at the ask to show what it buys.
//! The p99 minute is taken over [`crate::plan::simulate::QUOTA_EVIDENCE_MINUTES`] steady peak
//! minutes, with a 90 % interval from a block bootstrap over hours.

use serde::{Deserialize, Serialize};

use super::scenario::InferenceProfile;
use crate::quota::InferenceEndpoint;

/// What the quota documents say of a global profile's entry, whose name the user guide does
/// not spell out.
pub const GLOBAL_NOTE: &str = "the Bedrock User Guide (read 2026-11-30) names the on-demand and cross-Region entries; the global profile's own entry is named here by the same pattern — search Service Quotas for the model's name to confirm it before filing";

/// Headroom on the simulated p99 minute when asking for a quota.
pub const HEADROOM: f64 = 1.25;
/// Asks are rounded up to these steps.
pub const TPM_STEP: f64 = 10_000.0;
pub const RPM_STEP: f64 = 10.0;

/// Rounds up to the next multiple of `step`.
pub fn tidy(value: f64, step: f64) -> f64 {
    (value / step).ceil() * step
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaName {
    /// bedrock-runtime tokens per minute (input + max_tokens reserved at the start, settled at
    /// the end).
    Tpm,
    /// bedrock-runtime requests per minute (where the account still has the quota).
    Rpm,
    /// bedrock-mantle input tokens per minute (uncached input + max_tokens at admission).
    InputTpm,
    /// bedrock-mantle output tokens per minute.
    OutputTpm,
}

impl QuotaName {
    pub fn label(self) -> &'static str {
        match self {
            QuotaName::Tpm => "tokens per minute",
            QuotaName::Rpm => "requests per minute",
            QuotaName::InputTpm => "input tokens per minute",
            QuotaName::OutputTpm => "output tokens per minute",
        }
    }
    pub fn short_label(self) -> &'static str {
        match self {
            QuotaName::Tpm => "TPM",
            QuotaName::Rpm => "RPM",
            QuotaName::InputTpm => "input TPM",
            QuotaName::OutputTpm => "output TPM",
        }
    }

    fn step(self) -> f64 {
        match self {
            QuotaName::Rpm => RPM_STEP,
            _ => TPM_STEP,
        }
    }

    /// The quota's name in Service Quotas (AWS Bedrock User Guide, "Quotas for the
    /// bedrock-runtime endpoint" and "Quotas for the bedrock-mantle endpoint", read
    /// 2026-11-30), for the model's display name and the way it is reached. The guide names
    /// the on-demand and cross-Region entries; a global profile's entry is listed apart in the
    /// Service Quotas console under the same pattern with "Global" before it (`GLOBAL_NOTE`).
    pub fn service_quota_name(self, model: &str, profile: InferenceProfile) -> String {
        use InferenceProfile::{Geographic, Global, InRegion};
        match (self, profile) {
            (QuotaName::Tpm, InRegion) => {
                format!("On-demand InvokeModel tokens per minute for {model}")
            }
            (QuotaName::Tpm, Geographic) => {
                format!("Cross-Region InvokeModel tokens per minute for {model}")
            }
            (QuotaName::Tpm, Global) => {
                format!("Global cross-Region InvokeModel tokens per minute for {model}")
            }
            (QuotaName::Rpm, InRegion) => {
                format!("On-demand InvokeModel requests per minute for {model}")
            }
            (QuotaName::Rpm, Geographic) => {
                format!("Cross-Region InvokeModel requests per minute for {model}")
            }
            (QuotaName::Rpm, Global) => {
                format!("Global cross-Region InvokeModel requests per minute for {model}")
            }
            (QuotaName::InputTpm, _) => {
                format!("Bedrock Mantle input tokens per minute for {model}")
            }
            (QuotaName::OutputTpm, _) => {
                format!("Bedrock Mantle output tokens per minute for {model}")
            }
        }
    }
}

/// One quota: current value, what the peak uses, and the ask if it is short.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuotaCheck {
    pub quota: QuotaName,
    /// Its name in Service Quotas.
    pub service_quota_name: String,
    pub current: f64,
    /// The steady peak's p99 minute with no quota in the way. TPM: the larger of reserved at
    /// starts and charged at ends; input TPM: uncached input and max_tokens at starts; output
    /// TPM: output tokens; RPM: requests started.
    pub peak_p99_minute: f64,
    /// The peak hour's median minute (the steady state AWS asks for beside the peak).
    #[serde(default)]
    pub peak_p50_minute: f64,
    /// The p99 minute's 90 % interval (block bootstrap over hours of the simulated peak) and
    /// the number of peak minutes it is over.
    #[serde(default)]
    pub peak_p99_interval: [f64; 2],
    #[serde(default)]
    pub minutes: u32,
    /// The peak's p99 minute × `HEADROOM`, rounded up: what the headroom policy needs.
    pub needed: f64,
    /// Share of attempts throttled at the planned peak with this quota at its current value
    /// (and the other quota out of the way).
    pub throttle_rate_at_current: f64,
    /// The need exceeds the current value, or the peak throttles at it: the rule for an ask.
    pub short: bool,
    /// The ask (when short).
    pub requested: Option<f64>,
    /// What the minutes count, where a quota is counted two ways (bedrock-runtime's TPM:
    /// "reserved at admission" or "charged at settlement", whichever the p99 is larger for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
}

impl QuotaCheck {
    /// Decides on one quota from the simulated evidence.
    pub fn decide(
        quota: QuotaName,
        service_quota_name: String,
        current: f64,
        peak_p99_minute: f64,
        throttle_rate_at_current: f64,
    ) -> QuotaCheck {
        let step = quota.step();
        let needed = tidy(peak_p99_minute * HEADROOM, step);
        let short = needed > current || throttle_rate_at_current > 0.0;
        let requested = short.then(|| {
            if needed > current {
                needed
            } else {
                tidy(current * HEADROOM, step).max(current + step)
            }
        });
        QuotaCheck {
            quota,
            service_quota_name,
            current,
            peak_p50_minute: 0.0,
            peak_p99_minute,
            peak_p99_interval: [peak_p99_minute, peak_p99_minute],
            minutes: 0,
            needed,
            throttle_rate_at_current,
            short,
            requested,
            measure: None,
        }
    }

    /// The quota's label with what its minutes count: "tokens per minute (charged at
    /// settlement)".
    pub fn measured_label(&self) -> String {
        match &self.measure {
            Some(m) => format!("{} ({m})", self.quota.label()),
            None => self.quota.label().to_string(),
        }
    }

    /// The value the plan runs at: the ask if there is one, else the current value.
    pub fn planned(&self) -> f64 {
        self.requested.unwrap_or(self.current)
    }
}

/// Everything a quota-increase request for one Bedrock option states.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuotaEvidence {
    pub option: String,
    pub model_id: String,
    /// The model's display name (catalog/models.toml), as Service Quotas names it.
    pub model: String,
    pub endpoint: InferenceEndpoint,
    /// On demand in the Region, or through a geographic or global cross-Region inference
    /// profile: each has its own quota.
    pub inference_profile: InferenceProfile,
    pub region: String,
    pub use_case: String,
    pub workload: String,
    pub calibration: String,
    /// The scenario's peak-hour users, simulated.
    pub peak_users: u32,
    /// The most users meeting the SLO with no quota in the way, and the planning point (60 %).
    pub knee_users: u32,
    /// The SLO still held at the most users searched: the knee is at least `knee_users`.
    pub knee_at_search_limit: bool,
    pub planned_users: u32,
    /// Warm-up left out, and the measured minutes the percentiles are over.
    pub warmup_s: f64,
    pub measured_minutes: u32,
    pub peak_tpm_charged: f64,
    /// The peak's p99 minute of tokens reserved at admission (input + max_tokens) and of
    /// requests started.
    pub peak_tpm_reserved: f64,
    pub peak_rpm: f64,
    pub headroom: f64,
    /// Per request at the peak: mean input tokens (cached prefix included), of which read
    /// from the prompt cache, mean output tokens, max_tokens as sent, and what admission
    /// reserves (runtime: input + max_tokens; mantle: uncached input + max_tokens).
    pub mean_input_tokens: f64,
    pub mean_cached_input_tokens: f64,
    pub mean_output_tokens: f64,
    pub max_tokens: f64,
    pub mean_reservation_tokens: f64,
    /// Quota tokens charged per output token (bedrock-runtime), with its source.
    pub output_burndown: f64,
    pub burndown_source: String,
    /// Share of requests with more than 25,000 input tokens (AWS asks for it).
    pub share_over_25k_input: f64,
    /// Expected growth a month and the p99 minute it implies six months on, per quota.
    pub monthly_growth: f64,
    /// Each quota: TPM (and RPM where enforced) on bedrock-runtime; input and output TPM on
    /// bedrock-mantle.
    pub checks: Vec<QuotaCheck>,
    /// Share of attempts throttled at the peak with both quotas at their current values, and
    /// with both at the planned values (asks where short).
    pub throttle_rate_current: f64,
    pub throttle_rate_planned: f64,
    pub error_rate_current: f64,
    pub error_rate_planned: f64,
    /// What the logs the workload was learned from measured for this model, beside the
    /// simulated peak's same figures (none when the workload has no `[measured]` for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<MeasuredBeside>,
}

/// Per-minute traffic measured in request logs beside the simulated peak's: tokens sent and
/// received (input, cached included, + output) and requests, per minute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasuredBeside {
    /// "4,843 records over 4.33 days (learned from logs.jsonl.gz)".
    pub source: String,
    pub figures: crate::workload::logs::fit::ModelMinutes,
    /// The simulated peak's minutes: tokens (input + output) p50, p99 and max; requests p99.
    pub simulated_tpm_p50: f64,
    pub simulated_tpm_p99: f64,
    pub simulated_tpm_max: f64,
    pub simulated_rpm_p99: f64,
}

/// The measured figures of `model_id` in `measured`, matching with any inference-profile
/// prefix removed from either side (`cost::catalog::base_model_id`); logs that name no model
/// at all stand for every option's.
pub fn measured_for<'a>(
    measured: &'a crate::workload::logs::fit::Measured,
    model_id: &str,
) -> Option<&'a crate::workload::logs::fit::ModelMinutes> {
    let bare = crate::cost::catalog::base_model_id;
    let wanted = bare(model_id);
    measured
        .models
        .iter()
        .find(|m| bare(&m.model) == wanted)
        // Logs that name no model describe the traffic whichever model serves it.
        .or_else(|| match measured.models.as_slice() {
            [only] if only.model == crate::workload::logs::traffic::NO_MODEL => Some(only),
            _ => None,
        })
}

impl QuotaEvidence {
    pub fn checks(&self) -> impl Iterator<Item = &QuotaCheck> {
        self.checks.iter()
    }

    pub fn check(&self, quota: QuotaName) -> Option<&QuotaCheck> {
        self.checks.iter().find(|c| c.quota == quota)
    }

    pub fn any_short(&self) -> bool {
        self.checks().any(|c| c.short)
    }

    /// The check the headline figures use: TPM on bedrock-runtime, input TPM on bedrock-mantle.
    pub fn main_check(&self) -> &QuotaCheck {
        &self.checks[0]
    }

    /// The p99 minute six months on at the scenario's growth.
    pub fn in_six_months(&self, c: &QuotaCheck) -> f64 {
        c.peak_p99_minute * (1.0 + self.monthly_growth).powi(6)
    }
}

/// The rule every verdict follows, in the documents' words.
pub fn rule_sentence() -> String {
    format!(
        "a quota is short, and asked for, when what the plan needs — the simulated peak's p99 \
         minute × {HEADROOM} headroom, rounded up — exceeds its current value, or when the \
         simulated peak throttles at its current value (bursts inside a minute; each quota \
         simulated with the others out of the way); the ask is the need (for bursts alone, the \
         current value × {HEADROOM}). Otherwise it is sufficient"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_is_asked_for_when_the_need_exceeds_it_or_the_peak_throttles() {
        // The p99 minute fits well under the quota and nothing was throttled: no ask.
        let fine = QuotaCheck::decide(QuotaName::Tpm, "q".into(), 600_000.0, 150_000.0, 0.0);
        assert!(!fine.short && fine.requested.is_none());
        assert_eq!(fine.planned(), 600_000.0);
        // Nothing throttled, but the need (599,040 × 1.25 → 750,000) exceeds 600,000: ask.
        let tight = QuotaCheck::decide(QuotaName::Tpm, "q".into(), 600_000.0, 599_040.0, 0.0);
        assert!(tight.short);
        assert_eq!(tight.requested, Some(750_000.0));
        // Throttled: ask for p99 × 1.25 rounded up to 10,000 (412,345 × 1.25 = 515,431).
        let short = QuotaCheck::decide(QuotaName::Tpm, "q".into(), 300_000.0, 412_345.0, 0.02);
        assert_eq!(short.requested, Some(520_000.0));
        // Throttled by bursts although the p99 minute fits: 25 % over the current value.
        let bursty = QuotaCheck::decide(QuotaName::Rpm, "q".into(), 800.0, 600.0, 0.001);
        assert_eq!(bursty.requested, Some(1_000.0));
    }
}
