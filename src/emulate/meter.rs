//! The emulator's CloudWatch: per Bedrock model id and per period, the AWS/Bedrock runtime
//! metrics of the traffic served on the bedrock-runtime and bedrock-mantle paths (Invocations,
//! InputTokenCount, OutputTokenCount, InvocationThrottles, InvocationLatency), written as
//! `aws cloudwatch get-metric-data` prints them (`crate::actual::cloudwatch`), atomically.
//!
//! An invocation is counted when its answer is settled (before its last frames reach the
//! client), in the period it ends in; a throttle when admission refuses it. Input tokens are
//! the emulator's estimate at admission, less prompt-cache reads; output tokens those produced.
//!
//! With an invocation log (`--invocation-log FILE`) each bedrock-runtime invocation is also
//! written as one JSON line in the shape of Bedrock's model invocation logs
//! (`schemaType` ModelInvocationLog: timestamp, accountId, identity, region, requestId,
//! operation, modelId, `input.inputTokenCount` without the tokens read from or written to the
//! prompt cache, `input.cacheReadInputTokenCount`, `input.cacheWriteInputTokenCount`,
//! `output.outputTokenCount`; no bodies), which `llmcap workload fit` reads back.

use std::io::{LineWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::actual::cloudwatch::{export, Series};
use crate::files::{write_atomically, FileError};

#[derive(Debug)]
pub struct Meter {
    period_s: i64,
    series: Mutex<Series>,
    /// The invocation log, one JSON line an invocation (none: not written).
    log: Option<Mutex<LineWriter<std::fs::File>>>,
    logged: AtomicU64,
    clock: WallClock,
}

/// The wall clock the meter stamps periods and log records with: the system's, or one its
/// owner sets (a generated day replayed in seconds, each request stamped with the time of day
/// it stands for).
#[derive(Clone, Debug, Default)]
pub struct WallClock(Option<Arc<AtomicI64>>);

impl WallClock {
    pub fn system() -> WallClock {
        WallClock(None)
    }

    /// A clock that reads `start_s` (seconds since 1970) until [`WallClock::set`] moves it.
    pub fn manual(start_s: i64) -> WallClock {
        WallClock(Some(Arc::new(AtomicI64::new(start_s))))
    }

    /// Moves a manual clock (the system clock cannot be moved: ignored).
    pub fn set(&self, at_s: i64) {
        if let Some(t) = &self.0 {
            t.store(at_s, Ordering::SeqCst);
        }
    }

    pub fn now_s(&self) -> i64 {
        match &self.0 {
            Some(t) => t.load(Ordering::SeqCst),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        }
    }
}

/// What one invocation used, as the meter counts it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Invocation<'a> {
    pub model_id: &'a str,
    /// InvokeModel, InvokeModelWithResponseStream, Converse or ConverseStream (none: a path
    /// the invocation log does not cover, e.g. bedrock-mantle's).
    pub operation: Option<&'static str>,
    /// Input tokens less cache reads (cache writes included, as the quota counts them).
    pub input: u64,
    pub cache_read: u64,
    /// Of `input`, the tokens written to the prompt cache.
    pub cache_write: u64,
    pub output: u64,
    pub latency_ms: f64,
}

/// Where and how often the export is written.
#[derive(Clone, Debug, PartialEq)]
pub struct CloudWatchOut {
    pub path: PathBuf,
    pub period: Duration,
}

impl Meter {
    /// Periods of `period_s` seconds (at least 1), aligned to the epoch as CloudWatch's are.
    pub fn new(period_s: u64) -> Meter {
        Meter {
            period_s: period_s.max(1) as i64,
            series: Mutex::new(Series::new()),
            log: None,
            logged: AtomicU64::new(0),
            clock: WallClock::system(),
        }
    }

    /// The meter, stamping with `clock` rather than the system's.
    pub fn with_clock(mut self, clock: WallClock) -> Meter {
        self.clock = clock;
        self
    }

    /// The meter, also appending each bedrock-runtime invocation to the log at `path`.
    pub fn with_invocation_log(mut self, path: &Path) -> std::io::Result<Meter> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        self.log = Some(Mutex::new(LineWriter::new(file)));
        Ok(self)
    }

    pub fn period_s(&self) -> i64 {
        self.period_s
    }

    fn period_start(&self, at_s: i64) -> i64 {
        at_s - at_s.rem_euclid(self.period_s)
    }

    pub fn invocation(&self, i: &Invocation<'_>) {
        let now = self.clock.now_s();
        let start = self.period_start(now);
        {
            let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
            let c = series
                .entry(i.model_id.to_string())
                .or_default()
                .entry(start)
                .or_default();
            c.invocations += 1.0;
            c.input_tokens += i.input as f64;
            c.output_tokens += i.output as f64;
            c.latency_ms_sum += i.latency_ms;
        }
        if let (Some(log), Some(operation)) = (&self.log, i.operation) {
            let n = self.logged.fetch_add(1, Ordering::SeqCst);
            let record = invocation_record(i, operation, now, n);
            let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
            // The log is evidence, not the service: a failed write is reported, not fatal.
            if let Err(e) = writeln!(log, "{record}") {
                eprintln!("llmcap emulate: cannot append to the invocation log: {e}");
            }
        }
    }

    pub fn throttle(&self, model_id: &str) {
        let start = self.period_start(self.clock.now_s());
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

/// One invocation in the shape of Bedrock's model invocation log (the emulator's account,
/// caller and Region are placeholders).
fn invocation_record(i: &Invocation<'_>, operation: &str, at_s: i64, n: u64) -> String {
    serde_json::json!({
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": crate::timestamp::format_iso(at_s).replace("+00:00", "Z"),
        "accountId": "000000000000",
        "identity": { "arn": "arn:aws:iam::000000000000:user/llmcap-emulate" },
        "region": "us-east-1",
        "requestId": format!("llmcap-emulate-{n:012}"),
        "operation": operation,
        "modelId": i.model_id,
        "input": {
            "inputContentType": "application/json",
            "inputTokenCount": i.input.saturating_sub(i.cache_write),
            "cacheReadInputTokenCount": i.cache_read,
            "cacheWriteInputTokenCount": i.cache_write
        },
        "output": {
            "outputContentType": "application/json",
            "outputTokenCount": i.output
        }
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actual::cloudwatch::parse;

    #[test]
    fn the_export_parses_back_to_what_was_counted() {
        let meter = Meter::new(60);
        let invocation = |model_id, input, output, latency_ms| Invocation {
            model_id,
            operation: None,
            input,
            cache_read: 0,
            cache_write: 0,
            output,
            latency_ms,
        };
        for i in 0..7_u64 {
            meter.invocation(&invocation(
                "meta.llama3-3-70b-instruct-v1:0",
                100 + i,
                20,
                400.0,
            ));
        }
        meter.invocation(&invocation("test.fast-model-v1:0", 9, 3, 100.0));
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
