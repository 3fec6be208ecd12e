//! Tables as files: CSV (csv crate) and Parquet (polars), written atomically side by side.

use std::path::Path;

use anyhow::{anyhow, Result};
use polars::prelude::{Column, DataFrame, ParquetWriter};
use serde::Serialize;

use crate::files::write_atomically;

/// Writes `rows` as `<stem>.csv` and `<stem>.parquet` in `dir`. Every field must be a number,
/// a string or a boolean; the column order is the struct's field order.
pub fn write_table<T: Serialize>(dir: &Path, stem: &str, rows: &[T]) -> Result<()> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row)?;
    }
    let csv = String::from_utf8(writer.into_inner().map_err(|e| anyhow!("{e}"))?)?;
    write_atomically(&dir.join(format!("{stem}.csv")), &csv)?;

    let mut frame = to_frame(rows)?;
    let path = dir.join(format!("{stem}.parquet"));
    let partial = dir.join(format!(".{stem}.parquet.partial"));
    let file = std::fs::File::create(&partial)
        .map_err(|e| anyhow!("cannot write {}: {e}", partial.display()))?;
    ParquetWriter::new(file)
        .finish(&mut frame)
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    std::fs::rename(&partial, &path).map_err(|e| anyhow!("cannot write {}: {e}", path.display()))
}

/// Columns from the serialised rows, keeping the field order of the header CSV would write.
fn to_frame<T: Serialize>(rows: &[T]) -> Result<DataFrame> {
    let values: Vec<serde_json::Value> = rows
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    let mut header = csv::Writer::from_writer(Vec::new());
    let names: Vec<String> = match rows.first() {
        Some(first) => {
            header.serialize(first)?;
            let text = String::from_utf8(header.into_inner().map_err(|e| anyhow!("{e}"))?)?;
            text.lines()
                .next()
                .unwrap_or("")
                .split(',')
                .map(str::to_string)
                .collect()
        }
        None => Vec::new(),
    };
    let mut columns = Vec::new();
    for name in &names {
        let cells: Vec<&serde_json::Value> = values.iter().map(|v| &v[name.as_str()]).collect();
        let column = if cells.iter().all(|c| c.is_number()) {
            Column::new(
                name.as_str().into(),
                cells
                    .iter()
                    .map(|c| c.as_f64().unwrap_or(f64::NAN))
                    .collect::<Vec<f64>>(),
            )
        } else if cells.iter().all(|c| c.is_boolean()) {
            Column::new(
                name.as_str().into(),
                cells
                    .iter()
                    .map(|c| c.as_bool().unwrap_or(false))
                    .collect::<Vec<bool>>(),
            )
        } else {
            Column::new(
                name.as_str().into(),
                cells
                    .iter()
                    .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string))
                    .collect::<Vec<String>>(),
            )
        };
        columns.push(column);
    }
    DataFrame::new(rows.len(), columns).map_err(|e| anyhow!("{e}"))
}
