//! `simulate`, `workloads` and `bench-sim` as a user runs them.

use assert_cmd::Command;
use serde_json::Value;

const PROFILE: &str = "models/bedrock-llama3-3-70b-instruct.toml";

fn run(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("llmcap")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

fn json(args: &[&str]) -> Value {
    let output = run(args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn closed_loop_json_contract_and_agreement_with_predict() {
    let sim = json(&[
        "simulate",
        "--profile",
        PROFILE,
        "--concurrency",
        "30",
        "--prompt-tokens",
        "6027",
        "--output-tokens",
        "350",
        "--requests",
        "3000",
        "--no-noise",
        "--json",
    ]);
    for key in ["ttft_s", "tpot_s"] {
        for q in ["p50", "p90", "p95", "p99"] {
            assert!(sim[key][q].as_f64().unwrap() > 0.0, "{key}.{q}");
        }
    }
    for key in ["requests", "throttled", "failed", "duration_s"] {
        assert!(sim[key].is_number(), "{key}");
    }
    assert_eq!(sim["requests"], 3000);
    let predicted = json(&[
        "predict",
        "--profile",
        PROFILE,
        "--concurrency",
        "30",
        "--prompt-tokens",
        "6027",
        "--json",
    ]);
    let tpot = predicted[0]["tpot_s"].as_f64().unwrap();
    let simulated = sim["tpot_s"]["p50"].as_f64().unwrap();
    assert!(
        (simulated / tpot - 1.0).abs() < 0.01,
        "simulated {simulated} vs predicted {tpot}"
    );
}

#[test]
fn quota_throttles_show_up() {
    let sim = json(&[
        "simulate",
        "--profile",
        PROFILE,
        "--workload",
        "rag_document_qa",
        "--rate",
        "10/s",
        "--duration",
        "10m",
        "--quota-tpm",
        "600000",
        "--json",
    ]);
    // 10 requests/s × (2,048 + 512 reserved) tokens is ~1.5 M tokens a minute against 600 k.
    assert!(sim["throttled"].as_u64().unwrap() > 1000, "{sim}");
    assert!(sim["failed"].as_u64().unwrap() > 0);
}

#[test]
fn sagemaker_autoscaling_run_writes_its_series() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&[
        "simulate",
        "--profile",
        PROFILE,
        "--workload",
        "multi_turn_chat",
        "--users",
        "400",
        "--duration",
        "30m",
        "--sagemaker",
        "--instances",
        "1..6",
        "--slots",
        "16",
        "--target-invocations",
        "60",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let csv = std::fs::read_to_string(dir.path().join("minutes.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.contains("tpm_charged") && header.contains("instances_in_service"));
    // The Parquet twin holds the same rows and the same numbers.
    use polars::prelude::{ParquetReader, SerReader};
    let frame =
        ParquetReader::new(std::fs::File::open(dir.path().join("minutes.parquet")).unwrap())
            .finish()
            .unwrap();
    assert_eq!(frame.height(), csv.lines().count() - 1);
    let parquet_sum: f64 = frame
        .column("tpm_charged")
        .unwrap()
        .as_materialized_series()
        .sum::<f64>()
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "tpm_charged")
        .unwrap();
    let csv_sum: f64 = reader
        .records()
        .map(|r| r.unwrap()[column].parse::<f64>().unwrap())
        .sum();
    assert!(
        (parquet_sum - csv_sum).abs() < 1e-6 * csv_sum.max(1.0),
        "{parquet_sum} vs {csv_sum}"
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    assert!(
        summary["instance_hours"].as_f64().unwrap() >= 0.5,
        "{summary}"
    );
}

#[test]
fn workloads_lists_the_six_profiles() {
    let list = json(&["workloads", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 6);
    let text = String::from_utf8(run(&["workloads"]).stdout).unwrap();
    for name in [
        "multi_turn_chat",
        "rag_document_qa",
        "agent_tool_calling",
        "long_context_scaling",
        "production_traffic_mix",
        "shared_system_prompt",
    ] {
        assert!(text.contains(name), "{name}");
    }
}

#[test]
fn bad_simulations_are_explained() {
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "simulate",
                "--profile",
                PROFILE,
                "--workload",
                "chitchat",
                "--users",
                "5",
            ],
            "unknown workload `chitchat`",
        ),
        (
            &["simulate", "--profile", PROFILE, "--rate", "fast"],
            "rate `fast`",
        ),
        (
            &[
                "simulate",
                "--profile",
                PROFILE,
                "--users",
                "5",
                "--duration",
                "5 weeks",
            ],
            "unknown unit",
        ),
        (
            &["simulate", "--workload", "multi_turn_chat", "--users", "5"],
            "--profile",
        ),
    ];
    for (args, expected) in cases {
        let output = run(args);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{stderr:?} lacks {expected:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, "profile = \"p.toml\"\nworkload = \"multi_turn_chat\"\n[load]\nkind = \"users\"\nusers = 5\nduration_s = 60\n[endpoint]\nkind = \"bedrock\"\nmodel_max_tokens = 4096\nwarp = 9\n").unwrap();
    let stderr =
        String::from_utf8(run(&["simulate", "--scenario", scenario.to_str().unwrap()]).stderr)
            .unwrap();
    assert!(
        stderr.contains("s.toml") && stderr.contains("warp"),
        "{stderr}"
    );
}

#[test]
fn bench_sim_prints_its_json_keys() {
    let figures = json(&["bench-sim", "--requests", "20000", "--quick", "--json"]);
    for key in [
        "bedrock_requests_per_s",
        "sagemaker_requests_per_s",
        "peak_rss_bytes",
    ] {
        assert!(figures[key].as_f64().unwrap() > 0.0, "{key}");
    }
}

#[test]
fn trace_replay_and_lengths_from_records() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.csv");
    let mut text = String::from("timestamp_s\n");
    for i in 0..300 {
        text.push_str(&format!("{}\n", 1_700_000_000.0 + f64::from(i) * 0.5));
    }
    std::fs::write(&trace, text).unwrap();
    let run_dir = dir.path().join("run");
    std::fs::create_dir(&run_dir).unwrap();
    let mut records = String::from("concurrency,input_tokens,output_tokens,ttft_s,tpot_s,status\n");
    for (input, output) in [(100, 20), (300, 40), (500, 60)] {
        records.push_str(&format!("1,{input},{output},0.2,0.01,ok\n"));
    }
    std::fs::write(run_dir.join("requests.csv"), records).unwrap();
    let sim = json(&[
        "simulate",
        "--profile",
        PROFILE,
        "--trace",
        trace.to_str().unwrap(),
        "--lengths-from",
        run_dir.to_str().unwrap(),
        "--seed",
        "4",
        "--json",
    ]);
    assert_eq!(sim["requests"], 300, "every trace row is one request");
    let mean_output = sim["output_tokens"].as_f64().unwrap() / 300.0;
    assert!(
        mean_output > 20.0
            && mean_output < 60.0
            && [20.0, 40.0, 60.0]
                .iter()
                .all(|v| (mean_output - v).abs() > 1e-9)
    );
    let mean_input = sim["input_tokens"].as_f64().unwrap() / 300.0;
    assert!((mean_input - 300.0).abs() < 40.0, "{mean_input}");
}

#[test]
fn ctrl_c_stops_a_long_simulation_and_prints_what_was_simulated() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    // 30 requests/s for 30 days: about 78 million requests, minutes of work.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("llmcap"))
        .args([
            "simulate",
            "--profile",
            PROFILE,
            "--workload",
            "multi_turn_chat",
        ])
        .args(["--rate", "30/s", "--duration", "30d", "--progress"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    // Wait for a progress line that shows requests resolved: the run is under way.
    let mut log = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "simulate ended early: {log}"
        );
        log.push_str(&line);
        if line.contains("requests resolved") && !line.starts_with("progress: 0 requests") {
            break;
        }
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(rest.contains("interrupted (Ctrl-C)"), "{rest}");
    assert!(
        stdout.starts_with("PARTIAL after") && stdout.contains("(interrupted (Ctrl-C))"),
        "{stdout}"
    );
    // The partial results are there: requests resolved over part of the 30 days.
    let resolved: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("workload multi_turn_chat — "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary line: {stdout}"));
    assert!(resolved > 0 && resolved < 78_000_000, "{resolved}");
    assert!(stdout.contains("TTFT"), "{stdout}");
}
