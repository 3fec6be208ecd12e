//! The measured half of llmcap: calibration records and the tables they are read from.

pub mod input;
pub mod records;
pub mod reference_table;

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
