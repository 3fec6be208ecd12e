//! Reading an aggregate table of level medians, in the format of
//! `calibration/reference/seed002_bedrock_llama33_70b.csv`:
//! one row per (prompt size, concurrency) with median tokens/s per request and a TTFT range.

use crate::perf::levels::merge_duplicate_levels;
use crate::perf::Level;

use super::InputError;

/// Columns a table must have.
const REQUIRED: [&str; 5] = [
    "input_tokens",
    "max_output_tokens",
    "concurrency",
    "median_tps_per_request",
    "median_ttft_s_low",
];
/// Columns a table may have.
const OPTIONAL: [&str; 4] = ["prompt_class", "system_tps", "median_ttft_s_high", "note"];

/// True when a CSV header looks like an aggregate table rather than per-request records.
pub fn is_reference_table(header: &csv::StringRecord) -> bool {
    header.iter().any(|h| h.trim() == "median_tps_per_request")
}

/// Parses a table of medians. TTFT is the middle of the published low–high range; a row with an
/// empty tokens/s cell contributes TTFT only.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Level>, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| InputError::header(origin, e))?
        .clone();
    for name in header.iter() {
        if !REQUIRED.contains(&name) && !OPTIONAL.contains(&name) {
            return Err(InputError::UnknownColumn {
                origin: origin.to_string(),
                column: name.to_string(),
                expected: format!(
                    "a table of medians has columns {} (optional: {})",
                    REQUIRED.join(", "),
                    OPTIONAL.join(", ")
                ),
            });
        }
    }
    for name in REQUIRED {
        if !header.iter().any(|h| h == name) {
            return Err(InputError::MissingColumn {
                origin: origin.to_string(),
                column: name,
                needs: format!("a table of medians needs {}", REQUIRED.join(", ")),
            });
        }
    }
    let index = |name: &str| header.iter().position(|h| h == name);
    let mut levels = Vec::new();
    let mut lines = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        let record = record.map_err(|e| InputError::row(origin, line, e))?;
        let cell = |name: &str| number_cell(&record, index(name), origin, line, name);
        let required = |name: &str| -> Result<f64, InputError> {
            cell(name)?.ok_or_else(|| InputError::cell(origin, line, name, "empty; it is required"))
        };
        let tps = cell("median_tps_per_request")?;
        if tps == Some(0.0) {
            return Err(InputError::cell(
                origin,
                line,
                "median_tps_per_request",
                "0 tokens/s; leave the cell empty if not measured",
            ));
        }
        let ttft_low = cell("median_ttft_s_low")?;
        let ttft = match (ttft_low, cell("median_ttft_s_high")?) {
            (Some(low), Some(high)) => Some(0.5 * (low + high)),
            (low, _) => low,
        };
        levels.push(Level {
            concurrency: required("concurrency")?,
            prompt_tokens: required("input_tokens")?,
            output_tokens: required("max_output_tokens")?,
            tpot_s: tps.map(|t| 1.0 / t),
            ttft_s: ttft,
            samples: 0,
            run_requests: None,
            cached_tokens: 0.0,
        });
        lines.push(line);
    }
    if levels.is_empty() {
        return Err(InputError::NoDataRows {
            origin: origin.to_string(),
        });
    }
    merge_duplicate_levels(levels.clone()).map_err(|c| {
        let level = &levels[c.second];
        InputError::ConflictingLevels {
            origin: origin.to_string(),
            first_line: lines[c.first],
            second_line: lines[c.second],
            concurrency: level.concurrency,
            prompt_tokens: level.prompt_tokens,
            output_tokens: level.output_tokens,
        }
    })
}

/// A non-negative finite number from a cell; `None` when the column is absent or the cell empty.
pub(super) fn number_cell(
    record: &csv::StringRecord,
    column: Option<usize>,
    origin: &str,
    line: usize,
    name: &str,
) -> Result<Option<f64>, InputError> {
    let Some(text) = column.and_then(|i| record.get(i)).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let bad = |problem: String| InputError::cell(origin, line, name, problem);
    let value: f64 = text
        .parse()
        .map_err(|_| bad(format!("`{text}` is not a number")))?;
    if !value.is_finite() {
        return Err(bad(format!("`{text}` is not a finite number")));
    }
    if value < 0.0 {
        return Err(bad(format!(
            "{value} is negative; token counts, rates and times are ≥ 0"
        )));
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "prompt_class,input_tokens,max_output_tokens,concurrency,median_tps_per_request,system_tps,median_ttft_s_low,median_ttft_s_high,note";

    #[test]
    fn reads_the_seed_002_table() {
        let text = include_str!("../../calibration/reference/seed002_bedrock_llama33_70b.csv");
        let levels = parse(text, "seed002.csv").unwrap();
        assert_eq!(levels.len(), 9);
        let c40 = levels.iter().find(|l| l.concurrency == 40.0).unwrap();
        assert!(c40.tpot_s.is_none() && c40.ttft_s == Some(0.92));
        let small = &levels[0];
        assert!((small.ttft_s.unwrap() - 0.285).abs() < 1e-12);
        assert!((1.0 / small.tpot_s.unwrap() - 136.0).abs() < 1e-9);
    }

    #[test]
    fn a_row_given_twice_counts_once() {
        let row = "small,43,350,1,100,1,0.2,0.3,x";
        let twice = parse(&format!("{HEADER}\n{row}\n{row}\n"), "t.csv").unwrap();
        assert_eq!(
            twice,
            parse(&format!("{HEADER}\n{row}\n"), "t.csv").unwrap()
        );
    }

    #[test]
    fn names_the_problem() {
        let cases = [
            (format!("{HEADER}\n"), "no data rows"),
            (
                format!("{HEADER}\nsmall,43,350,1,NaN,1,0.2,0.3,x\n"),
                "not a finite number",
            ),
            (
                format!("{HEADER}\nsmall,-43,350,1,100,1,0.2,0.3,x\n"),
                "negative",
            ),
            (
                format!("{HEADER}\nsmall,43,350,1,abc,1,0.2,0.3,x\n"),
                "`abc` is not a number",
            ),
            (
                format!("{HEADER},colour\nsmall,43,350,1,100,1,0.2,0.3,x,red\n"),
                "unknown column `colour`",
            ),
            (
                "input_tokens,median_tps_per_request\n1,2\n".to_string(),
                "missing column `max_output_tokens`",
            ),
            (
                format!(
                    "{HEADER}\nsmall,43,350,1,100,1,0.2,0.3,x\nsmall,43,350,2,90,1,0.2,0.3,x\n\
                     small,43,350,1,120,1,0.2,0.3,x\n"
                ),
                "lines 2 and 4 are both concurrency 1, 43 prompt and 350 output tokens",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(&text, "t.csv").unwrap_err().to_string();
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
            assert!(
                error.starts_with("t.csv"),
                "{error:?} does not name the file"
            );
        }
    }
}
