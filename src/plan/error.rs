//! What can go wrong while planning: every message names where (file, option, field) and the fix.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PlanError {
    /// The scenario cannot be read as TOML or breaks the schema.
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    /// A field holds a value the planner cannot use.
    #[error("{origin}: field `{field}` = {value}: {why}")]
    Field {
        origin: String,
        field: String,
        value: String,
        why: String,
    },
    /// An option cannot be planned as written (price, profile, hosting).
    #[error("{origin}: option `{option}`: {why}")]
    Option {
        origin: String,
        option: String,
        why: String,
    },
    /// A catalog or profile file could not be read.
    #[error("{0}")]
    Source(String),
    /// A simulation the planner built was refused (a bug, or a value validation missed).
    #[error("option `{option}`: simulation refused: {why}")]
    Simulation { option: String, why: String },
}

impl PlanError {
    pub fn field(origin: &str, field: &str, value: impl std::fmt::Display, why: &str) -> Self {
        PlanError::Field {
            origin: origin.to_string(),
            field: field.to_string(),
            value: value.to_string(),
            why: why.to_string(),
        }
    }

    pub fn option(origin: &str, option: &str, why: impl Into<String>) -> Self {
        PlanError::Option {
            origin: origin.to_string(),
            option: option.to_string(),
            why: why.into(),
        }
    }
}
