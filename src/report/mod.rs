//! What people read: terminal tables, charts, and HTML/markdown reports (their tables are
//! written by [`crate::export`]).

pub mod calibration_table;
pub mod charts;
pub mod document;
pub mod error;
pub mod plan_report;
pub mod plan_text;
pub mod quota_request;
pub mod run_report;
pub mod tables;
pub mod verify;

/// Number formatting lives below every module that prints; re-exported for the reports.
pub use crate::format;

pub use error::ReportError;
