//! `llmcap bench-client`: how much calibrate's client adds to what it measures, and how many
//! streamed requests per second it keeps up with, against a server whose latency is known.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::calibrate::fixed_server::{FixedLatency, FixedServer};
use crate::calibrate::prompt::TokensPerWord;
use crate::calibrate::run_dir::RunDir;
use crate::calibrate::runner::{run_sweep, SweepInputs};
use crate::calibrate::stop::StopSignal;
use crate::calibrate::summary::Spread;
use crate::calibrate::sweep::{Arrivals, SweepMode, SweepSpec};
use crate::calibrate::target::openai::OpenAiTarget;
use crate::cli::BenchClientArgs;

#[derive(Debug, Serialize)]
struct ClientBench {
    concurrency: u32,
    requests: u64,
    failed: u64,
    ttft_target_ms: f64,
    ttft_excess_p50_ms: f64,
    ttft_excess_p99_ms: f64,
    ttft_excess_max_ms: f64,
    itl_excess_p99_ms: f64,
    requests_per_s: f64,
}

pub fn run(args: &BenchClientArgs) -> Result<()> {
    // The server gets its own runtime and thread so the client's load does not delay it.
    let latency = FixedLatency {
        ttft: Duration::from_secs_f64(args.ttft_ms / 1e3),
        itl: Duration::from_secs_f64(args.itl_ms / 1e3),
        throttle_every: None,
    };
    let (addr_sender, addr_receiver) = std::sync::mpsc::channel();
    let (stop_sender, stop_receiver) = tokio::sync::oneshot::channel::<()>();
    let server_thread = std::thread::spawn(move || -> Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(args_blocking_threads())
            .build()?;
        runtime.block_on(async {
            let server = FixedServer::start(latency, 0).await?;
            addr_sender.send(server.url()).ok();
            let _ = stop_receiver.await;
            server.shutdown();
            Ok(())
        })
    });
    let url = addr_receiver
        .recv()
        .context("the fixed-latency server did not start")?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(measure(args, &url));
    let _ = stop_sender.send(());
    server_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the server thread panicked"))??;
    let bench = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&bench)?);
    } else {
        println!(
            "client overhead at {} streams, {} requests ({} failed), server TTFT {} ms, ITL {} ms:",
            bench.concurrency, bench.requests, bench.failed, args.ttft_ms, args.itl_ms
        );
        println!(
            "  measured TTFT − server TTFT: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            bench.ttft_excess_p50_ms, bench.ttft_excess_p99_ms, bench.ttft_excess_max_ms
        );
        println!(
            "  measured chunk gap − server ITL: p99 {:.3} ms",
            bench.itl_excess_p99_ms
        );
        println!(
            "  throughput: {:.0} streamed requests/s",
            bench.requests_per_s
        );
    }
    Ok(())
}

/// One pacing thread per stream in flight, plus slack.
fn args_blocking_threads() -> usize {
    1024
}

async fn measure(args: &BenchClientArgs, url: &str) -> Result<ClientBench> {
    let target = OpenAiTarget::connect(
        url,
        Some("fixed-latency".into()),
        None,
        args.concurrency as usize,
    )
    .await?;
    let spec = SweepSpec {
        mode: SweepMode::Closed,
        concurrency: vec![args.concurrency],
        prompt_tokens: vec![16],
        output_tokens: vec![args.output_tokens],
        requests_per_level: args.requests,
        // One warm-up per stream opens the connections before anything is timed.
        warmup_per_level: args.concurrency,
        duration_per_level_s: None,
        interval_s: None,
        rates: Vec::new(),
        arrivals: Arrivals::Poisson,
        burstiness: 1.0,
        fixed_output: true,
        timeout_s: 60.0,
        max_error_rate: 1.0,
        seed: 1,
    };
    let dir = std::env::temp_dir().join(format!("llmcap-bench-client-{}", std::process::id()));
    let run_dir = RunDir::create(&dir)?;
    let appender = run_dir.appender(&[])?;
    let started = Instant::now();
    let outcome = run_sweep(
        SweepInputs {
            target: Arc::new(target),
            spec,
            sizing: TokensPerWord::default(),
            done_per_level: HashMap::new(),
            first_request_id: 0,
            zero: started,
            stop: StopSignal::new(),
            grace: Duration::from_secs(5),
            show_progress: false,
        },
        appender,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    let records = outcome?.records;
    let measured: Vec<_> = records.iter().filter(|r| !r.warmup).collect();
    let first_sent = measured
        .iter()
        .map(|r| r.sent_s)
        .fold(f64::INFINITY, f64::min);
    let last_end = measured
        .iter()
        .map(|r| r.sent_s + r.e2e_s)
        .fold(0.0, f64::max);
    let ttft_excess = Spread::of(
        measured
            .iter()
            .filter_map(|r| r.ttft_s)
            .map(|t| (t * 1e3 - args.ttft_ms).max(0.0)),
    );
    let itl_excess = Spread::of(
        measured
            .iter()
            .flat_map(|r| r.chunk_gaps())
            .map(|g| g * 1e3 - args.itl_ms),
    );
    let max_excess = measured
        .iter()
        .filter_map(|r| r.ttft_s)
        .map(|t| t * 1e3 - args.ttft_ms)
        .fold(f64::NEG_INFINITY, f64::max);
    Ok(ClientBench {
        concurrency: args.concurrency,
        requests: measured.len() as u64,
        failed: measured.iter().filter(|r| !r.is_ok()).count() as u64,
        ttft_target_ms: args.ttft_ms,
        ttft_excess_p50_ms: ttft_excess.p50.unwrap_or(f64::NAN),
        ttft_excess_p99_ms: ttft_excess.p99.unwrap_or(f64::NAN),
        ttft_excess_max_ms: max_excess,
        itl_excess_p99_ms: itl_excess.p99.unwrap_or(f64::NAN),
        requests_per_s: measured.len() as f64 / (last_end - first_sent),
    })
}
