//! Reading a published serving table, in the format of `../shared/reference/published/`:
//! `concurrency,input_tokens,output_tokens,ttft_s,tpot_s,tps_per_request,system_tps`, one row per
//! level, an empty cell where the source publishes nothing. A table may give TTFT only, TPOT
//! only (or tokens/s per request, its reciprocal) or both.

use crate::perf::Level;

use super::reference_table::number_cell;
use super::InputError;

const REQUIRED: [&str; 3] = ["concurrency", "input_tokens", "output_tokens"];
const MEASURED: [&str; 3] = ["ttft_s", "tpot_s", "tps_per_request"];
/// `requests`: how many requests the benchmark sent in all at the level (vLLM's
/// `--num-prompts`), where the source's figures are means over such a short run from a
/// synchronised start rather than a steady state.
const OPTIONAL: [&str; 2] = ["system_tps", "requests"];

/// True when a CSV header is a published table's: the required columns, a measured one, and
/// nothing else (per-request records share some names but carry more columns).
pub fn is_published_table(header: &csv::StringRecord) -> bool {
    let has = |name: &str| header.iter().any(|h| h.trim() == name);
    let known = |name: &str| {
        REQUIRED.contains(&name) || MEASURED.contains(&name) || OPTIONAL.contains(&name)
    };
    REQUIRED.iter().all(|c| has(c))
        && MEASURED.iter().any(|c| has(c))
        && header.iter().all(|h| known(h.trim()))
}

pub fn parse(text: &str, origin: &str) -> Result<Vec<Level>, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| InputError::header(origin, e))?
        .clone();
    let known: Vec<&str> = REQUIRED
        .iter()
        .chain(&MEASURED)
        .chain(&OPTIONAL)
        .copied()
        .collect();
    for name in header.iter() {
        if !known.contains(&name) {
            return Err(InputError::UnknownColumn {
                origin: origin.to_string(),
                column: name.to_string(),
                expected: format!("a published table has columns {}", known.join(", ")),
            });
        }
    }
    let index = |name: &str| header.iter().position(|h| h == name);
    let mut levels = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        let record = record.map_err(|e| InputError::row(origin, line, e))?;
        let cell = |name: &str| number_cell(&record, index(name), origin, line, name);
        let required = |name: &str| -> Result<f64, InputError> {
            cell(name)?.ok_or_else(|| InputError::cell(origin, line, name, "empty; it is required"))
        };
        let positive = |name: &str| -> Result<Option<f64>, InputError> {
            match cell(name)? {
                Some(0.0) => Err(InputError::cell(
                    origin,
                    line,
                    name,
                    "0; leave the cell empty if the source does not publish it",
                )),
                v => Ok(v),
            }
        };
        let tpot = match (positive("tpot_s")?, positive("tps_per_request")?) {
            (Some(t), _) => Some(t),
            (None, Some(tps)) => Some(1.0 / tps),
            (None, None) => None,
        };
        let ttft = positive("ttft_s")?;
        if tpot.is_none() && ttft.is_none() {
            return Err(InputError::cell(
                origin,
                line,
                "ttft_s",
                "the row has neither TTFT nor TPOT (tpot_s or tps_per_request); fill one or drop the row",
            ));
        }
        let run_requests = match cell("requests")? {
            None => None,
            Some(n) if n >= 1.0 && n.fract() == 0.0 && n <= 1e7 => Some(n as usize),
            Some(n) => {
                return Err(InputError::cell(
                    origin,
                    line,
                    "requests",
                    format!("{n}; it must be a whole number of requests from 1 to 10,000,000, or empty for a steady-state level"),
                ))
            }
        };
        levels.push(Level {
            concurrency: required("concurrency")?,
            prompt_tokens: required("input_tokens")?,
            output_tokens: required("output_tokens")?,
            tpot_s: tpot,
            ttft_s: ttft,
            samples: 0,
            run_requests,
            cached_tokens: 0.0,
        });
    }
    if levels.is_empty() {
        return Err(InputError::NoDataRows {
            origin: origin.to_string(),
        });
    }
    Ok(levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "concurrency,input_tokens,output_tokens,ttft_s,tpot_s,tps_per_request,system_tps";

    #[test]
    fn reads_ttft_only_tpot_only_and_speed_only_rows() {
        let text = format!("{HEADER}\n1,100,50,0.2,,,\n2,100,50,,0.02,,\n4,100,50,,,40,\n");
        let levels = parse(&text, "t.csv").unwrap();
        assert_eq!(levels[0].ttft_s, Some(0.2));
        assert_eq!(levels[0].tpot_s, None);
        assert_eq!(levels[1].tpot_s, Some(0.02));
        assert!((levels[2].tpot_s.unwrap() - 0.025).abs() < 1e-15);
    }

    #[test]
    fn names_the_row_and_the_field() {
        for (row, needle) in [
            ("1,100,50,,,,", "neither TTFT nor TPOT"),
            ("1,100,50,-1,,,", "negative"),
            ("1,100,50,0,,,", "leave the cell empty"),
            (",100,50,0.1,,,", "concurrency"),
        ] {
            let err = parse(&format!("{HEADER}\n{row}\n"), "t.csv")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("line 2") && err.contains(needle),
                "{row}: {err}"
            );
        }
    }

    #[test]
    fn a_requests_column_marks_a_short_run() {
        let header = format!("{HEADER},requests");
        let levels = parse(
            &format!("{header}\n7,65536,128,41.9,0.07,,,7\n1,128,128,0.07,,,,\n"),
            "t.csv",
        )
        .unwrap();
        assert_eq!(levels[0].run_requests, Some(7));
        assert_eq!(levels[1].run_requests, None);
        for bad in ["0", "2.5", "-3"] {
            let err = parse(
                &format!("{header}\n7,65536,128,41.9,0.07,,,{bad}\n"),
                "t.csv",
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains("line 2") && err.contains("requests"), "{err}");
        }
    }
}
