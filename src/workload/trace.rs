//! Parsing a timestamped trace (CSV with a `timestamp_s` column, seconds, any origin) into
//! arrival times relative to its first row.

use super::WorkloadError;

pub fn parse_times(text: &str, origin: &str) -> Result<Vec<f64>, WorkloadError> {
    let file = || origin.to_string();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|cause| WorkloadError::TraceHeader {
            origin: file(),
            cause,
        })?
        .clone();
    let column = header
        .iter()
        .position(|h| h == "timestamp_s")
        .ok_or_else(|| WorkloadError::TraceColumn { origin: file() })?;
    let mut times = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        let record = record.map_err(|cause| WorkloadError::TraceRow {
            origin: file(),
            line,
            cause,
        })?;
        let cell = record.get(column).unwrap_or("");
        let t: f64 = cell
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite())
            .ok_or_else(|| WorkloadError::TraceTime {
                origin: file(),
                line,
                cell: cell.to_string(),
            })?;
        times.push(t);
    }
    if times.is_empty() {
        return Err(WorkloadError::EmptyTrace { origin: file() });
    }
    times.sort_by(f64::total_cmp);
    let first = times[0];
    Ok(times.into_iter().map(|t| t - first).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn relative_sorted_times() {
        let times = super::parse_times("timestamp_s,x\n105.5,a\n100,b\n101,c\n", "t.csv").unwrap();
        assert_eq!(times, vec![0.0, 1.0, 5.5]);
        let error = super::parse_times("when\n1\n", "t.csv").unwrap_err();
        assert_eq!(
            error.to_string(),
            "t.csv: missing column `timestamp_s` (seconds since any origin, one row per request)"
        );
        let error = super::parse_times("timestamp_s\n1\nsoon\n", "t.csv").unwrap_err();
        assert_eq!(
            error.to_string(),
            "t.csv: line 3, column `timestamp_s`: `soon` is not a number"
        );
    }
}
