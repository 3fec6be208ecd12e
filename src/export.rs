//! Tables as files: CSV (csv crate) and Parquet (polars), written side by side, each through a
//! hidden partial file renamed into place so an interrupted write never leaves half a table.
//!
//! Low level on purpose: calibration writes its run tables here and reports their exports, so
//! neither depends on the other for it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::{Column, DataFrame, ParquetWriter, PolarsError};
use serde::Serialize;

/// Why a table could not be written; each names the table or the file and carries the cause's
/// text.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("table `{table}`: a row cannot be written as CSV: {cause}")]
    Row { table: String, cause: csv::Error },
    #[error(
        "table `{table}`: a row is not a flat record of numbers, strings and booleans: {cause}"
    )]
    Value {
        table: String,
        cause: serde_json::Error,
    },
    #[error("table `{table}`: cannot build its columns: {cause}")]
    Columns { table: String, cause: PolarsError },
    #[error("cannot write {}: {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot write {}: {cause}", path.display())]
    Parquet { path: PathBuf, cause: PolarsError },
    #[error(transparent)]
    File(#[from] crate::files::FileError),
}

/// Writes `rows` as `<stem>.csv` and `<stem>.parquet` in `dir` (created if missing). Every field
/// must be a number, a string, a boolean or an `Option` of one; the column order is the struct's
/// field order.
pub fn write_table<T: Serialize>(dir: &Path, stem: &str, rows: &[T]) -> Result<(), ExportError> {
    crate::files::create_dir(dir)?;
    let csv = csv_bytes(stem, rows)?;
    let csv_path = dir.join(format!("{stem}.csv"));
    replace(&csv_path, |file| {
        file.write_all(&csv)
            .map_err(|cause| write_error(&csv_path, cause))
    })?;
    let mut frame = to_frame(stem, rows)?;
    let parquet_path = dir.join(format!("{stem}.parquet"));
    replace(&parquet_path, |file| {
        ParquetWriter::new(file)
            .finish(&mut frame)
            .map(drop)
            .map_err(|cause| ExportError::Parquet {
                path: parquet_path.clone(),
                cause,
            })
    })
}

fn write_error(path: &Path, cause: std::io::Error) -> ExportError {
    ExportError::Write {
        path: path.to_path_buf(),
        cause,
    }
}

/// Writes `path` through `.<name>.partial` beside it, then renames it into place; only a
/// regular file or a new path is replaced (`files::replace_via`).
fn replace(
    path: &Path,
    write: impl FnOnce(&mut File) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    crate::files::replace_via(path, "", |partial| {
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .open(partial)
            .map_err(|cause| write_error(partial, cause))?;
        write(&mut file)
    })
}

/// The CSV text of `rows`, header first (no header when there are no rows).
fn csv_bytes<T: Serialize>(table: &str, rows: &[T]) -> Result<Vec<u8>, ExportError> {
    let row_error = |cause| ExportError::Row {
        table: table.to_string(),
        cause,
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row).map_err(row_error)?;
    }
    writer
        .into_inner()
        .map_err(|e| row_error(e.into_error().into()))
}

/// Columns from the serialised rows, keeping the field order of the header CSV would write.
fn to_frame<T: Serialize>(table: &str, rows: &[T]) -> Result<DataFrame, ExportError> {
    let values: Vec<serde_json::Value> = rows
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()
        .map_err(|cause| ExportError::Value {
            table: table.to_string(),
            cause,
        })?;
    let header = csv_bytes(table, &rows[..rows.len().min(1)])?;
    let names: Vec<String> = String::from_utf8_lossy(&header)
        .lines()
        .next()
        .filter(|line| !line.is_empty())
        .map(|line| line.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let columns = names.iter().map(|name| column(name, &values)).collect();
    DataFrame::new(rows.len(), columns).map_err(|cause| ExportError::Columns {
        table: table.to_string(),
        cause,
    })
}

/// One typed column. Nulls (a `None` field) stay nulls; a column is numeric or boolean when
/// every non-null cell is, so one missing value does not turn it into text.
fn column(name: &str, rows: &[serde_json::Value]) -> Column {
    let cells: Vec<&serde_json::Value> = rows.iter().map(|v| &v[name]).collect();
    let present = || cells.iter().filter(|c| !c.is_null());
    if present().all(|c| c.is_number()) {
        Column::new(
            name.into(),
            cells
                .iter()
                .map(|c| c.as_f64())
                .collect::<Vec<Option<f64>>>(),
        )
    } else if present().all(|c| c.is_boolean()) {
        Column::new(
            name.into(),
            cells
                .iter()
                .map(|c| c.as_bool())
                .collect::<Vec<Option<bool>>>(),
        )
    } else {
        Column::new(
            name.into(),
            cells
                .iter()
                .map(|c| match c {
                    serde_json::Value::Null => None,
                    serde_json::Value::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                })
                .collect::<Vec<Option<String>>>(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{DataType, ParquetReader, SerReader};

    #[derive(Serialize)]
    struct Row {
        id: u32,
        ttft_s: Option<f64>,
        ok: Option<bool>,
        note: String,
    }

    #[test]
    fn missing_values_stay_nulls_in_typed_columns() {
        let dir = tempfile::tempdir().unwrap();
        let rows = [
            Row {
                id: 1,
                ttft_s: Some(0.25),
                ok: Some(true),
                note: "a".into(),
            },
            Row {
                id: 2,
                ttft_s: None,
                ok: None,
                note: String::new(),
            },
        ];
        write_table(dir.path(), "t", &rows).unwrap();
        let file = std::fs::File::open(dir.path().join("t.parquet")).unwrap();
        let frame = ParquetReader::new(file).finish().unwrap();
        let ttft = frame.column("ttft_s").unwrap();
        assert_eq!(ttft.dtype(), &DataType::Float64);
        assert_eq!(ttft.null_count(), 1);
        assert_eq!(frame.column("ok").unwrap().dtype(), &DataType::Boolean);
        assert_eq!(frame.column("note").unwrap().dtype(), &DataType::String);
        let csv = std::fs::read_to_string(dir.path().join("t.csv")).unwrap();
        assert_eq!(csv.lines().nth(2), Some("2,,,"));
        let hidden: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .collect();
        assert!(hidden.is_empty(), "no partial files left: {hidden:?}");
    }

    #[test]
    fn an_unwritable_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let error = write_table(&blocker.join("sub"), "t", &[1_u32]).unwrap_err();
        assert!(error.to_string().contains("file/sub"), "{error}");
    }
}
