//! Flags checked at the edge: a bad value is refused with exit code 1 and a message naming the
//! flag, before anything starts.

use assert_cmd::Command;

const PROFILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/bedrock-llama3-3-70b-instruct.toml"
);

fn refused(args: &[&str], names: &str) {
    // A value wrongly accepted would start a server that runs until killed: bound the wait.
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{args:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(names), "{args:?}: {stderr}");
}

#[test]
fn the_emulator_refuses_quotas_it_cannot_enforce() {
    for value in ["0", "-5", "NaN", "inf"] {
        // `--flag=VALUE`: a negative number after a space would read as another flag.
        refused(
            &[
                "emulate",
                "--profile",
                PROFILE,
                &format!("--quota-tpm={value}"),
            ],
            "--quota-tpm",
        );
        refused(
            &[
                "emulate",
                "--profile",
                PROFILE,
                &format!("--quota-rpm={value}"),
            ],
            "--quota-rpm",
        );
        for (flag, other) in [
            ("--mantle-input-tpm", "--mantle-output-tpm=100"),
            ("--mantle-output-tpm", "--mantle-input-tpm=100"),
        ] {
            refused(
                &[
                    "emulate",
                    "--profile",
                    PROFILE,
                    &format!("{flag}={value}"),
                    other,
                ],
                flag,
            );
        }
    }
}

#[test]
fn the_mantle_quota_flags_go_together() {
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["emulate", "--profile", PROFILE, "--mantle-input-tpm=100"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--mantle-output-tpm"), "{stderr}");
}

#[test]
fn the_emulator_refuses_idle_timeouts_and_keys_it_cannot_use() {
    for value in ["0", "-1", "NaN", "inf", "1e30"] {
        refused(
            &[
                "emulate",
                "--profile",
                PROFILE,
                &format!("--idle-timeout={value}"),
            ],
            "--idle-timeout",
        );
    }
    for (flag, value) in [
        ("--access-key-id", ""),
        ("--access-key-id", "two words"),
        ("--access-key-id", "a/b"),
        ("--secret-access-key", ""),
        ("--secret-access-key", " "),
        ("--api-key", ""),
        ("--api-key", "two words"),
    ] {
        refused(
            &["emulate", "--profile", PROFILE, &format!("{flag}={value}")],
            flag,
        );
    }
}

#[test]
fn profile_from_ranges_refuses_an_empty_prompt_range() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.toml");
    for value in ["0", "-1", "NaN"] {
        refused(
            &[
                "profile-from-ranges",
                "--model-id",
                "m",
                "--name",
                "n",
                "--ttft-ms",
                "100..200",
                "--tpot-ms",
                "20..40",
                "--max-concurrency",
                "50",
                &format!("--max-prompt-tokens={value}"),
                "--source",
                "s",
                "--date",
                "d",
                "--target",
                "t",
                "--out",
                out.to_str().unwrap(),
            ],
            "--max-prompt-tokens",
        );
    }
    assert!(!out.exists());
}

#[test]
fn an_rpm_quota_given_alone_still_throttles() {
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .args([
            "simulate",
            "--profile",
            PROFILE,
            "--workload",
            "multi_turn_chat",
            "--rate",
            "5/s",
            "--duration",
            "5m",
            "--quota-rpm",
            "60",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sim: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // 300 requests a minute offered against 60 allowed: most attempts are refused.
    assert!(sim["throttled"].as_u64().unwrap() > 0, "{sim}");
}

#[test]
fn simulations_that_memory_or_time_cannot_bound_are_refused_with_their_limit() {
    let closed = [
        "simulate",
        "--profile",
        PROFILE,
        "--concurrency",
        "10",
        "--prompt-tokens",
        "100",
        "--output-tokens",
        "10",
    ];
    refused(
        &[&closed[..], &["--requests", "1e12"]].concat(),
        "load.requests = 1.0000e12: more than the limit of 100000000 requests",
    );
    let open = ["simulate", "--profile", PROFILE, "--duration", "1h"];
    refused(
        &[&open[..], &["--rate", "1e9/s"]].concat(),
        "more than the limit of 100000000 requests",
    );
    refused(
        &[&open[..], &["--users", "4000000000"]].concat(),
        "--users 4000000000: more than the limit of 500000 users",
    );
    refused(
        &[&open[..], &["--users", "600000"]].concat(),
        "more than the limit of 500000 users",
    );
    refused(
        &[
            "simulate",
            "--profile",
            PROFILE,
            "--rate",
            "1/s",
            "--duration",
            "100d",
        ],
        "more than the limit of 7776000 s (90 days)",
    );
}

/// A small closed-loop simulation the cases below change one flag of.
const CLOSED_LOOP: [&str; 11] = [
    "simulate",
    "--profile",
    PROFILE,
    "--concurrency",
    "4",
    "--requests",
    "10",
    "--prompt-tokens",
    "100",
    "--output-tokens",
    "10",
];

/// The cases a hostile-input probe found panicking, aborting or running without end: each is
/// refused with exit 1 naming its flag, before anything starts.
#[test]
fn hostile_numbers_are_refused_by_name() {
    let calibrate = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "calibrate",
            "--target",
            "openai",
            "--url",
            "http://127.0.0.1:1",
            "--model",
            "m",
            "--no-progress",
            "--out",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(
            std::env::temp_dir()
                .join(format!("llmcap-hostile-{}", std::process::id()))
                .display()
                .to_string(),
        );
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (calibrate(&["--timeout=inf"]), "--timeout"),
        (calibrate(&["--grace=inf"]), "--grace"),
        (
            calibrate(&["--duration-per-level=inf"]),
            "--duration-per-level",
        ),
        (
            calibrate(&["--mode", "interval", "--interval=inf"]),
            "--interval",
        ),
        (
            calibrate(&["--mode", "interval", "--interval=1e-300"]),
            "--interval",
        ),
        (calibrate(&["--mode", "rate", "--rate=1e-300"]), "--rate"),
        (calibrate(&["--prompt-tokens=300000000"]), "--prompt-tokens"),
        (calibrate(&["--concurrency=100000"]), "--concurrency"),
        (calibrate(&["--max-cost=NaN"]), "--max-cost"),
        (
            ["bench-client", "--ttft-ms=NaN"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            "--ttft-ms",
        ),
        (
            [
                "predict",
                "--profile",
                PROFILE,
                "--concurrency=1e12",
                "--prompt-tokens=100",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            "--concurrency",
        ),
    ];
    for (flag, value) in [
        ("--output-tokens", "1e12"),
        ("--output-tokens", "1e7"),
        ("--prompt-tokens", "1e15"),
        ("--concurrency", "4294967295"),
    ] {
        let mut args = CLOSED_LOOP.to_vec();
        let at = args.iter().position(|a| *a == flag).unwrap();
        args[at + 1] = value;
        refused(&args, flag);
    }
    for (args, flag) in &cases {
        refused(&args.iter().map(String::as_str).collect::<Vec<_>>(), flag);
    }
    // Values a simulation once accepted without a word.
    for (extra, flag) in [
        (&["--max-tokens=inf"][..], "--max-tokens"),
        (&["--model-max-tokens=inf"][..], "--model-max-tokens"),
        (&["--quota-tpm=1e308"][..], "--quota-tpm"),
        (
            &["--cached-prefix-tokens=1e308"][..],
            "--cached-prefix-tokens",
        ),
        (
            &["--sagemaker", "--instances=1..4000000000"][..],
            "--instances",
        ),
        (&["--sagemaker", "--slots=4000000000"][..], "--slots"),
        (
            &["--sagemaker", "--target-invocations=inf"][..],
            "--target-invocations",
        ),
    ] {
        let mut args = CLOSED_LOOP.to_vec();
        args.extend_from_slice(extra);
        refused(&args, flag);
    }
}

/// A table whose level no server runs (concurrency 1e12 once tried to allocate 64 TB; 2,000,000
/// or an output of 1e9 tokens never finished) is refused with the field named.
#[test]
fn fit_refuses_levels_past_the_bounds() {
    let table = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/calibration/reference/seed002_bedrock_llama33_70b.csv"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (column, value, field) in [
        (3, "1e12", "concurrency"),
        (3, "2000000", "concurrency"),
        (2, "1e9", "output_tokens"),
        (1, "1e15", "input_tokens"),
    ] {
        let mut lines: Vec<String> = table.lines().map(str::to_string).collect();
        let mut cells: Vec<String> = lines[2].split(',').map(str::to_string).collect();
        cells[column] = value.to_string();
        lines[2] = cells.join(",");
        let path = dir.path().join("table.csv");
        std::fs::write(&path, lines.join("\n")).unwrap();
        refused(&["fit", path.to_str().unwrap()], field);
    }
}
