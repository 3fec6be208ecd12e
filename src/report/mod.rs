//! What people read: terminal tables, charts, and HTML/markdown reports (their tables are
//! written by [`crate::export`]).

pub mod calibration_table;
pub mod charts;
pub mod document;
pub mod error;
pub mod plan_report;
pub mod run_report;
pub mod tables;

pub use error::ReportError;

// The table writer moved to `crate::export` (calibration uses it too); `plan_report` still
// reaches it as `super::export` until it moves.
pub use crate::export;
