//! What can be wrong with a workload: a parameter out of range (named by its field, with the
//! rule it breaks) or a trace file that cannot be read (named by its file, line and column).

/// Why a workload or an arrival trace is unusable. Each message is complete on its own: it
/// names the field or the file and what would fix it.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// `field` holds `value`, which breaks `rule` (e.g. "a finite number > 0").
    #[error("{field} = {value}: must be {rule}")]
    OutOfRange {
        field: String,
        value: f64,
        rule: &'static str,
    },
    #[error("{field}: min {min} > max {max}; swap them")]
    MinAboveMax { field: String, min: f64, max: f64 },
    #[error("{field}.values is empty: give at least one observed length")]
    NoLengths { field: String },
    #[error("{field} = {prefix}: longer than {within}; {fix}")]
    PrefixTooLong {
        field: String,
        prefix: f64,
        within: String,
        fix: &'static str,
    },
    #[error("{field}: {why}")]
    Invalid { field: String, why: String },
    #[error("{field}.points: {why}")]
    Quantiles { field: String, why: String },
    #[error("arrival rate {rate}/s: must be a finite number > 0")]
    Rate { rate: f64 },
    #[error("trace arrival times must be sorted ascending")]
    UnsortedTrace,
    #[error("{origin}: cannot read the header: {cause}")]
    TraceHeader { origin: String, cause: csv::Error },
    #[error(
        "{origin}: missing column `timestamp_s` (seconds since any origin, one row per request)"
    )]
    TraceColumn { origin: String },
    #[error("{origin}: line {line}: {cause}")]
    TraceRow {
        origin: String,
        line: usize,
        cause: csv::Error,
    },
    #[error("{origin}: line {line}, column `timestamp_s`: `{cell}` is not a number")]
    TraceTime {
        origin: String,
        line: usize,
        cell: String,
    },
    #[error("{origin}: the trace has no rows")]
    EmptyTrace { origin: String },
}

impl WorkloadError {
    pub(crate) fn out_of_range(field: impl Into<String>, value: f64, rule: &'static str) -> Self {
        WorkloadError::OutOfRange {
            field: field.into(),
            value,
            rule,
        }
    }
}
