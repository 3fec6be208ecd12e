//! Why a record was skipped, and why a whole set of logs could not be learned from.

use serde::Serialize;

/// Why one line of a log is not used. Ordered as the summary lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Not a JSON object (a JSON-lines file), or bytes that are not UTF-8.
    NotJson,
    /// JSON whose fields have the wrong types (an `input` that is a string, …).
    WrongShape,
    /// A Bedrock log record that is not a model invocation (`schemaType` other than
    /// `ModelInvocationLog`, e.g. the permission-check object Bedrock writes to a new bucket).
    NotInvocation,
    /// Neither the Bedrock, the OpenAI nor the CSV token counts.
    NoTokenCounts,
    /// A token count that is not a finite number in 0 ..= 2,000,000.
    BadTokenCount,
    /// No timestamp field.
    NoTimestamp,
    /// A timestamp that is neither ISO 8601 nor seconds since 1970.
    BadTimestamp,
    /// A CSV row with fewer fields than the header names, or an unclosed quote.
    BadCsvRow,
    /// A CSV file whose first line lacks `timestamp`, `input_tokens` or `output_tokens`.
    BadCsvHeader,
    /// A line longer than the reader holds (the rest of the line is discarded unread).
    TooLong,
    /// The rest of a file that could not be read (a gzip stream cut short, an I/O error): the
    /// records before it are kept, the next file is read.
    Unreadable,
}

impl SkipReason {
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::NotJson => "not JSON",
            SkipReason::WrongShape => "fields of the wrong type",
            SkipReason::NotInvocation => "not a model invocation",
            SkipReason::NoTokenCounts => "no token counts",
            SkipReason::BadTokenCount => "token count out of range",
            SkipReason::NoTimestamp => "no timestamp",
            SkipReason::BadTimestamp => "bad timestamp",
            SkipReason::BadCsvRow => "malformed CSV row",
            SkipReason::BadCsvHeader => "CSV header without timestamp,input_tokens,output_tokens",
            SkipReason::TooLong => "line too long",
            SkipReason::Unreadable => "rest of file unreadable",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One record not used: the reason, and what was wrong in words (`outputTokenCount is -3`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct Skip {
    pub reason: SkipReason,
    pub detail: String,
}

impl Skip {
    pub fn new(reason: SkipReason, detail: impl Into<String>) -> Skip {
        Skip {
            reason,
            detail: detail.into(),
        }
    }
}

/// Why logs could not be learned from at all.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LogError {
    /// Every record was skipped (or there were none): the files and the reasons, with lines.
    #[error("no usable request record in {files}{}", if skipped.is_empty() { String::from(" (no records at all)") } else { format!(": skipped {skipped}") })]
    NothingUsable { files: String, skipped: String },
}
