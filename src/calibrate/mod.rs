//! The measured half of llmcap: a short real benchmark against an endpoint (targets, sweep
//! runner, per-request records, run directory, spend guard) and the readers the fit uses.

pub mod fixed_server;
pub mod input;
pub mod manifest;
pub mod prompt;
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

use std::fmt;

/// Bad input from a file: which file, where, what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    pub origin: String,
    pub message: String,
}

impl InputError {
    pub fn new(origin: &str, message: impl Into<String>) -> InputError {
        InputError {
            origin: origin.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

impl std::error::Error for InputError {}
