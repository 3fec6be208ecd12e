//! A workload learned from request logs (`llmcap workload fit`). Pure: the command reads the
//! files, gunzips them and hands over one line at a time; here a line becomes a [`LogRecord`]
//! (or a named reason to skip it), records stream into a [`Traffic`] accumulator whose memory does
//! not grow with their number, and [`fit::fit`] turns the accumulator into a [`FittedWorkload`]
//! with its TOML text.

pub mod error;
pub mod fit;
pub mod record;
pub mod traffic;

pub use error::{LogError, Skip, SkipReason};
pub use fit::{fit, FittedWorkload};
pub use record::{CsvColumns, LogFormat, LogRecord};
pub use traffic::Traffic;
