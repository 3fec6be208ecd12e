use thiserror::Error;

/// Why a fit or a prediction could not be made. Each message names the problem and the fix.
#[derive(Debug, Error, PartialEq)]
pub enum PerfError {
    #[error("no usable measurements: {0}")]
    Empty(String),
    #[error(
        "only one concurrency level (n = {0}) was measured: the decay with concurrency cannot be \
         fitted. Measure at least two levels (three or more for leave-one-level-out), e.g. 1,10,30"
    )]
    OneLevel(f64),
    #[error(
        "{field} = {value} at concurrency {concurrency}, prompt {prompt_tokens} tokens: {fix}"
    )]
    BadValue {
        field: &'static str,
        value: f64,
        concurrency: f64,
        prompt_tokens: f64,
        fix: &'static str,
    },
    #[error("{0}")]
    BadRequest(String),
    /// A profile file that is not valid TOML or lacks a field.
    #[error("{0}")]
    ProfileToml(toml::de::Error),
    #[error("{name} range {low}..{high}: need 0 < low ≤ high")]
    BadRange {
        name: &'static str,
        low: f64,
        high: f64,
    },
    #[error("max concurrency {0}: must be a finite number > 1")]
    MaxConcurrency(f64),
    #[error("--max-prompt-tokens {0}: must be a finite number ≥ 1 (the longest prompt the ranges cover)")]
    MaxPromptTokens(f64),
}
