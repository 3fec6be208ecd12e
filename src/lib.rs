//! llmcap: what an LLM deployment on Amazon Bedrock or SageMaker will hold, what quota it needs
//! and what it will really cost. See DESIGN.md for the map of modules.

// `!(x > 0.0)` is written on purpose throughout input validation: it rejects NaN as well.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod calibrate;
pub mod cli;
pub mod commands;
pub mod cost;
pub mod emulate;
pub mod export;
pub mod files;
pub mod perf;
pub mod quota;
pub mod report;
pub mod sim;
pub mod stats;
pub mod workload;
