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
