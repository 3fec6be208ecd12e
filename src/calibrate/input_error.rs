//! Bad measurements from a file: which file (`origin`), where (line and column), what is wrong
//! and how to fix it.

use std::path::PathBuf;

/// Why a run directory, a records CSV or a table of medians cannot be read. Each message starts
/// with the file.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(
        "cannot read {}; expected a run directory with requests.csv, a records CSV or a table \
         of medians: {cause}",
        path.display()
    )]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot read {}: {cause}", path.display())]
    ReadManifest {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{} is not valid JSON: {cause}", path.display())]
    Manifest {
        path: PathBuf,
        cause: serde_json::Error,
    },
    #[error("{origin}: cannot read the header: {cause}")]
    Header { origin: String, cause: csv::Error },
    /// `needs` lists what the file must have, e.g. "per-request records need concurrency, …".
    #[error("{origin}: missing column `{column}`; {needs}")]
    MissingColumn {
        origin: String,
        column: &'static str,
        needs: String,
    },
    /// `expected` lists the columns the format has.
    #[error("{origin}: unknown column `{column}`; {expected}")]
    UnknownColumn {
        origin: String,
        column: String,
        expected: String,
    },
    #[error("{origin}: line {line}: {cause}")]
    Row {
        origin: String,
        line: usize,
        cause: csv::Error,
    },
    /// One cell: `problem` says what is wrong with it and, where there is one, the fix.
    #[error("{origin}: line {line}, column `{column}`: {problem}")]
    Cell {
        origin: String,
        line: usize,
        column: String,
        problem: String,
    },
    #[error("{origin}: no successful requests ({skipped} rows with a status other than ok)")]
    NoSuccessfulRequests { origin: String, skipped: usize },
    #[error("{origin}: the table has a header but no data rows")]
    NoDataRows { origin: String },
    #[error(
        "{origin}: lines {first_line} and {second_line} are both concurrency {concurrency}, \
         {prompt_tokens} prompt and {output_tokens} output tokens with different medians; keep \
         one (or give the other a different operating point)"
    )]
    ConflictingLevels {
        origin: String,
        first_line: usize,
        second_line: usize,
        concurrency: f64,
        prompt_tokens: f64,
        output_tokens: f64,
    },
    #[error(
        "{origin}: lines {first_line} and {second_line} both record request {request_id} with \
         different measurements; the file holds two runs' records: fit each run on its own"
    )]
    ConflictingRecords {
        origin: String,
        first_line: usize,
        second_line: usize,
        request_id: u64,
    },
}

impl InputError {
    pub fn header(origin: &str, cause: csv::Error) -> InputError {
        InputError::Header {
            origin: origin.to_string(),
            cause,
        }
    }

    pub fn row(origin: &str, line: usize, cause: csv::Error) -> InputError {
        InputError::Row {
            origin: origin.to_string(),
            line,
            cause,
        }
    }

    pub fn cell(origin: &str, line: usize, column: &str, problem: impl Into<String>) -> InputError {
        InputError::Cell {
            origin: origin.to_string(),
            line,
            column: column.to_string(),
            problem: problem.into(),
        }
    }
}
