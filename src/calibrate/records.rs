//! Per-request calibration records (`requests.csv`, one row per request) as the fit reads them.
//! Extra columns are ignored, so records from newer versions of llmcap still fit.

use std::collections::HashMap;

use serde::Deserialize;

use crate::perf::Sample;

use super::InputError;

/// The columns the fit needs. `status` other than `ok` is skipped (throttles and errors say
/// nothing about decode speed); `prompt_tokens_target` groups requests whose server-side counts
/// differ slightly, falling back to `input_tokens`.
#[derive(Debug, Deserialize)]
struct FitColumns {
    /// llmcap's own records number their requests: one number on two rows means two runs'
    /// files were joined.
    #[serde(default)]
    request_id: Option<u64>,
    concurrency: f64,
    #[serde(default)]
    prompt_tokens_target: Option<f64>,
    input_tokens: Option<f64>,
    output_tokens: Option<f64>,
    ttft_s: Option<f64>,
    tpot_s: Option<f64>,
    /// Prompt tokens the server took from its prefix cache (records from before llmcap kept
    /// them, and servers that do not say, leave it empty).
    #[serde(default)]
    cached_tokens: Option<f64>,
    #[serde(default)]
    status: Option<String>,
    /// Warm-up and cool-down requests (llmcap's own runs) say nothing about the level.
    #[serde(default)]
    warmup: Option<bool>,
    #[serde(default)]
    cooldown: Option<bool>,
}

/// Samples from successful requests, and how many rows were skipped as unsuccessful.
#[derive(Debug)]
pub struct ParsedRecords {
    pub samples: Vec<Sample>,
    pub skipped: usize,
}

pub fn parse(text: &str, origin: &str) -> Result<ParsedRecords, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| InputError::header(origin, e))?
        .clone();
    for name in [
        "concurrency",
        "input_tokens",
        "output_tokens",
        "ttft_s",
        "tpot_s",
    ] {
        if !header.iter().any(|h| h == name) {
            return Err(InputError::MissingColumn {
                origin: origin.to_string(),
                column: name,
                needs: "per-request records need concurrency, input_tokens, output_tokens, \
                        ttft_s, tpot_s"
                    .into(),
            });
        }
    }
    let mut samples = Vec::new();
    let mut skipped = 0;
    // request id → (line, the row's text), for rows given twice.
    let mut seen: HashMap<u64, (usize, csv::StringRecord)> = HashMap::new();
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        let record = record.map_err(|e| InputError::row(origin, line, e))?;
        let r: FitColumns = record
            .deserialize(Some(&header))
            .map_err(|e| InputError::row(origin, line, e))?;
        if let Some(id) = r.request_id {
            match seen.get(&id) {
                // The same row twice (a file appended to itself): counted once.
                Some((_, first)) if *first == record => continue,
                Some((first_line, _)) => {
                    return Err(InputError::ConflictingRecords {
                        origin: origin.to_string(),
                        first_line: *first_line,
                        second_line: line,
                        request_id: id,
                    })
                }
                None => {
                    seen.insert(id, (line, record.clone()));
                }
            }
        }
        if r.warmup == Some(true) || r.cooldown == Some(true) {
            continue;
        }
        if r.status.as_deref().is_some_and(|s| s != "ok") {
            skipped += 1;
            continue;
        }
        let missing =
            |name: &str| InputError::cell(origin, line, name, "empty on a request with status ok");
        let input = r.input_tokens.ok_or_else(|| missing("input_tokens"))?;
        let output = r.output_tokens.ok_or_else(|| missing("output_tokens"))?;
        let ttft = r.ttft_s.ok_or_else(|| missing("ttft_s"))?;
        for (name, value) in [
            ("concurrency", r.concurrency),
            ("input_tokens", input),
            ("output_tokens", output),
            ("ttft_s", ttft),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(InputError::cell(
                    origin,
                    line,
                    name,
                    format!("{value} must be a finite number ≥ 0"),
                ));
            }
        }
        samples.push(Sample {
            concurrency: r.concurrency,
            nominal_prompt_tokens: r.prompt_tokens_target.unwrap_or(input),
            prompt_tokens: input,
            output_tokens: output,
            ttft_s: ttft,
            tpot_s: r.tpot_s.filter(|_| output >= 2.0),
            // A count past the prompt cannot be real: at most the prompt less the token that
            // must be computed.
            cached_tokens: r
                .cached_tokens
                .filter(|c| c.is_finite() && *c >= 0.0)
                .map_or(0.0, |c| c.min((input - 1.0).max(0.0))),
        });
    }
    if samples.is_empty() {
        return Err(InputError::NoSuccessfulRequests {
            origin: origin.to_string(),
            skipped,
        });
    }
    Ok(ParsedRecords { samples, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_failures_and_ignores_extra_columns() {
        let text = "concurrency,input_tokens,output_tokens,ttft_s,tpot_s,status,e2e_s\n\
                    1,64,128,0.1,0.01,ok,1.4\n\
                    1,64,0,,,throttled,\n\
                    2,64,1,0.2,,ok,0.2\n";
        let parsed = parse(text, "r.csv").unwrap();
        assert_eq!(parsed.samples.len(), 2);
        assert_eq!(parsed.skipped, 1);
        assert_eq!(parsed.samples[1].tpot_s, None);
    }

    #[test]
    fn a_request_recorded_twice_counts_once_unless_the_rows_differ() {
        let header = "request_id,concurrency,input_tokens,output_tokens,ttft_s,tpot_s,status\n";
        let row = "7,1,64,128,0.1,0.01,ok\n";
        let twice = parse(&format!("{header}{row}{row}"), "r.csv").unwrap();
        assert_eq!(twice.samples.len(), 1);
        let joined = format!("{header}{row}8,1,64,128,0.1,0.01,ok\n7,1,64,128,0.2,0.02,ok\n");
        let error = parse(&joined, "r.csv").unwrap_err().to_string();
        assert!(
            error.starts_with("r.csv")
                && error.contains("lines 2 and 4")
                && error.contains("request 7"),
            "{error}"
        );
    }

    #[test]
    fn names_bad_cells() {
        let text = "concurrency,input_tokens,output_tokens,ttft_s,tpot_s\n1,-5,10,0.1,0.01\n";
        let error = parse(text, "r.csv").unwrap_err().to_string();
        assert!(
            error.contains("line 2") && error.contains("input_tokens"),
            "{error}"
        );
        let text = "concurrency,input_tokens,output_tokens,ttft_s\n";
        assert!(parse(text, "r.csv")
            .unwrap_err()
            .to_string()
            .contains("missing column `tpot_s`"));
    }
}
