//! `llmcap bench-client`: how much calibrate's client adds to what it measures, and how many
//! streamed requests per second it keeps up with, against servers whose latency is known.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bounds::{self, Range};
use anyhow::{Context, Result};
use serde::Serialize;

use crate::calibrate::fixed_server::{FixedLatency, FixedServer};
use crate::calibrate::prompt::{PromptNonce, TokensPerWord};
use crate::calibrate::run_dir::RunDir;
use crate::calibrate::runner::{run_sweep, SweepInputs};
use crate::calibrate::stop::StopSignal;
use crate::calibrate::summary::Spread;
use crate::calibrate::sweep::{Arrivals, SweepMode, SweepSpec};
use crate::calibrate::target::openai::OpenAiTarget;
use crate::cli::BenchClientArgs;

/// One phase's load and its server.
#[derive(Clone, Copy, Debug)]
struct PhaseSpec {
    /// Open-loop Poisson arrivals keeping `concurrency` in flight on average, or a closed loop.
    open_loop: bool,
    concurrency: u32,
    requests: u32,
    ttft_ms: f64,
    itl_ms: f64,
    output_tokens: u32,
}

#[derive(Debug, Serialize)]
struct PhaseResult {
    concurrency: u32,
    output_tokens: u32,
    server_ttft_ms: f64,
    server_itl_ms: f64,
    requests: u64,
    failed: u64,
    ttft_excess_p50_ms: f64,
    ttft_excess_p99_ms: f64,
    ttft_excess_max_ms: f64,
    itl_excess_p99_ms: f64,
    requests_per_s: f64,
}

#[derive(Debug, Serialize)]
struct ClientBenchReport {
    overhead: PhaseResult,
    throughput: PhaseResult,
}

pub fn run(args: &BenchClientArgs) -> Result<()> {
    bounds::CONCURRENCY.check("--concurrency", f64::from(args.concurrency))?;
    Range::closed(2.0, 1_000_000.0, "requests").check("--requests", f64::from(args.requests))?;
    for (flag, ms) in [
        ("--ttft-ms", args.ttft_ms),
        ("--itl-ms", args.itl_ms),
        ("--throughput-ttft-ms", args.throughput_ttft_ms),
        ("--throughput-itl-ms", args.throughput_itl_ms),
    ] {
        bounds::LATENCY_MS.check(flag, ms)?;
    }
    for (flag, tokens) in [
        ("--overhead-output-tokens", args.overhead_output_tokens),
        ("--output-tokens", args.output_tokens),
    ] {
        Range::closed(1.0, 100_000.0, "tokens").check(flag, f64::from(tokens))?;
    }
    let overhead = PhaseSpec {
        open_loop: true,
        concurrency: args.concurrency,
        requests: args.requests / 2,
        ttft_ms: args.ttft_ms,
        itl_ms: args.itl_ms,
        output_tokens: args.overhead_output_tokens,
    };
    let throughput = PhaseSpec {
        open_loop: false,
        concurrency: args.concurrency,
        requests: args.requests,
        ttft_ms: args.throughput_ttft_ms,
        itl_ms: args.throughput_itl_ms,
        output_tokens: args.output_tokens,
    };
    let report = ClientBenchReport {
        overhead: run_phase(overhead)?,
        throughput: run_phase(throughput)?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let o = &report.overhead;
    println!(
        "TTFT overhead: {} streams in flight on average (Poisson arrivals), {} requests ({} failed); \
         server TTFT {} ms, ITL {} ms, {} tokens",
        o.concurrency, o.requests, o.failed, o.server_ttft_ms, o.server_itl_ms, o.output_tokens
    );
    println!(
        "  measured TTFT − server TTFT: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms   (target: p99 < 1 ms)",
        o.ttft_excess_p50_ms, o.ttft_excess_p99_ms, o.ttft_excess_max_ms
    );
    println!(
        "  measured chunk gap − server ITL: p99 {:.3} ms; {:.0} requests/s",
        o.itl_excess_p99_ms, o.requests_per_s
    );
    let t = &report.throughput;
    println!(
        "throughput: closed loop, {} streams, {} requests ({} failed) of {} tokens \
         (server TTFT {} ms, ITL {} ms): {:.0} streamed requests/s   (target: ≥ 2,000)",
        t.concurrency,
        t.requests,
        t.failed,
        t.output_tokens,
        t.server_ttft_ms,
        t.server_itl_ms,
        t.requests_per_s
    );
    Ok(())
}

/// The server runs on its own runtime and thread, so the client's load does not delay it.
fn run_phase(phase: PhaseSpec) -> Result<PhaseResult> {
    let latency = FixedLatency {
        ttft: Duration::from_secs_f64(phase.ttft_ms / 1e3),
        itl: Duration::from_secs_f64(phase.itl_ms / 1e3),
        throttle_every: None,
        slots: None,
    };
    let (url_sender, url_receiver) = std::sync::mpsc::channel();
    let (stop_sender, stop_receiver) = tokio::sync::oneshot::channel::<()>();
    let server_thread = std::thread::spawn(move || -> Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let server = FixedServer::start(latency, 0).await?;
            url_sender.send(server.url()).ok();
            let _ = stop_receiver.await;
            drop(server);
            Ok(())
        })
    });
    let url = url_receiver
        .recv()
        .context("the fixed-latency server did not start")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(measure(phase, &url));
    let _ = stop_sender.send(());
    server_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the server thread panicked"))??;
    result
}

async fn measure(phase: PhaseSpec, url: &str) -> Result<PhaseResult> {
    let target = OpenAiTarget::connect(
        url,
        Some("fixed-latency".into()),
        None,
        phase.concurrency as usize * 2,
    )
    .await?;
    // A closed loop against a fixed-latency server phase-locks every stream, so all first
    // tokens land in the same instant and queue behind each other — an artefact of the fixture,
    // not client overhead. The overhead phase therefore uses Poisson arrivals at the rate that
    // keeps `concurrency` streams in flight on average (cap: twice that).
    let e2e_s =
        (phase.ttft_ms + phase.itl_ms * f64::from(phase.output_tokens.saturating_sub(1))) / 1e3;
    let spec = SweepSpec {
        mode: if phase.open_loop {
            SweepMode::Rate
        } else {
            SweepMode::Closed
        },
        concurrency: vec![if phase.open_loop {
            phase.concurrency * 2
        } else {
            phase.concurrency
        }],
        prompt_tokens: vec![16],
        output_tokens: vec![phase.output_tokens],
        requests_per_level: phase.requests,
        // One warm-up per stream opens the connections before anything is timed.
        warmup_per_level: phase.concurrency,
        passes: 1,
        duration_per_level_s: None,
        interval_s: None,
        rates: vec![f64::from(phase.concurrency) / e2e_s],
        arrivals: Arrivals::Poisson,
        burstiness: 1.0,
        fixed_output: true,
        timeout_s: 60.0,
        max_error_rate: 1.0,
        seed: 1,
        auto: None,
    };
    let dir = std::env::temp_dir().join(format!(
        "llmcap-bench-client-{}-{}",
        std::process::id(),
        phase.open_loop
    ));
    let run_dir = RunDir::create(&dir)?;
    let appender = run_dir.appender(&[])?;
    let zero = Instant::now();
    let outcome = run_sweep(
        SweepInputs {
            target: Arc::new(target),
            spec,
            sizing: TokensPerWord::default(),
            nonce: PromptNonce::fresh(),
            done_per_level: HashMap::new(),
            first_request_id: 0,
            zero,
            stop: StopSignal::new(),
            grace: Duration::from_secs(5),
            show_progress: false,
        },
        appender,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    let records = outcome?.records;
    let measured: Vec<_> = records.iter().filter(|r| r.is_measured()).collect();
    let first_sent = measured
        .iter()
        .map(|r| r.sent_s)
        .fold(f64::INFINITY, f64::min);
    let last_end = measured
        .iter()
        .map(|r| r.sent_s + r.e2e_s)
        .fold(0.0, f64::max);
    let excess: Vec<f64> = measured
        .iter()
        .filter_map(|r| r.ttft_s)
        .map(|t| t * 1e3 - phase.ttft_ms)
        .collect();
    let ttft_excess = Spread::of(excess.iter().copied());
    let itl_excess = Spread::of(
        measured
            .iter()
            .flat_map(|r| r.chunk_gaps())
            .map(|g| g * 1e3 - phase.itl_ms),
    );
    Ok(PhaseResult {
        concurrency: phase.concurrency,
        output_tokens: phase.output_tokens,
        server_ttft_ms: phase.ttft_ms,
        server_itl_ms: phase.itl_ms,
        requests: measured.len() as u64,
        failed: measured.iter().filter(|r| !r.is_ok()).count() as u64,
        ttft_excess_p50_ms: ttft_excess.p50.unwrap_or(f64::NAN),
        ttft_excess_p99_ms: ttft_excess.p99.unwrap_or(f64::NAN),
        ttft_excess_max_ms: excess.iter().copied().fold(f64::NAN, f64::max),
        itl_excess_p99_ms: itl_excess.p99.unwrap_or(f64::NAN),
        requests_per_s: measured.len() as f64 / (last_end - first_sent),
    })
}
