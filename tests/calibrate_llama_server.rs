//! calibrate against a real LLM: llama.cpp's llama-server with SmolLM2-135M, started by
//! scripts/llama-server.sh (which installs it the first time, ~10 min on 2 cores).
//!
//! One test, so nothing else in this binary competes with the server for the two cores; it
//! ends by putting the emulator's proxy mode (`--upstream`) in front of the same server.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;
use support::{manifest, records};

/// A port of its own, so a server a developer left running is not disturbed.
const PORT: &str = "18091";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/llama-server.sh")
}

struct LlamaServer {
    url: String,
}

impl LlamaServer {
    fn start() -> LlamaServer {
        let output = Command::new("bash")
            .arg(script())
            .arg("start")
            .env("LLMCAP_LLAMA_PORT", PORT)
            // A fixed thread count: one core for the server's matrix work, one for the client
            // and everything else. With a thread per core, llama.cpp's threads wait for each
            // other at every step's barrier, so any client work that preempts one stalls the
            // whole step, and the levels' medians swung with it.
            .env("LLMCAP_LLAMA_THREADS", "1")
            .output()
            .expect("bash runs scripts/llama-server.sh");
        assert!(
            output.status.success(),
            "scripts/llama-server.sh start failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let url = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        LlamaServer { url }
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .env("LLMCAP_LLAMA_PORT", PORT)
            .status();
    }
}

fn p50(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[test]
fn smollm2_on_llama_server_calibrates_and_the_fit_predicts_a_held_out_level() {
    let server = LlamaServer::start();
    let dir = tempfile::tempdir().unwrap();
    // First, while the cores are quietest: two short runs, so the check needs no long sweep.
    a_second_run_is_not_served_from_the_prefix_cache(&server.url, dir.path());
    let out = dir.path().join("smollm2");
    // Sizes for a CPU-only server on two cores: prefill is slow (256 tokens took ~0.8 s, more
    // than a whole 48-token answer), and other requests' prefills land inside a request's
    // decode in a pattern that shifts from run to run — at 256 tokens the held-out level's p50
    // TPOT swung by up to 18 %. 128-token prompts keep decode the larger part. A closed loop's
    // clients decode in waves that share every step, so a level's samples are its waves, not
    // its requests, and the step time wanders by more than 5 % from one wave to the next: 36
    // requests a level are six waves at c = 6 (20 were three or four). The machine's speed
    // also shifts from one minute to the next, and a level run in one stretch carries its
    // stretch's offset, which more waves do not average out: six interleaved passes of one
    // wave each (no warm-up; the prefix-cache check has warmed the server) spread every level
    // over the whole run.
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["calibrate", "--target", "openai", "--url", &server.url])
        .args(["--concurrency", "1,2,4,6,8", "--prompt-tokens", "32,128"])
        .args([
            "--output-tokens",
            "48",
            "--requests-per-level",
            "36",
            "--passes",
            "6",
            "--warmup",
            "0",
        ])
        .args(["--no-progress", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}");
    assert!(output.status.success(), "calibrate failed: {stderr}");

    // Every request accounted for, with the server's own token counts.
    let m = manifest(&out);
    assert_eq!(m.status, "complete");
    let rows = records(&out);
    assert_eq!(rows.iter().filter(|r| r.is_measured()).count(), 10 * 36);
    assert_eq!(m.counts.sent, rows.len() as u64);
    assert_eq!(m.counts.sent, m.counts.ok + m.counts.failed);
    assert!(
        m.counts.failed <= 5,
        "{} failed of {}",
        m.counts.failed,
        m.counts.sent
    );
    let ok: Vec<_> = rows.iter().filter(|r| r.is_ok()).collect();
    assert!(ok.iter().all(|r| r.tokens_source == "server"));
    assert!(
        ok.iter().all(|r| r.output_tokens == 48),
        "ignore_eos gives exactly max_tokens"
    );
    for prompt in [32u32, 128] {
        let sizes: Vec<f64> = ok
            .iter()
            .filter(|r| r.prompt_tokens_target == prompt)
            .map(|r| r.input_tokens as f64)
            .collect();
        let mean = sizes.iter().sum::<f64>() / sizes.len() as f64;
        assert!(
            (mean - f64::from(prompt)).abs() < 0.25 * f64::from(prompt) + 8.0,
            "prompts sized near {prompt} tokens, got {mean}"
        );
    }

    // TPOT grows with concurrency at both prompt sizes.
    let tpot_p50 = |c: u32, prompt: u32| {
        let mut v: Vec<f64> = ok
            .iter()
            .filter(|r| r.concurrency == c && r.prompt_tokens_target == prompt && r.is_measured())
            .filter_map(|r| r.tpot_s)
            .collect();
        p50(&mut v)
    };
    for prompt in [32, 128] {
        let series: Vec<f64> = [1, 2, 4, 8].iter().map(|&c| tpot_p50(c, prompt)).collect();
        eprintln!("prompt {prompt}: p50 TPOT at c = 1, 2, 4, 8: {series:?}");
        assert!(
            series[3] > 1.3 * series[0],
            "TPOT at c=8 exceeds c=1: {series:?}"
        );
        assert!(
            series.windows(2).all(|w| w[1] > 0.95 * w[0]),
            "TPOT does not fall as concurrency rises: {series:?}"
        );
    }

    // Fitted without c=6, the model predicts c=6: each held-out p50 must fall inside the
    // model's own 99 % interval (the fit's parameter uncertainty plus the levels' scatter about
    // it), so the gate fails for a model that does not hold, not for a noisy run.
    let validate = Command::cargo_bin("llmcap")
        .unwrap()
        .args([
            "validate",
            out.to_str().unwrap(),
            "--fit-on",
            "1,2,4,8",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );
    let report: Value = serde_json::from_slice(&validate.stdout).unwrap();
    eprintln!(
        "server model: {} {}",
        report["sharing"], report["max_batch"]
    );
    let held_out = report["held_out"].as_array().unwrap();
    assert_eq!(held_out.len(), 2, "c=6 at two prompt sizes");
    for level in held_out {
        assert_eq!(level["concurrency"].as_f64(), Some(6.0));
        for metric in ["tpot_s", "ttft_s"] {
            let c = &level[metric];
            let measured = c["measured"].as_f64().unwrap();
            let band = &c["interval"];
            eprintln!(
                "held out c=6, prompt {}: p50 {metric} measured {measured:.4}, predicted {:.4} (90 %: {:.4}–{:.4}; 99 %: {:.4}–{:.4}), error {:+.1} %",
                level["prompt_tokens"],
                c["predicted"].as_f64().unwrap(),
                band["low"].as_f64().unwrap_or(f64::NAN),
                band["high"].as_f64().unwrap_or(f64::NAN),
                band["low_99"].as_f64().unwrap_or(f64::NAN),
                band["high_99"].as_f64().unwrap_or(f64::NAN),
                c["error_pct"].as_f64().unwrap()
            );
            if metric == "tpot_s" {
                let (low, high) = (
                    band["low_99"]
                        .as_f64()
                        .expect("the server model gives intervals"),
                    band["high_99"].as_f64().unwrap(),
                );
                assert!(
                    measured >= low && measured <= high,
                    "held-out p50 TPOT outside the model's 99 % interval: {level}"
                );
            }
        }
    }
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
    assert!(out.join("profile.toml").exists());

    verify_holds_the_plan_on_the_real_model(&server.url, dir.path(), &out.join("profile.toml"));
    bedrock_sdk_meets_the_real_model_through_the_proxy(&server.url, dir.path());
}

/// A scaled scenario for the server just calibrated: a handful of users with seconds of
/// thought, a 40-token prefix every request shares (llama-server's prompt cache holds it, and
/// the plan's `prefix_cache` assumes so), prompts within the calibrated 32–128 tokens.
const VERIFY_SCENARIO: &str = r#"name = "verify on llama-server"
use_case = "a CPU test server standing in for an instance"
employees = 30
peak_active_fraction = 0.2
sessions_per_user_per_day = 3.0
workdays_per_month = 22.0
region = "us-east-1"
seed = 11

[slo]
ttft_p95_s = 3.0
tpot_p95_s = 0.25
max_error_rate = 0.01

[workload]
name = "short chat with a shared prefix"
think_time_s = 4.0
turns_per_session = 2.0
session_gap_s = 8.0

[[workload.class]]
name = "chat"
share = 1.0
system_prompt = 48
cached_prefix = 40
message = { dist = "lognormal", median = 12, p90 = 24 }
reply = 16
max_tokens = 16
history = true

[[option]]
kind = "sagemaker"
name = "llama-server"
model = "SmolLM2 135M Instruct"
profile = "profile.toml"
instance_type = "ml.g5.xlarge"
slots_per_instance = 8
borrowed = "a CPU llama-server stands in for the instance"
"#;

/// `llmcap verify --users auto` on the real model, planned with the profile just fitted. The
/// search starts at half the plan's knee and doubles while the SLO holds, so its first two
/// populations are half the knee and the knee (rounded down to even): at each, the measured p95
/// TTFT and TPOT must fall inside the plan's 90 % intervals for the same run, and the knee the
/// search measures inside the plan's interval for it.
fn verify_holds_the_plan_on_the_real_model(url: &str, dir: &Path, profile: &Path) {
    let work = dir.join("verify");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::copy(profile, work.join("profile.toml")).unwrap();
    std::fs::write(work.join("s.toml"), VERIFY_SCENARIO).unwrap();
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(&work)
        .args([
            "verify",
            "s.toml",
            "--option",
            "llama-server",
            "--users",
            "auto",
        ])
        .args([
            "--warmup",
            "15",
            "--duration",
            "45",
            "--max-duration",
            "480",
        ])
        .args(["--target", "openai", "--url", url, "--out", "v", "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "verify failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let knee = &report["plan_knee"];
    let planned = knee["users"].as_u64().unwrap();
    eprintln!(
        "verify: plan's knee {planned} ({}–{}); measured {}",
        knee["low"], knee["high"], report["measured_knee"]
    );
    let steps = report["steps"].as_array().unwrap();
    for step in steps {
        let users = step["users"].as_u64().unwrap();
        let figure = |name: &str| {
            step["figures"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["name"] == name)
                .unwrap()
                .clone()
        };
        let (ttft, tpot) = (figure("p95 TTFT (s)"), figure("p95 TPOT (s)"));
        eprintln!(
            "  {users} users, {} requests: p95 TTFT {:.3} s ({:.3}–{:.3}) {}, p95 TPOT {:.4} s ({:.4}–{:.4}) {}",
            step["requests"],
            ttft["measured"].as_f64().unwrap(),
            ttft["interval"][0].as_f64().unwrap(),
            ttft["interval"][1].as_f64().unwrap(),
            ttft["verdict"],
            tpot["measured"].as_f64().unwrap(),
            tpot["interval"][0].as_f64().unwrap(),
            tpot["interval"][1].as_f64().unwrap(),
            tpot["verdict"]
        );
    }
    assert!(
        steps.len() >= 2 && steps[0]["users"].as_u64() == Some((planned / 2).max(1)),
        "half the plan's knee, then twice that, are driven first: {report}"
    );
    for step in &steps[..2] {
        for f in step["figures"].as_array().unwrap() {
            if f["name"] == "p95 TTFT (s)" || f["name"] == "p95 TPOT (s)" {
                assert_eq!(f["verdict"], "inside", "{} users: {f}", step["users"]);
            }
        }
    }
    // On this server the plan's knee was 15 users (6–33 for 45-second runs) against 20
    // measured (held at 20, broke at 21), once the chat template the server caches was no
    // longer read as attention; before, 9–10 planned against 17–22 measured.
    assert_eq!(
        report["measured_knee"]["verdict"], "inside",
        "the measured knee against the plan's interval: {report}"
    );
}

/// Measured TTFTs of the successful requests of a run, in seconds.
fn ttfts(out: &Path) -> Vec<f64> {
    records(out)
        .iter()
        .filter(|r| r.is_ok() && r.is_measured())
        .filter_map(|r| r.ttft_s)
        .collect()
}

/// Calibrating the same server twice with the same flags (and so the same default seed): the
/// second run's prompts must not be the first's, or llama-server's prompt cache answers them.
/// With one shared prompt text a cached TTFT here was 70× shorter (0.07 s against 1.6 s for
/// 1,293 tokens); 512-token prompts and 4-token answers make TTFT almost all prefill, which is
/// exactly what a cache would skip.
fn a_second_run_is_not_served_from_the_prefix_cache(url: &str, dir: &Path) {
    let run = |name: &str| {
        let out = dir.join(name);
        let output = Command::cargo_bin("llmcap")
            .unwrap()
            .args(["calibrate", "--target", "openai", "--url", url])
            .args(["--concurrency", "1", "--prompt-tokens", "512"])
            .args(["--output-tokens", "4", "--requests-per-level", "8"])
            .args(["--warmup", "1", "--no-fit", "--no-progress"])
            .args(["--out", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "calibrate {name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        out
    };
    let (first, second) = (run("cache-1"), run("cache-2"));
    let (m1, m2) = (manifest(&first), manifest(&second));
    assert_ne!(m1.prompt_nonce, m2.prompt_nonce, "each run draws its own");
    let (p1, p2) = (p50(&mut ttfts(&first)), p50(&mut ttfts(&second)));
    eprintln!("p50 TTFT at 512 prompt tokens: first run {p1:.3} s, second {p2:.3} s");
    // Measured noise: six uncached runs back to back on the two shared cores (builds running
    // beside them) had p50 TTFTs of 6.1–7.2 s, consecutive runs within 15 % of each other.
    // Other work starting or stopping on the cores can still change one run's speed by up to
    // ~3× (load 6 on 2 cores), while a cache hit leaves TTFT a tenth or less of the uncached
    // one (one token of prefill instead of 512). 0.3× sits between the two.
    assert!(
        p2 >= 0.3 * p1,
        "the second run looks cached: p50 TTFT {p2:.3} s against {p1:.3} s"
    );
}

/// `llmcap emulate --upstream`: calibrate's Bedrock target (the real SDK) against SmolLM2, the
/// emulator re-framing llama-server's stream as ConverseStream events.
fn bedrock_sdk_meets_the_real_model_through_the_proxy(upstream: &str, dir: &Path) {
    let profile =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/bedrock-llama3-3-70b-instruct.toml");
    let mut emulator = Command::cargo_bin("llmcap")
        .unwrap()
        .args([
            "emulate",
            "--profile",
            profile.to_str().unwrap(),
            "--upstream",
            upstream,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(emulator.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim().to_string();
    let out = dir.join("proxy");
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .args(["calibrate", "--target", "bedrock", "--region", "us-east-1"])
        .args([
            "--model-id",
            "meta.llama3-3-70b-instruct-v1:0",
            "--endpoint-url",
            &url,
        ])
        .args([
            "--concurrency",
            "1,2",
            "--prompt-tokens",
            "64",
            "--output-tokens",
            "24",
        ])
        .args([
            "--requests-per-level",
            "4",
            "--warmup",
            "0",
            "--yes",
            "--no-progress",
        ])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let _ = emulator.kill();
    let _ = emulator.wait();
    assert!(
        output.status.success(),
        "calibrate through the proxy failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let m = manifest(&out);
    let rows = records(&out);
    let errors: Vec<&str> = rows
        .iter()
        .filter(|r| !r.is_ok())
        .map(|r| r.error.as_str())
        .collect();
    assert_eq!(m.counts.failed, 0, "{:?}: {errors:?}", m.counts);
    assert_eq!(m.counts.sent, rows.len() as u64);
    assert_eq!(rows.iter().filter(|r| r.is_measured()).count(), 2 * 4);
    assert!(rows.iter().all(|r| r.tokens_source == "server"));
    // Bedrock has no ignore_eos, so the model may stop early; it never runs past the limit.
    assert!(rows.iter().all(|r| (1..=24).contains(&r.output_tokens)));
    // Input counts are SmolLM2's tokenizer's (chat template included), relayed in the
    // metadata event, and calibrate's probes size prompts by them: near the 64 asked for. The
    // emulator's own estimate (characters / 4) would say about half that.
    let mean = rows.iter().map(|r| r.input_tokens as f64).sum::<f64>() / rows.len() as f64;
    eprintln!(
        "through the proxy: mean input tokens {mean:.1}, {} requests",
        rows.len()
    );
    assert!((mean - 64.0).abs() < 8.0, "{mean}");
}
