//! Parsing a timestamped trace (CSV with a `timestamp_s` column, seconds, any origin) into
//! arrival times relative to its first row.

pub fn parse_times(text: &str, origin: &str) -> Result<Vec<f64>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| format!("{origin}: cannot read the header: {e}"))?
        .clone();
    let column = header.iter().position(|h| h == "timestamp_s").ok_or_else(|| {
        format!("{origin}: missing column `timestamp_s` (seconds since any origin, one row per request)")
    })?;
    let mut times = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("{origin}: line {}: {e}", row + 2))?;
        let cell = record.get(column).unwrap_or("");
        let t: f64 = cell
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite())
            .ok_or_else(|| {
                format!(
                    "{origin}: line {}, column `timestamp_s`: `{cell}` is not a number",
                    row + 2
                )
            })?;
        times.push(t);
    }
    if times.is_empty() {
        return Err(format!("{origin}: the trace has no rows"));
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
        assert!(super::parse_times("when\n1\n", "t.csv")
            .unwrap_err()
            .contains("timestamp_s"));
    }
}
