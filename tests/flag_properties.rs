//! Generated values thrown at every numeric flag of the commands that take them (and at the
//! cells of a table `fit` reads): whatever the value, the process ends by itself with exit 0, 1
//! or 2, a refusal names what it refused, nothing panics, nothing outlives its time limit, and
//! no run's peak memory passes 1 GB.
//!
//! The values mix the hostile ones a probe found (NaN, ±inf, 1e-300, 1e12, 1e15, -1, 0, empty,
//! garbage, numbers too big for any integer type) with arbitrary finite numbers. Values that a
//! command accepts must finish quickly too, so every other flag is small.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use proptest::prelude::*;

const PROFILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/bedrock-llama3-3-70b-instruct.toml"
);
const TABLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/calibration/reference/seed002_bedrock_llama33_70b.csv"
);

/// Any run must end within this (a refusal takes milliseconds; an accepted small run seconds).
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// Peak resident memory any run may reach.
const MEMORY_LIMIT_KB: i64 = 1024 * 1024;

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        Just("1e308".to_string()),
        Just("1e-300".to_string()),
        Just("1e12".to_string()),
        Just("1e15".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just(String::new()),
        Just("abc".to_string()),
        Just("1e".to_string()),
        Just("18446744073709551616".to_string()),
        Just("4294967296".to_string()),
        Just("٣".to_string()),
    ]
}

/// Hostile values and arbitrary ones, from tiny to huge, in a readable spelling.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => hostile(),
        1 => any::<f64>().prop_map(|v| v.to_string()),
        1 => (-3.0f64..16.0).prop_map(|e| format!("{}", 10f64.powf(e))),
        1 => any::<u32>().prop_map(|v| v.to_string()),
    ]
}

/// Runs llmcap with `args` under the time limit; returns the output and how long it took.
fn run(args: &[String]) -> (Output, Duration) {
    let mut command = Command::cargo_bin("llmcap").unwrap();
    command.args(args);
    let started = Instant::now();
    let output = assert_cmd::Command::from_std(command)
        .timeout(TIME_LIMIT)
        .output()
        .unwrap();
    (output, started.elapsed())
}

/// The largest peak resident set of any child this process has waited for, in KiB.
fn children_peak_kb() -> i64 {
    // SAFETY: getrusage fills the struct it is given; RUSAGE_CHILDREN is a valid selector.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    }
}

/// The property itself, for one run.
fn ends_well(args: &[String], flag: &str) -> Result<(), TestCaseError> {
    let (output, took) = run(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    prop_assert!(took < TIME_LIMIT, "{args:?} ran past {TIME_LIMIT:?}");
    let code = output.status.code();
    prop_assert!(
        matches!(code, Some(0..=2)),
        "{args:?} ended with {:?}: {stderr}",
        output.status
    );
    prop_assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    if code != Some(0) {
        // clap names the flag; llmcap's own refusals name the flag, or the request that failed.
        prop_assert!(
            stderr.contains(flag) || stderr.contains("error:"),
            "{args:?} refused without saying why: {stderr}"
        );
    }
    prop_assert!(
        children_peak_kb() < MEMORY_LIMIT_KB,
        "{args:?}: a run's peak memory passed 1 GB ({} KiB)",
        children_peak_kb()
    );
    Ok(())
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// `base` with `flag`'s value replaced (or added) by `value`, as `--flag=value` so a negative
/// number is not read as another flag.
fn with(base: &[&str], flag: &str, value: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut skip = false;
    for a in base {
        if skip {
            skip = false;
            continue;
        }
        if *a == flag {
            skip = true;
            continue;
        }
        args.push(a.to_string());
    }
    args.push(format!("{flag}={value}"));
    args
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn predict_takes_any_value(
        flag in prop::sample::select(vec!["--concurrency", "--prompt-tokens", "--output-tokens"]),
        value in value(),
    ) {
        let base = ["predict", "--profile", PROFILE, "--concurrency", "4", "--prompt-tokens", "100"];
        ends_well(&with(&base, flag, &value), flag)?;
    }

    #[test]
    fn a_closed_loop_simulation_takes_any_value(
        flag in prop::sample::select(vec![
            "--concurrency", "--requests", "--prompt-tokens", "--output-tokens", "--max-tokens",
            "--model-max-tokens", "--quota-tpm", "--quota-rpm", "--cached-prefix-tokens",
            "--max-attempts", "--timeout", "--seed",
        ]),
        value in value(),
    ) {
        let base = [
            "simulate", "--profile", PROFILE, "--concurrency", "4", "--requests", "40",
            "--prompt-tokens", "100", "--output-tokens", "50",
        ];
        ends_well(&with(&base, flag, &value), flag)?;
    }

    #[test]
    fn a_users_simulation_takes_any_value(
        flag in prop::sample::select(vec!["--users", "--duration", "--warmup", "--rate"]),
        value in hostile(),
    ) {
        let base = ["simulate", "--profile", PROFILE, "--users", "20", "--duration", "60s", "--warmup", "0s"];
        let mut args = with(&base, flag, &value);
        if flag == "--rate" {
            args = with(&["simulate", "--profile", PROFILE, "--duration", "60s"], flag, &value);
        }
        ends_well(&args, flag)?;
    }

    #[test]
    fn calibrate_takes_any_value(
        flag in prop::sample::select(vec![
            "--timeout", "--grace", "--duration-per-level", "--interval", "--rate",
            "--burstiness", "--max-error-rate", "--max-cost", "--concurrency", "--prompt-tokens",
            "--output-tokens", "--requests-per-level", "--passes", "--warmup", "--seed",
        ]),
        value in value(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        // Nothing listens on port 1: a run whose flags pass fails at its first probe, at once.
        let mut base = vec![
            "calibrate", "--target", "openai", "--url", "http://127.0.0.1:1", "--model", "m",
            "--timeout", "5", "--no-progress", "--out", out.to_str().unwrap(),
        ];
        match flag {
            "--interval" => base.extend(["--mode", "interval", "--interval", "1"]),
            "--rate" | "--burstiness" => {
                base.extend(["--mode", "rate", "--rate", "1", "--arrivals", "gamma"])
            }
            _ => {}
        }
        let args = with(&base, flag, &value);
        ends_well(&args, flag)?;
    }

    #[test]
    fn bench_client_refuses_values_it_cannot_use(
        flag in prop::sample::select(vec![
            "--ttft-ms", "--itl-ms", "--throughput-ttft-ms", "--throughput-itl-ms",
            "--concurrency", "--requests",
        ]),
        value in hostile(),
    ) {
        let base = ["bench-client", "--concurrency", "2", "--requests", "10", "--json"];
        let (output, _) = run(&with(&base, flag, &value));
        // Every hostile value is out of range for these flags except a latency from 0 to a
        // minute (0 or 1e-300 ms: a server that answers at once).
        let a_latency = flag.ends_with("-ms")
            && value.parse::<f64>().is_ok_and(|ms| (0.0..=60_000.0).contains(&ms));
        if !a_latency {
            let stderr = String::from_utf8_lossy(&output.stderr);
            prop_assert!(matches!(output.status.code(), Some(1 | 2)), "{flag}={value}: {stderr}");
            prop_assert!(stderr.contains(flag), "{flag}={value}: {stderr}");
        }
    }

    #[test]
    fn fit_takes_any_value_in_a_tables_cell(
        row in 1usize..8,
        column in prop::sample::select(vec![1usize, 2, 3, 4, 6]),
        value in value(),
    ) {
        let text = std::fs::read_to_string(TABLE).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut cells: Vec<String> = lines[row].split(',').map(str::to_string).collect();
        cells[column] = value.clone();
        lines[row] = cells.join(",");
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("table.csv");
        std::fs::write(&table, lines.join("\n")).unwrap();
        let args = strings(&["fit", table.to_str().unwrap()]);
        ends_well(&args, "table.csv")?;
    }
}
