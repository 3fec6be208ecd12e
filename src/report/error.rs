//! Why a report could not be written: its inputs could not be read, or one of its files could
//! not be drawn or written. Each message names the file.

use std::path::PathBuf;

use super::charts::ChartError;
use crate::calibrate::run_dir::RunDirError;
use crate::export::ExportError;
use crate::files::FileError;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "{} holds no requests; run `llmcap calibrate --out {}` first",
        requests.display(),
        run.display()
    )]
    NoRequests { requests: PathBuf, run: PathBuf },
    /// A figure's PNG, to embed in the HTML page.
    #[error("cannot read {}: {cause}", path.display())]
    Figure {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// A plan directory whose plan.json cannot be read back into the planner's types.
    #[error("{}: {why}", path.display())]
    Plan { path: PathBuf, why: String },
    #[error("cannot create {}: {cause}", path.display())]
    Directory {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(transparent)]
    Records(#[from] RunDirError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Chart(#[from] ChartError),
}
