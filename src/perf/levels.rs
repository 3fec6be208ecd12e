//! Measurements as the model sees them: per-request samples, grouped into levels of medians.

use crate::bounds;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::error::PerfError;

/// One of the two figures a level measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Tpot,
    Ttft,
}

impl Metric {
    pub fn label(self) -> &'static str {
        match self {
            Metric::Tpot => "TPOT",
            Metric::Ttft => "TTFT",
        }
    }
}

/// One measured request: the part of a calibration record the performance model needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The sweep's concurrency level this request ran at.
    pub concurrency: f64,
    /// The prompt size the sweep asked for; groups requests whose server counts differ slightly.
    pub nominal_prompt_tokens: f64,
    /// Input tokens as the server counted them.
    pub prompt_tokens: f64,
    pub output_tokens: f64,
    pub ttft_s: f64,
    /// `None` when fewer than two tokens came back (TPOT is undefined).
    pub tpot_s: Option<f64>,
    /// Prompt tokens the server reported it took from its prefix cache (0: none reported).
    pub cached_tokens: f64,
}

/// Medians at one operating point (concurrency × prompt size × output size).
#[derive(Clone, Debug, PartialEq)]
pub struct Level {
    pub concurrency: f64,
    pub prompt_tokens: f64,
    pub output_tokens: f64,
    pub tpot_s: Option<f64>,
    pub ttft_s: Option<f64>,
    /// Requests behind the medians (0 for a published table of medians).
    pub samples: usize,
    /// Requests the benchmark sent in all when the source says it measured a short run from a
    /// synchronised start (means over every request, first wave included); `None`: steady state.
    pub run_requests: Option<usize>,
    /// Mean prompt tokens the server took from its prefix cache (0: none reported).
    pub cached_tokens: f64,
}

/// Groups samples by (concurrency, nominal prompt size) and takes medians.
pub fn levels_from_samples(samples: &[Sample]) -> Result<Vec<Level>, PerfError> {
    if samples.is_empty() {
        return Err(PerfError::Empty(
            "no successful requests in the records; check the run's status column".into(),
        ));
    }
    let mut groups: BTreeMap<(u64, u64), Vec<&Sample>> = BTreeMap::new();
    for sample in samples {
        validate_sample(sample)?;
        let key = (
            sample.concurrency.to_bits(),
            sample.nominal_prompt_tokens.to_bits(),
        );
        groups.entry(key).or_default().push(sample);
    }
    let mut levels: Vec<Level> = groups
        .into_values()
        .map(|group| {
            let column = |f: &dyn Fn(&Sample) -> Option<f64>| {
                median(&mut group.iter().filter_map(|s| f(s)).collect::<Vec<_>>())
            };
            Level {
                concurrency: group[0].concurrency,
                prompt_tokens: column(&|s| Some(s.prompt_tokens)).unwrap_or(0.0),
                output_tokens: column(&|s| Some(s.output_tokens)).unwrap_or(0.0),
                tpot_s: column(&|s| s.tpot_s),
                ttft_s: column(&|s| Some(s.ttft_s)),
                samples: group.len(),
                run_requests: None,
                // A mean: the compute a level's prefills saved is linear in it.
                cached_tokens: group.iter().map(|s| s.cached_tokens).sum::<f64>()
                    / group.len() as f64,
            }
        })
        .collect();
    levels.sort_by(|a, b| {
        (a.prompt_tokens, a.concurrency)
            .partial_cmp(&(b.prompt_tokens, b.concurrency))
            .expect("validated finite")
    });
    Ok(levels)
}

/// Two rows of a table at one operating point whose measurements differ (indices into the
/// rows as given).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConflictingLevels {
    pub first: usize,
    pub second: usize,
}

/// Rows at the same operating point (concurrency, prompt, output): identical ones are one level
/// (a row pasted twice, or a table concatenated with itself) and are kept once; rows whose
/// medians differ are refused, since which measurement to trust is the engineer's call, and a
/// fit would otherwise weigh that point twice with no sign of the disagreement.
pub fn merge_duplicate_levels(levels: Vec<Level>) -> Result<Vec<Level>, ConflictingLevels> {
    let mut seen: BTreeMap<(u64, u64, u64), usize> = BTreeMap::new();
    let mut kept: Vec<Level> = Vec::with_capacity(levels.len());
    // Index into `levels` of each kept row, to name the first of a conflicting pair.
    let mut origin: Vec<usize> = Vec::with_capacity(levels.len());
    for (index, level) in levels.into_iter().enumerate() {
        // +0.0 and -0.0 are one point (validation refuses negatives later anyway).
        let bits = |x: f64| (x + 0.0).to_bits();
        let key = (
            bits(level.concurrency),
            bits(level.prompt_tokens),
            bits(level.output_tokens),
        );
        match seen.get(&key) {
            Some(&at) if kept[at] == level => {}
            Some(&at) => {
                return Err(ConflictingLevels {
                    first: origin[at],
                    second: index,
                })
            }
            None => {
                seen.insert(key, kept.len());
                kept.push(level);
                origin.push(index);
            }
        }
    }
    Ok(kept)
}

fn validate_sample(s: &Sample) -> Result<(), PerfError> {
    let bad = |field, value, fix| PerfError::BadValue {
        field,
        value,
        concurrency: s.concurrency,
        prompt_tokens: s.prompt_tokens,
        fix,
    };
    check_sizes(s.concurrency, s.prompt_tokens, s.output_tokens, &bad)?;
    check(s.ttft_s, "ttft_s", &bounds::LATENCY_S, LATENCY_FIX, &bad)?;
    if let Some(tpot) = s.tpot_s {
        check(tpot, "tpot_s", &bounds::LATENCY_S, LATENCY_FIX, &bad)?;
    }
    Ok(())
}

/// Checks that every level is finite, positive and usable, and that at least two concurrency
/// levels exist.
pub fn validate_levels(levels: &[Level]) -> Result<(), PerfError> {
    if levels.is_empty() {
        return Err(PerfError::Empty("the table has no data rows".into()));
    }
    for level in levels {
        let bad = |field, value, fix| PerfError::BadValue {
            field,
            value,
            concurrency: level.concurrency,
            prompt_tokens: level.prompt_tokens,
            fix,
        };
        check_sizes(
            level.concurrency,
            level.prompt_tokens,
            level.output_tokens,
            &bad,
        )?;
        if let Some(tpot) = level.tpot_s {
            check(tpot, "tpot_s", &bounds::LATENCY_S, LATENCY_FIX, &bad)?;
        }
        if let Some(ttft) = level.ttft_s {
            check(ttft, "ttft_s", &bounds::LATENCY_S, LATENCY_FIX, &bad)?;
        }
    }
    if !levels
        .iter()
        .any(|l| l.tpot_s.is_some() || l.ttft_s.is_some())
    {
        return Err(PerfError::Empty(
            "no level has a TPOT (or tokens/s) or a TTFT measurement".into(),
        ));
    }
    let distinct = distinct_concurrencies(
        levels
            .iter()
            .filter(|l| l.tpot_s.is_some() || l.ttft_s.is_some()),
    );
    if distinct.len() < 2 {
        return Err(PerfError::OneLevel(distinct[0]));
    }
    Ok(())
}

const LATENCY_FIX: &str = "must be a finite number of seconds > 0 and at most a day (86,400)";

/// A level's size within llmcap's bounds ([`bounds`]): past them a fit would simulate levels
/// no server runs (a level at concurrency 1e12 once tried to allocate 64 TB).
fn check_sizes(
    concurrency: f64,
    prompt_tokens: f64,
    output_tokens: f64,
    bad: &dyn Fn(&'static str, f64, &'static str) -> PerfError,
) -> Result<(), PerfError> {
    check(
        concurrency,
        "concurrency",
        &bounds::CONCURRENCY,
        "must be a finite number from 1 to 4,096 (requests in flight on one endpoint copy)",
        bad,
    )?;
    check(
        prompt_tokens,
        "input_tokens",
        &bounds::PROMPT_TOKENS,
        "must be a finite number of tokens from 1 to 2,000,000",
        bad,
    )?;
    check(
        output_tokens,
        "output_tokens",
        &bounds::OUTPUT_TOKENS,
        "must be a finite number of tokens from 1 to 200,000",
        bad,
    )
}

fn check(
    value: f64,
    field: &'static str,
    range: &bounds::Range,
    fix: &'static str,
    bad: &dyn Fn(&'static str, f64, &'static str) -> PerfError,
) -> Result<(), PerfError> {
    if range.contains(value) {
        Ok(())
    } else {
        Err(bad(field, value, fix))
    }
}

/// Sorted distinct concurrency values.
pub fn distinct_concurrencies<'a>(levels: impl Iterator<Item = &'a Level>) -> Vec<f64> {
    let mut values: Vec<f64> = levels.map(|l| l.concurrency).collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    values
}

/// Median of a slice (sorted in place); `None` when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        0.5 * (values[mid - 1] + values[mid])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(c: f64, tpot: f64) -> Level {
        Level {
            concurrency: c,
            prompt_tokens: 100.0,
            output_tokens: 50.0,
            tpot_s: Some(tpot),
            ttft_s: Some(0.3),
            samples: 0,
            run_requests: None,
            cached_tokens: 0.0,
        }
    }

    #[test]
    fn identical_duplicates_merge_and_conflicting_ones_are_named() {
        let rows = vec![level(1.0, 0.01), level(2.0, 0.02), level(1.0, 0.01)];
        assert_eq!(
            merge_duplicate_levels(rows).unwrap(),
            vec![level(1.0, 0.01), level(2.0, 0.02)]
        );
        let rows = vec![level(1.0, 0.01), level(2.0, 0.02), level(2.0, 0.03)];
        assert_eq!(
            merge_duplicate_levels(rows),
            Err(ConflictingLevels {
                first: 1,
                second: 2
            })
        );
        // Another output size is another operating point.
        let mut longer = level(1.0, 0.02);
        longer.output_tokens = 500.0;
        assert_eq!(
            merge_duplicate_levels(vec![level(1.0, 0.01), longer.clone()]).unwrap(),
            vec![level(1.0, 0.01), longer]
        );
    }
}
