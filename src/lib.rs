//! llmcap: what an LLM deployment on Amazon Bedrock or SageMaker will hold, what quota it needs
//! and what it will really cost. See DESIGN.md for the map of modules.

pub mod calibrate;
pub mod cli;
pub mod commands;
pub mod files;
pub mod perf;
pub mod quota;
pub mod report;
