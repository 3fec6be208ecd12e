//! The measured half of llmcap: a short real benchmark against an endpoint (targets, sweep
//! runner, per-request records, run directory, spend guard) and the readers the fit uses.

pub mod auto;
pub mod delivered;
pub mod fixed_server;
pub mod input;
pub mod input_error;
pub mod manifest;
pub mod plausible;
pub mod prompt;
pub mod published_table;
pub mod record;
pub mod records;
pub mod reference_table;
pub mod run_dir;
pub mod runner;
pub mod spend;
pub mod stop;
pub mod summary;
pub mod sweep;
pub mod target;

pub use input_error::InputError;
