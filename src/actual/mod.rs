//! Plan against real usage: Amazon Bedrock's CloudWatch metrics (the JSON `aws cloudwatch
//! get-metric-data` prints) and a Cost and Usage Report 2.0, read into typed series
//! (`cloudwatch.rs`, `cur.rs`) and compared with a plan, with the workload re-fitted from what
//! was measured (`compare.rs`). Pure: callers read the files and pass their contents in (a
//! Parquet CUR is passed as a polars frame).

pub mod cloudwatch;
pub mod compare;
pub mod cur;
mod error;

pub use error::ActualError;

/// A number as a message shows it: plainly, or in exponent form when very large or small
/// (`1e308`, not 309 digits).
pub fn shown(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-3..1e6).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}
