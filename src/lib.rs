//! llmcap: what an LLM deployment on Amazon Bedrock or SageMaker will hold, what quota it needs
//! and what it will really cost. See docs/DESIGN.md for the map of modules.
//!
//! Errors: library modules return `thiserror` enums whose messages are complete on their own
//! (the file, field or flag, what is wrong, the fix, and the underlying cause's text), so `{e}`
//! prints all of it; `anyhow` is used only at the edge (`commands`, `main`, `cli`), which adds
//! context. Percentiles everywhere follow one definition, in [`stats`].

// `!(x > 0.0)` is written on purpose throughout input validation: it rejects NaN as well.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod actual;
pub mod bounds;
pub mod calibrate;
pub mod cli;
pub mod commands;
pub mod cost;
pub mod emulate;
pub mod export;
pub mod files;
pub mod forecast;
pub mod format;
pub mod perf;
pub mod physics;
pub mod plan;
pub mod quota;
pub mod report;
pub mod sim;
pub mod stats;
pub mod timestamp;
pub mod uncertain;
pub mod verify;
pub mod workload;
