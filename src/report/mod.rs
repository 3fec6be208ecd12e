//! What people read: terminal tables, CSV/Parquet exports, charts, and HTML/markdown reports.

pub mod calibration_table;
pub mod charts;
pub mod document;
pub mod export;
pub mod plan_report;
pub mod plan_text;
pub mod quota_request;
pub mod run_report;
pub mod tables;

/// Number formatting lives below every module that prints; re-exported for the reports.
pub use crate::format;
