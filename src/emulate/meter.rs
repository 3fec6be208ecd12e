//! The emulator's CloudWatch: per Bedrock model id and per period, the AWS/Bedrock runtime
//! metrics of the traffic served on the bedrock-runtime and bedrock-mantle paths (Invocations,
//! InputTokenCount, OutputTokenCount, InvocationThrottles, InvocationLatency), written as
//! `aws cloudwatch get-metric-data` prints them (`crate::actual::cloudwatch`), atomically.
//!
//! An invocation is counted when its answer is settled (before its last frames reach the
//! client), in the period it ends in; a throttle when admission refuses it. Input tokens are
//! the emulator's estimate at admission, less prompt-cache reads; output tokens those produced.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::actual::cloudwatch::{export, Series};
use crate::files::{write_atomically, FileError};

#[derive(Debug)]
pub struct Meter {
    period_s: i64,
    series: Mutex<Series>,
}

/// Where and how often the export is written.
#[derive(Clone, Debug, PartialEq)]
pub struct CloudWatchOut {
    pub path: PathBuf,
    pub period: Duration,
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Meter {
    /// Periods of `period_s` seconds (at least 1), aligned to the epoch as CloudWatch's are.
    pub fn new(period_s: u64) -> Meter {
        Meter {
            period_s: period_s.max(1) as i64,
            series: Mutex::new(Series::new()),
        }
    }

    pub fn period_s(&self) -> i64 {
        self.period_s
    }

    fn period_start(&self, at_s: i64) -> i64 {
        at_s - at_s.rem_euclid(self.period_s)
    }

    pub fn invocation(&self, model_id: &str, input: u64, output: u64, latency_ms: f64) {
        let start = self.period_start(now_s());
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let c = series
            .entry(model_id.to_string())
            .or_default()
            .entry(start)
            .or_default();
        c.invocations += 1.0;
        c.input_tokens += input as f64;
        c.output_tokens += output as f64;
        c.latency_ms_sum += latency_ms;
    }

    pub fn throttle(&self, model_id: &str) {
        let start = self.period_start(now_s());
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        series
            .entry(model_id.to_string())
            .or_default()
            .entry(start)
            .or_default()
            .throttles += 1.0;
    }

    /// What has been counted so far.
    pub fn series(&self) -> Series {
        self.series
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The export as JSON, in get-metric-data's shape.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(&export(&self.series())).unwrap_or_else(|_| "{}".into())
    }

    /// Writes the export atomically (temporary file + rename).
    pub fn write(&self, path: &Path) -> Result<(), FileError> {
        write_atomically(path, &self.json())
    }

    /// How long until the next period boundary (and a little after it, so the write sees the
    /// period closed).
    pub fn until_next_period(&self) -> Duration {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let period = Duration::from_secs(self.period_s as u64);
        let into = Duration::from_nanos((now.as_nanos() % period.as_nanos()) as u64);
        period - into + Duration::from_millis(50)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actual::cloudwatch::parse;

    #[test]
    fn the_export_parses_back_to_what_was_counted() {
        let meter = Meter::new(60);
        for i in 0..7_u64 {
            meter.invocation("meta.llama3-3-70b-instruct-v1:0", 100 + i, 20, 400.0);
        }
        meter.invocation("test.fast-model-v1:0", 9, 3, 100.0);
        meter.throttle("meta.llama3-3-70b-instruct-v1:0");
        meter.throttle("meta.llama3-3-70b-instruct-v1:0");
        let counted = meter.series();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cw.json");
        meter.write(&path).unwrap();
        let usage = parse(&std::fs::read_to_string(&path).unwrap(), "cw.json").unwrap();
        assert_eq!(usage.models, counted);
        let llama = usage.totals("meta.llama3-3-70b-instruct-v1:0").unwrap();
        assert_eq!(llama.counts.invocations, 7.0);
        assert_eq!(llama.counts.input_tokens, (100..107).sum::<u64>() as f64);
        assert_eq!(llama.counts.output_tokens, 140.0);
        assert_eq!(llama.counts.throttles, 2.0);
        assert_eq!(llama.mean_latency_ms(), Some(400.0));
        assert_eq!(
            usage
                .totals("test.fast-model-v1:0")
                .unwrap()
                .counts
                .invocations,
            1.0
        );
        assert!(meter.until_next_period() <= Duration::from_millis(60_050));
    }
}
