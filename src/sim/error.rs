//! Why a simulation cannot run: its scenario does not parse, or a setting is out of range.

use crate::workload::WorkloadError;

/// Each message is complete on its own: it names the setting and the rule it breaks.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// `field` holds `value`, which breaks `rule` (e.g. "≥ 1").
    #[error("{field} = {value}: must be {rule}")]
    OutOfRange {
        field: &'static str,
        value: f64,
        rule: &'static str,
    },
    #[error("sagemaker autoscaling: need 1 ≤ min ({min}) ≤ max ({max}) and target > 0 (target = {target})")]
    Autoscaling { min: u32, max: u32, target: f64 },
    /// More work than a simulation takes on: `field` (or what it implies) is over `limit`.
    #[error("{field} = {value}: more than the limit of {limit}; {why}")]
    TooLarge {
        field: &'static str,
        value: String,
        limit: String,
        why: &'static str,
    },
    /// A scenario file that is not valid TOML or has an unknown or missing field.
    #[error("{0}")]
    Scenario(toml::de::Error),
}

impl SimError {
    pub(crate) fn out_of_range(field: &'static str, value: f64, rule: &'static str) -> SimError {
        SimError::OutOfRange { field, value, rule }
    }
}
