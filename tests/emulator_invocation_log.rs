//! Round trip: a known mix of requests sent through the real Bedrock SDK to
//! `llmcap emulate --invocation-log`, the log it writes in Bedrock's schema learned by
//! `llmcap workload fit`, and the generating distributions recovered (medians within 5 %,
//! p90s within 10 %), with the token counts equal to what was sent.

mod support;

use std::sync::Arc;

use assert_cmd::Command;
use llmcap::emulate::{Emulator, EmulatorConfig};
use rand::SeedableRng;
use rand_distr::{Distribution, LogNormal};
use support::{bedrock_client, max_tokens, user, FAST_MODEL};

const REQUESTS: usize = 1_000;
const CONCURRENCY: usize = 50;
/// Prompt tokens: log-normal, median 600, σ 0.5; replies: median 40, σ 0.4.
const PROMPT: (f64, f64) = (600.0, 0.5);
const REPLY: (f64, f64) = (40.0, 0.4);
const Z90: f64 = 1.281_551_565_5;

/// The fast test profile made faster still (a reply of 40 tokens in a few milliseconds).
fn instant_profile() -> llmcap::perf::Profile {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/emulator-fast.toml");
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("t0_s = 0.004", "t0_s = 0.0001")
        .replace("t1_s = 0.001", "t1_s = 0.0")
        .replace("t2_s = 0.000001", "t2_s = 0.0")
        .replace("a0_s = 0.02", "a0_s = 0.001")
        .replace("a1_s = 0.00002", "a1_s = 0.0");
    llmcap::perf::Profile::from_toml_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_mix_is_recovered_from_the_emulators_invocation_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("invocations.jsonl");
    let mut config = EmulatorConfig::new(instant_profile());
    config.noise = false;
    config.invocation_log = Some(log.clone());
    let emulator = Emulator::start(config).await.unwrap();
    let client = Arc::new(bedrock_client(&emulator.url()));

    // The mix: each request's prompt and reply lengths drawn here (the emulator counts a
    // token per 4 characters and answers exactly max_tokens).
    let mut rng = rand::rngs::StdRng::seed_from_u64(34);
    let prompt = LogNormal::new(PROMPT.0.ln(), PROMPT.1).unwrap();
    let reply = LogNormal::new(REPLY.0.ln(), REPLY.1).unwrap();
    let sent: Vec<(u64, u64)> = (0..REQUESTS)
        .map(|_| {
            (
                (prompt.sample(&mut rng).round() as u64).max(1),
                (reply.sample(&mut rng).round() as u64).max(1),
            )
        })
        .collect();
    for chunk in sent.chunks(CONCURRENCY) {
        let calls: Vec<_> = chunk
            .iter()
            .map(|&(p, o)| {
                let client = Arc::clone(&client);
                tokio::spawn(async move {
                    let out = client
                        .converse()
                        .model_id(FAST_MODEL)
                        .messages(user(&"a".repeat(4 * p as usize)))
                        .inference_config(max_tokens(o as i32))
                        .send()
                        .await
                        .expect("the emulator answers");
                    assert_eq!(out.usage().unwrap().output_tokens() as u64, o);
                })
            })
            .collect();
        for call in calls {
            call.await.unwrap();
        }
    }
    drop(emulator);

    // Every invocation is in the log with the counts sent.
    let text = std::fs::read_to_string(&log).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), REQUESTS);
    let mut logged: Vec<(u64, u64)> = records
        .iter()
        .map(|r| {
            assert_eq!(r["schemaType"], "ModelInvocationLog");
            assert_eq!(r["operation"], "Converse");
            assert_eq!(r["modelId"], FAST_MODEL);
            (
                r["input"]["inputTokenCount"].as_u64().unwrap(),
                r["output"]["outputTokenCount"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut expected = sent.clone();
    logged.sort();
    expected.sort();
    assert_eq!(logged, expected);

    // Learned back: the generating medians within 5 %, p90s within 10 %.
    let out = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir.path())
        .args(["workload", "fit", "invocations.jsonl", "--out", "w.toml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let w: toml::Value =
        toml::from_str(&std::fs::read_to_string(dir.path().join("w.toml")).unwrap()).unwrap();
    let class = &w["class"][0];
    for (field, (median, sigma)) in [("message", PROMPT), ("reply", REPLY)] {
        let d = &class[field];
        assert_eq!(d["dist"].as_str(), Some("lognormal"), "{field}: {d}");
        let fitted_median = d["median"].as_float().unwrap();
        let fitted_p90 = d["p90"].as_float().unwrap();
        let p90 = median * (Z90 * sigma).exp();
        eprintln!("{field}: median {fitted_median} (generated {median}), p90 {fitted_p90} (generated {p90:.0})");
        assert!((fitted_median / median - 1.0).abs() < 0.05, "{field}");
        assert!((fitted_p90 / p90 - 1.0).abs() < 0.10, "{field}");
    }
    assert_eq!(w["measured"]["records"].as_integer(), Some(REQUESTS as i64));
}
