//! calibrate's Bedrock and SageMaker targets through the real SDK crates against the emulator:
//! a closed loop that recovers the emulator's profile, and throttles recorded as throttles.

mod support;

use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use llmcap::emulate::{Emulator, EmulatorConfig, DEFAULT_ENDPOINT_NAME};
use llmcap::quota::bucket::QuotaLimits;
use serde::Deserialize;
use serde_json::Value;
use support::{fast_profile, manifest, records, FAST_MODEL};

/// Runs the emulator on its own runtime thread while the CLI runs as a child process.
struct EmulatorThread {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EmulatorThread {
    fn start(config: EmulatorConfig) -> EmulatorThread {
        let (url_sender, url_receiver) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let emulator = Emulator::start(config).await.unwrap();
                url_sender.send(emulator.url()).unwrap();
                let _ = stopped.await;
                emulator.shutdown().await;
            });
        });
        EmulatorThread {
            url: url_receiver.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for EmulatorThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn aws_calibrate(url: &str, out: &std::path::Path) -> Command {
    let mut command = Command::cargo_bin("llmcap").unwrap();
    command
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .args(["calibrate", "--region", "us-east-1", "--endpoint-url", url])
        .args(["--no-progress", "--out", out.to_str().unwrap()]);
    command
}

#[derive(Debug, Deserialize)]
struct LevelRow {
    concurrency: u32,
    prompt_tokens_target: u32,
    output_tokens_target: u32,
    mean_input_tokens: f64,
    tpot_p50_s: f64,
}

#[test]
fn bedrock_closed_loop_recovers_the_emulated_profile() {
    let profile = fast_profile();
    let emulator = EmulatorThread::start(EmulatorConfig::new(profile.clone()));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bedrock");
    let output = aws_calibrate(&emulator.url, &out)
        .args(["--target", "bedrock", "--model-id", FAST_MODEL, "--yes"])
        .args(["--concurrency", "1,2,3,4,6,8", "--prompt-tokens", "64,1024"])
        .args(["--output-tokens", "32", "--requests-per-level", "10"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "calibrate failed: {stderr}");
    let m = manifest(&out);
    assert_eq!(
        (m.status.as_str(), m.target.as_str()),
        ("complete", "bedrock")
    );
    assert_eq!(m.counts.failed, 0);
    assert!(records(&out).iter().all(|r| r.tokens_source == "server"));

    // Every level's p50 TPOT within 5 % of what the profile says for it.
    let mut reader = csv::Reader::from_path(out.join("levels.csv")).unwrap();
    let levels: Vec<LevelRow> = reader.deserialize().map(Result::unwrap).collect();
    assert_eq!(levels.len(), 12);
    for level in &levels {
        let n = f64::from(level.concurrency);
        let held = n * (level.mean_input_tokens + f64::from(level.output_tokens_target) / 2.0);
        let expected = profile.model.tpot_median_s(n, held);
        let error = level.tpot_p50_s / expected - 1.0;
        eprintln!(
            "c={} prompt={}: p50 TPOT {:.2} ms, profile {:.2} ms ({:+.1} %)",
            level.concurrency,
            level.prompt_tokens_target,
            level.tpot_p50_s * 1e3,
            expected * 1e3,
            error * 100.0
        );
        assert!(
            error.abs() < 0.05,
            "level c={} prompt={}",
            level.concurrency,
            level.prompt_tokens_target
        );
    }

    // Fitted without c = 3 and 6, the profile predicts both within 5 %.
    let fit = Command::cargo_bin("llmcap")
        .unwrap()
        .args([
            "fit",
            out.to_str().unwrap(),
            "--concurrency",
            "1,2,4,8",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        fit.status.success(),
        "{}",
        String::from_utf8_lossy(&fit.stderr)
    );
    let fitted: Value = serde_json::from_slice(&fit.stdout).unwrap();
    let held_out = fitted["fit"]["held_out"].as_array().unwrap();
    assert_eq!(held_out.len(), 4, "c = 3 and 6 at two prompt sizes");
    for level in held_out {
        let tps_error = level["tps_error_pct"].as_f64().unwrap() / 100.0;
        let tpot_error = 1.0 / (1.0 + tps_error) - 1.0;
        eprintln!(
            "held out c={} prompt={}: p50 TPOT error {:+.1} %",
            level["concurrency"],
            level["prompt_tokens"],
            tpot_error * 100.0
        );
        assert!(tpot_error.abs() < 0.05, "{level}");
    }
}

#[test]
fn bedrock_throttles_are_recorded_as_throttles() {
    let mut config = EmulatorConfig::new(fast_profile());
    // 2,000 tokens a minute; each request reserves about 74 prompt + 16 max tokens, so the
    // bucket runs dry after ~22 requests, and one stream in five is throttled mid-way.
    config.quota = Some(QuotaLimits {
        tpm: 2_000.0,
        rpm: None,
        tpd: None,
        output_burndown: 1.0,
        headroom: 1.0,
    });
    config.faults.stream_throttle_rate = 0.2;
    let emulator = EmulatorThread::start(config);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("throttled");
    let output = aws_calibrate(&emulator.url, &out)
        .args(["--target", "bedrock", "--model-id", FAST_MODEL, "--yes"])
        .args([
            "--concurrency",
            "2",
            "--prompt-tokens",
            "64",
            "--output-tokens",
            "16",
        ])
        .args([
            "--requests-per-level",
            "40",
            "--max-error-rate",
            "1",
            "--no-fit",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows = records(&out);
    let throttled: Vec<_> = rows.iter().filter(|r| r.status == "throttled").collect();
    assert!(throttled.len() >= 10, "{} throttled", throttled.len());
    assert!(
        rows.iter()
            .all(|r| r.status == "ok" || r.status == "throttled"),
        "no throttle recorded as another kind of error"
    );
    // Some throttles arrived after tokens had streamed (in-stream), some before any.
    assert!(throttled.iter().any(|r| r.chunks > 0));
    assert!(throttled.iter().any(|r| r.chunks == 0));
    assert_eq!(manifest(&out).counts.throttled, throttled.len() as u64);
}

#[test]
fn sagemaker_target_measures_tgi_and_openai_endpoints() {
    let emulator = EmulatorThread::start(EmulatorConfig::new(fast_profile()));
    for payload in ["tgi", "openai"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join(payload);
        let output = aws_calibrate(&emulator.url, &out)
            .args([
                "--target",
                "sagemaker",
                "--endpoint-name",
                DEFAULT_ENDPOINT_NAME,
            ])
            .args([
                "--payload",
                payload,
                "--concurrency",
                "1,4",
                "--prompt-tokens",
                "64",
            ])
            .args([
                "--output-tokens",
                "16",
                "--requests-per-level",
                "6",
                "--no-fit",
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{payload}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let m = manifest(&out);
        assert_eq!(
            (m.target.as_str(), m.status.as_str()),
            ("sagemaker", "complete")
        );
        let rows = records(&out);
        assert_eq!(rows.iter().filter(|r| r.is_measured()).count(), 12);
        assert!(
            rows.iter().all(|r| r.is_ok() && r.output_tokens == 16),
            "{payload}"
        );
        assert!(
            rows.iter().all(|r| r.ttft_s.unwrap() >= 0.02),
            "the profile's 20 ms floor"
        );
    }
}
