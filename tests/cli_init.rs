//! `llmcap init`: every use case writes a scenario that `plan` runs as written, and the path
//! from request logs to a quota request is three commands.

use std::path::Path;

use assert_cmd::Command;

fn llmcap(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = llmcap(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn err(dir: &Path, args: &[&str]) -> String {
    let out = llmcap(dir, args);
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn every_use_case_plans_as_written() {
    let dir = tempfile::tempdir().unwrap();
    for (use_case, model, options) in [
        ("chat", "Llama 3.3 70B Instruct", 2),
        ("rag", "Claude 3.5 Sonnet v2", 1),
        ("agent", "Claude Sonnet 4.5", 1),
        ("batch", "Claude 3.5 Haiku", 1),
    ] {
        let file = format!("{use_case}.toml");
        ok(
            dir.path(),
            &[
                "init",
                "--use-case",
                use_case,
                "--users",
                "300",
                "--model",
                model,
                "--utc-offset",
                "-5",
                "--out",
                &file,
            ],
        );
        let out = format!("plan-{use_case}");
        ok(dir.path(), &["plan", &file, "--out", &out]);
        let plan: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(&out).join("plan.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            plan["options"].as_array().unwrap().len(),
            options,
            "{use_case}"
        );
        assert!(plan["peak_users"].as_u64().unwrap() >= 1, "{use_case}");
    }
    let e = err(dir.path(), &["init", "--out", "chat.toml"]);
    assert!(e.contains("exists") && e.contains("--force"), "{e}");
    let e = err(dir.path(), &["init", "--model", "gpt-4", "--out", "x.toml"]);
    assert!(
        e.contains("gpt-4") && e.contains("Llama 3.3 70B Instruct"),
        "{e}"
    );
}

/// From logs to a quota request in three commands: learn the workload, write a scenario
/// around it, justify the quota (the document shows the logs' measured minutes).
#[test]
fn from_logs_to_a_quota_request_in_three_commands() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("timestamp,input_tokens,output_tokens,cached_tokens,user\n");
    // Two working days of a dozen users, a request every few minutes each.
    for day in 0..2i64 {
        for i in 0..2_000i64 {
            let t = 1_795_000_000 + day * 86_400 + 9 * 3_600 + i * 14;
            let user = i % 12;
            csv.push_str(&format!(
                "{t},{},{},0,user-{user}\n",
                800 + (i * 37) % 900,
                150 + (i * 11) % 300
            ));
        }
    }
    std::fs::write(dir.path().join("usage.csv"), csv).unwrap();
    ok(
        dir.path(),
        &["workload", "fit", "usage.csv", "--out", "traffic.toml"],
    );
    ok(
        dir.path(),
        &[
            "init",
            "--workload",
            "traffic.toml",
            "--model",
            "Claude 3.5 Sonnet v2",
            "--out",
            "s.toml",
        ],
    );
    ok(dir.path(), &["quota", "s.toml", "--justify", "quota.md"]);
    let doc = std::fs::read_to_string(dir.path().join("quota.md")).unwrap();
    assert!(
        doc.contains("anthropic.claude-3-5-sonnet-20241022-v2:0"),
        "{doc}"
    );
    assert!(
        doc.contains("Measured traffic against the simulated peak"),
        "{doc}"
    );
}
