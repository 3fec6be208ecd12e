//! Why a chart could not be drawn or written.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// plotters refused to draw; its message.
    #[error("drawing failed: {0}")]
    Drawing(String),
    /// Drawing or writing one of the chart's files failed.
    #[error("{}: drawing failed: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// Creating the directory or writing a file failed.
    #[error(transparent)]
    Write(#[from] crate::files::FileError),
}

impl ChartError {
    /// The same failure, naming the file it was drawing.
    pub(super) fn in_file(self, path: &Path) -> ChartError {
        match self {
            ChartError::Drawing(message) => ChartError::File {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        }
    }
}

/// Turns a plotters error into a [`ChartError`].
pub fn drawing<E: std::fmt::Display>(error: E) -> ChartError {
    ChartError::Drawing(error.to_string())
}
