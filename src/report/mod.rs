//! What people read: terminal tables, CSV/Parquet exports, charts, and HTML/markdown reports.

pub mod calibration_table;
pub mod charts;
pub mod document;
pub mod export;
pub mod plan_report;
pub mod run_report;
pub mod tables;
