//! Round trip: a known mix of requests sent through the real Bedrock SDK to
//! `llmcap emulate --invocation-log`, the log it writes in Bedrock's schema learned by
//! `llmcap workload fit`, and the generating distributions recovered (medians within 5 %,
//! p90s within 10 %), with the token counts equal to what was sent; then a generated day of two
//! request classes (one with a cached system prompt, sent with Converse's `cachePoint`), its
//! class shares recovered within 2 points and its hourly shape hour by hour.

mod support;

use std::sync::Arc;

use assert_cmd::Command;
use aws_sdk_bedrockruntime::types::{CachePointBlock, CachePointType, SystemContentBlock};
use llmcap::emulate::WallClock;
use llmcap::emulate::{Emulator, EmulatorConfig};
use rand::{Rng, SeedableRng};
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
    let w = fit(dir.path());
    let class = &w["class"][0];
    recovered(class, "message", PROMPT);
    recovered(class, "reply", REPLY);
    assert_eq!(w["measured"]["records"].as_integer(), Some(REQUESTS as i64));
}

/// `llmcap workload fit invocations.jsonl` in `dir`, its file read back.
fn fit(dir: &std::path::Path) -> toml::Value {
    let out = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir)
        .args(["workload", "fit", "invocations.jsonl", "--out", "w.toml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    toml::from_str(&std::fs::read_to_string(dir.join("w.toml")).unwrap()).unwrap()
}

/// A fitted class's `field` is log-normal with the generating median within 5 % and p90
/// within 10 %.
fn recovered(class: &toml::Value, field: &str, (median, sigma): (f64, f64)) {
    let d = &class[field];
    assert_eq!(d["dist"].as_str(), Some("lognormal"), "{field}: {d}");
    let fitted_median = d["median"].as_float().unwrap();
    let fitted_p90 = d["p90"].as_float().unwrap();
    let p90 = median * (Z90 * sigma).exp();
    eprintln!(
        "{field}: median {fitted_median} (generated {median}), p90 {fitted_p90} (generated {p90:.0})"
    );
    assert!((fitted_median / median - 1.0).abs() < 0.05, "{field}");
    assert!((fitted_p90 / p90 - 1.0).abs() < 0.10, "{field}");
}

/// A day's requests, their share each UTC hour: quiet nights, a morning and an afternoon peak.
const HOURLY_WEIGHT: [f64; 24] = [
    1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 4.0, 8.0, 12.0, 14.0, 13.0, 10.0, 8.0, 10.0, 13.0, 14.0, 11.0,
    8.0, 5.0, 3.0, 2.0, 2.0, 1.0, 1.0,
];
const DAY_REQUESTS: usize = 3_000;
/// The document-Q&A class: its share, a 2,000-token system prompt behind a `cachePoint`, its
/// message and reply (median, σ); the chat class has no system prompt.
const DOCS_SHARE: f64 = 0.30;
const DOCS_SYSTEM_TOKENS: u64 = 2_000;
const DOCS: [(f64, f64); 2] = [(300.0, 0.5), (120.0, 0.4)];
const CHAT: [(f64, f64); 2] = [(150.0, 0.6), (60.0, 0.5)];
/// 2026-11-02T00:00:00Z.
const DAY_START_S: i64 = 1_793_577_600;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_days_classes_and_hourly_shape_are_recovered_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("invocations.jsonl");
    let clock = WallClock::manual(DAY_START_S);
    let mut config = EmulatorConfig::new(instant_profile());
    config.noise = false;
    config.invocation_log = Some(log.clone());
    config.wall_clock = clock.clone();
    let emulator = Emulator::start(config).await.unwrap();
    let client = Arc::new(bedrock_client(&emulator.url()));

    let total: f64 = HOURLY_WEIGHT.iter().sum();
    let per_hour: Vec<usize> = HOURLY_WEIGHT
        .iter()
        .map(|w| (w / total * DAY_REQUESTS as f64).round() as usize)
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(341);
    let draw = |(median, sigma): (f64, f64), rng: &mut rand::rngs::StdRng| {
        (LogNormal::new(f64::ln(median), sigma)
            .unwrap()
            .sample(rng)
            .round() as u64)
            .max(1)
    };
    let system = "d".repeat(4 * DOCS_SYSTEM_TOKENS as usize);
    let mut docs_sent = 0;
    for (hour, &n) in per_hour.iter().enumerate() {
        let requests: Vec<(bool, u64, u64)> = (0..n)
            .map(|_| {
                let docs = rng.random::<f64>() < DOCS_SHARE;
                let [message, reply] = if docs { DOCS } else { CHAT };
                (docs, draw(message, &mut rng), draw(reply, &mut rng))
            })
            .collect();
        docs_sent += requests.iter().filter(|r| r.0).count();
        for (batch, chunk) in requests.chunks(CONCURRENCY).enumerate() {
            // Each batch stamped a minute into its hour (a batch is settled before the next).
            clock.set(DAY_START_S + hour as i64 * 3_600 + (batch as i64 % 60) * 60);
            let calls: Vec<_> = chunk
                .iter()
                .map(|&(docs, message, reply)| {
                    let client = Arc::clone(&client);
                    let system = system.clone();
                    tokio::spawn(async move {
                        let mut call = client
                            .converse()
                            .model_id(FAST_MODEL)
                            .messages(user(&"a".repeat(4 * message as usize)))
                            .inference_config(max_tokens(reply as i32));
                        if docs {
                            let point = CachePointBlock::builder()
                                .r#type(CachePointType::Default)
                                .build()
                                .unwrap();
                            call = call
                                .system(SystemContentBlock::Text(system))
                                .system(SystemContentBlock::CachePoint(point));
                        }
                        let out = call.send().await.expect("the emulator answers");
                        let usage = out.usage().unwrap();
                        let cached = usage.cache_read_input_tokens().unwrap_or(0)
                            + usage.cache_write_input_tokens().unwrap_or(0);
                        assert_eq!(cached as u64, if docs { DOCS_SYSTEM_TOKENS } else { 0 });
                        assert_eq!(usage.input_tokens() as u64, message);
                    })
                })
                .collect();
            for call in calls {
                call.await.unwrap();
            }
        }
    }
    drop(emulator);

    let w = fit(dir.path());
    let sent = per_hour.iter().sum::<usize>();
    assert_eq!(w["measured"]["records"].as_integer(), Some(sent as i64));
    // Class shares within 2 points of what generated them (and equal to what was sent).
    let classes = w["class"].as_array().unwrap();
    assert_eq!(classes.len(), 2, "{classes:?}");
    let (cached, uncached) = (&classes[0], &classes[1]);
    assert_eq!(cached["name"].as_str(), Some("cached"));
    let share = cached["share"].as_float().unwrap();
    eprintln!("cached share {share} (generated {DOCS_SHARE}, sent {docs_sent}/{sent})");
    assert!((share - DOCS_SHARE).abs() < 0.02);
    assert!((share - docs_sent as f64 / sent as f64).abs() < 1e-4);
    assert_eq!(
        cached["cached_prefix"].as_integer(),
        Some(DOCS_SYSTEM_TOKENS as i64)
    );
    recovered(cached, "message", DOCS[0]);
    recovered(cached, "reply", DOCS[1]);
    recovered(uncached, "message", CHAT[0]);
    recovered(uncached, "reply", CHAT[1]);
    // The hourly shape: each UTC hour's share within half a point of the generating weight.
    let hourly: Vec<f64> = w["daily"]["hourly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_float().unwrap())
        .collect();
    assert_eq!(hourly.len(), 24);
    for (hour, (fitted, weight)) in hourly.iter().zip(HOURLY_WEIGHT).enumerate() {
        let generated = weight / total;
        assert!(
            (fitted - generated).abs() < 0.005,
            "hour {hour}: fitted {fitted}, generated {generated:.4}"
        );
    }
}
