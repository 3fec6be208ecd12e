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
        // Nulls (a `None` field) stay nulls in a typed column; a column is numeric or boolean
        // when every non-null cell is, so one missing value does not turn it into text.
        let present = || cells.iter().filter(|c| !c.is_null());
        let column = if present().all(|c| c.is_number()) {
            Column::new(
                name.as_str().into(),
                cells
                    .iter()
                    .map(|c| c.as_f64())
                    .collect::<Vec<Option<f64>>>(),
            )
        } else if present().all(|c| c.is_boolean()) {
            Column::new(
                name.as_str().into(),
                cells
                    .iter()
                    .map(|c| c.as_bool())
                    .collect::<Vec<Option<bool>>>(),
            )
        } else {
            Column::new(
                name.as_str().into(),
                cells
                    .iter()
                    .map(|c| match c {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    })
                    .collect::<Vec<Option<String>>>(),
            )
        };
        columns.push(column);
    }
    DataFrame::new(rows.len(), columns).map_err(|e| anyhow!("{e}"))
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
    }
}
