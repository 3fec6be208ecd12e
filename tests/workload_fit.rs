//! `llmcap workload fit` on a synthetic log whose generating law is known: 2 days of sessions
//! from 300 users, prompts log-normal (median 800, sigma 0.6), replies two-humped, a known
//! daily curve; written as gzipped Bedrock invocation logs, plain Bedrock logs, OpenAI usage
//! lines and CSV, with malformed lines at known places. Every figure is checked against the
//! generating law within sampling error, and against a computation of its own from the generated
//! records (not llmcap's code).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;

use assert_cmd::Command;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};

const T0: i64 = 1_793_491_200; // 2026-11-01T00:00:00Z
const LLAMA: &str = "meta.llama3-3-70b-instruct-v1:0";
const MISTRAL: &str = "mistral.mistral-large-2407-v1:0";

#[derive(Clone, Debug)]
struct Req {
    t: i64,
    user: usize,
    prompt: u64,
    cache_read: u64,
    output: u64,
}

impl Req {
    fn model(&self) -> &'static str {
        if self.user < 240 {
            LLAMA
        } else {
            MISTRAL
        }
    }
}

fn hourly_weights() -> [f64; 24] {
    let mut w = [0.0; 24];
    for (h, w) in w.iter_mut().enumerate() {
        *w = 1.0 + 0.8 * (2.0 * std::f64::consts::PI * (h as f64 - 9.0) / 24.0).sin();
    }
    let total: f64 = w.iter().sum();
    w.map(|x| x / total)
}

fn generate() -> Vec<Req> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_261_101);
    let shares = hourly_weights();
    let prompt = LogNormal::new(800f64.ln(), 0.6).unwrap();
    let users = 300;
    let mut free_at = vec![i64::MIN; users];
    // Session starts from the daily curve, in time order; each goes to a user who has been idle
    // for over 40 minutes, so sessions never merge.
    let mut starts: Vec<i64> = (0..6_000)
        .map(|_| {
            let day = rng.random_range(0..2_i64);
            let mut u: f64 = rng.random();
            let mut hour = 23;
            for (h, s) in shares.iter().enumerate() {
                if u < *s {
                    hour = h as i64;
                    break;
                }
                u -= s;
            }
            T0 + day * 86_400 + hour * 3_600 + rng.random_range(0..3_600)
        })
        .collect();
    starts.sort();
    let mut requests = Vec::new();
    for start in starts {
        let user = loop {
            let u = rng.random_range(0..users);
            if free_at[u] <= start {
                break u;
            }
        };
        let turns = rng.random_range(1..=6);
        let mut t = start;
        for turn in 0..turns {
            if turn > 0 {
                t += rng.random_range(20..=100);
            }
            let p = (prompt.sample(&mut rng).round() as u64).max(1);
            let cache_read = if rng.random::<f64>() < 0.03 { p / 2 } else { 0 };
            let output = match rng.random_range(0..1_000) {
                0 => 0,
                k if k % 2 == 0 => rng.random_range(10..=30),
                _ => rng.random_range(500..=700),
            };
            requests.push(Req {
                t,
                user,
                prompt: p,
                cache_read,
                output,
            });
        }
        free_at[user] = t + 2_400;
    }
    requests.sort_by_key(|r| (r.t, r.user));
    requests
}

/// The caller as every format names it (Bedrock's identity.arn; the others' user column).
fn user_name(user: usize) -> String {
    format!("arn:aws:sts::123456789012:assumed-role/app/user-{user}")
}

fn bedrock_line(r: &Req) -> String {
    let body = "Summarise the following support ticket in two sentences. ".repeat(20);
    serde_json::json!({
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": format_iso(r.t),
        "accountId": "123456789012",
        "identity": { "arn": user_name(r.user) },
        "region": "us-east-1",
        "requestId": format!("req-{}-{}", r.t, r.user),
        "operation": "ConverseStream",
        "modelId": r.model(),
        "input": {
            "inputContentType": "application/json",
            "inputBodyJson": { "messages": [ { "role": "user", "content": [ { "text": body } ] } ] },
            "inputTokenCount": r.prompt - r.cache_read,
            "cacheReadInputTokenCount": r.cache_read,
            "cacheWriteInputTokenCount": 0
        },
        "output": {
            "outputContentType": "application/json",
            "outputBodyJson": { "stopReason": "end_turn", "usage": { "inputTokens": r.prompt - r.cache_read, "outputTokens": r.output } },
            "outputTokenCount": r.output
        }
    })
    .to_string()
}

fn openai_line(r: &Req) -> String {
    serde_json::json!({
        "id": format!("chatcmpl-{}", r.t),
        "object": "chat.completion",
        "created": r.t,
        "model": r.model(),
        "user": user_name(r.user),
        "usage": {
            "prompt_tokens": r.prompt,
            "completion_tokens": r.output,
            "total_tokens": r.prompt + r.output,
            "prompt_tokens_details": { "cached_tokens": r.cache_read }
        }
    })
    .to_string()
}

fn csv_line(r: &Req) -> String {
    format!(
        "{},{},{},{},{},{}",
        r.t,
        r.prompt,
        r.output,
        r.cache_read,
        user_name(r.user),
        r.model()
    )
}

/// ISO 8601, computed here rather than with llmcap's formatter.
fn format_iso(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // November 2026 only (the generated span): day 20,393 is 2026-11-01.
    let day = days - 20_758 + 1;
    assert!((1..=30).contains(&day) || day == 31 || day == 32);
    let (month, day) = if day <= 30 { (11, day) } else { (12, day - 30) };
    format!(
        "2026-{month:02}-{day:02}T{:02}:{:02}:{:02}.250Z",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Inserts `bad` lines so that each lands at its 1-based line number.
fn with_bad_lines(mut lines: Vec<String>, bad: &[(usize, &str)]) -> Vec<String> {
    for (line, text) in bad {
        lines.insert(line - 1, text.to_string());
    }
    lines
}

fn write(path: &Path, lines: &[String], gzip: bool) {
    let mut text = lines.join("\n");
    text.push('\n');
    let bytes = if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap()
    } else {
        text.into_bytes()
    };
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Nearest rank, written out here: the value at rank ⌈q·n⌉ (at least 1) of the sorted values.
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

#[test]
fn a_synthetic_log_is_learned_back() {
    let requests = generate();
    let n = requests.len();
    assert!((18_000..24_000).contains(&n), "{n} requests");

    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    // Day 1 morning: gzipped Bedrock (named .json: told by its bytes), afternoon plain
    // Bedrock; day 2 morning OpenAI lines, afternoon CSV.
    // Half a day a file, in time order (a session's later turns may be in the next file).
    let file_of = |r: &Req| match r.t - T0 {
        s if s < 43_200 => 0,
        s if s < 86_400 => 1,
        s if s < 129_600 => 2,
        _ => 3,
    };
    let pick =
        |file: usize| -> Vec<&Req> { requests.iter().filter(|r| file_of(r) == file).collect() };
    let gz: Vec<String> = pick(0).into_iter().map(bedrock_line).collect();
    let gz = with_bad_lines(
        gz,
        &[
            (
                7,
                r#"{"schemaType":"ModelInvocationLog","timestamp":"2026-11-01T03:00:00Z","modelId":"x","input":{"inputTokenCount":5},"output":{}}"#,
            ),
            (12, ""),
        ],
    );
    write(&logs.join("a/bedrock-part-0.json"), &gz, true);
    let plain: Vec<String> = pick(1).into_iter().map(bedrock_line).collect();
    write(&logs.join("a/bedrock-part-1.json.gz"), &plain, false);
    let openai: Vec<String> = pick(2).into_iter().map(openai_line).collect();
    let openai = with_bad_lines(
        openai,
        &[
            (3, "this is not json"),
            (
                10,
                r#"{"created": 1793577600, "usage": {"prompt_tokens": -4, "completion_tokens": 2}}"#,
            ),
        ],
    );
    write(&logs.join("b_usage.jsonl"), &openai, false);
    let mut csv = vec!["timestamp,input_tokens,output_tokens,cached_tokens,user,model".to_string()];
    csv.extend(pick(3).into_iter().map(csv_line));
    let csv = with_bad_lines(csv, &[(5, "noon,100,20,0,user-1,x")]);
    write(&logs.join("c.csv"), &csv, false);
    let used = pick(0).len() + pick(1).len() + pick(2).len() + pick(3).len();
    assert_eq!(used, n, "every request in one file");

    let out = dir.path().join("workload.toml");
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["workload", "fit"])
        .arg(&logs)
        .arg("--out")
        .arg(&out)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let toml: toml::Value = toml::from_str(&text).unwrap();

    // Records and the skipped lines, by file and line.
    assert_eq!(json["records"].as_u64(), Some(n as u64));
    assert_eq!(toml["measured"]["records"].as_integer(), Some(n as i64));
    assert_eq!(json["skipped_total"].as_u64(), Some(4));
    let name = |f: &str| logs.join(f).display().to_string();
    let skipped: BTreeMap<String, (u64, Vec<String>)> = json["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["reason"].as_str().unwrap().to_string(),
                (
                    s["count"].as_u64().unwrap(),
                    s["lines"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|l| l.as_str().unwrap().to_string())
                        .collect(),
                ),
            )
        })
        .collect();
    let expected: BTreeMap<String, (u64, Vec<String>)> = [
        (
            "not_json",
            vec![format!("{} line 3", name("b_usage.jsonl"))],
        ),
        (
            "no_token_counts",
            vec![format!("{} line 7", name("a/bedrock-part-0.json"))],
        ),
        (
            "bad_token_count",
            vec![format!("{} line 10", name("b_usage.jsonl"))],
        ),
        ("bad_timestamp", vec![format!("{} line 5", name("c.csv"))]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), (1, v)))
    .collect();
    assert_eq!(skipped, expected);
    assert!(
        text.contains(&format!("{} line 3", name("b_usage.jsonl"))),
        "{text}"
    );
    let zero = requests.iter().filter(|r| r.output == 0).count();
    assert_eq!(json["zero_output"].as_u64(), Some(zero as u64));

    // Prompt lengths: the generating log-normal, and exactly the sample's own quantiles.
    let class = &toml["class"][0];
    assert_eq!(
        class["cached_prefix"].as_integer(),
        Some(0),
        "3 % use the cache"
    );
    let message = &class["message"];
    assert_eq!(message["dist"].as_str(), Some("lognormal"), "{text}");
    let median = message["median"].as_float().unwrap();
    let p90 = message["p90"].as_float().unwrap();
    let true_p90 = 800.0 * (0.6 * 1.2816_f64).exp();
    assert!((median / 800.0 - 1.0).abs() < 0.03, "median {median}");
    assert!(
        (p90 / true_p90 - 1.0).abs() < 0.04,
        "p90 {p90} vs {true_p90}"
    );
    let mut prompts: Vec<f64> = requests.iter().map(|r| r.prompt as f64).collect();
    prompts.sort_by(f64::total_cmp);
    // Below 2,048 the histogram's buckets are single tokens.
    assert_eq!(median, nearest_rank(&prompts, 0.5));
    assert_eq!(p90, nearest_rank(&prompts, 0.9));
    assert!(text.contains("# message (the whole prompt less cached_prefix): log-normal median"));
    assert!(text.contains("(good fit)"));

    // Replies are two-humped: quantiles, equal to the sample's.
    let reply = &class["reply"];
    assert_eq!(reply["dist"].as_str(), Some("quantiles"), "{text}");
    let mut outputs: Vec<f64> = requests.iter().map(|r| r.output as f64).collect();
    outputs.sort_by(f64::total_cmp);
    for point in reply["points"].as_array().unwrap() {
        let q = point[0].as_float().unwrap();
        assert_eq!(
            point[1].as_float().unwrap(),
            nearest_rank(&outputs, q),
            "q {q}"
        );
    }
    assert!(text.contains("(poor fit: quantiles written)"));

    // The cache: share of prompt tokens read from it, to 4 decimals.
    let cached: u64 = requests.iter().map(|r| r.cache_read).sum();
    let total: u64 = requests.iter().map(|r| r.prompt).sum();
    let share = toml["measured"]["cached_share"].as_float().unwrap();
    assert!(
        (share - cached as f64 / total as f64).abs() <= 0.00005,
        "{share}"
    );

    // The daily curve: the records' own shares (to the written 4 decimals), and the
    // generating shares within sampling error (6,000 sessions of 3.5 requests).
    let hourly: Vec<f64> = toml["daily"]["hourly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_float().unwrap())
        .collect();
    assert_eq!(hourly.len(), 24);
    assert!((hourly.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    let mut counts = [0u64; 24];
    for r in &requests {
        counts[(r.t.rem_euclid(86_400) / 3_600) as usize] += 1;
    }
    for (h, (&fitted, weight)) in hourly.iter().zip(hourly_weights()).enumerate() {
        let own = counts[h] as f64 / n as f64;
        assert!((fitted - own).abs() <= 1e-4, "hour {h}: {fitted} vs {own}");
        assert!(
            (fitted - weight).abs() < 0.012,
            "hour {h}: {fitted} vs {weight}"
        );
    }

    // Sessions: think time (mean gap within sessions), turns, gap between sessions,
    // requests per active user-hour, computed here from each user's times.
    let mut by_user: HashMap<usize, Vec<i64>> = HashMap::new();
    for r in &requests {
        by_user.entry(r.user).or_default().push(r.t);
    }
    let (mut gaps, mut sessions, mut between) = (Vec::new(), 0u64, Vec::new());
    let mut user_hours = BTreeSet::new();
    for (user, times) in &mut by_user {
        times.sort();
        sessions += 1;
        for w in times.windows(2) {
            let gap = w[1] - w[0];
            if gap > 1_800 {
                sessions += 1;
                between.push(gap as f64);
            } else {
                gaps.push(gap as f64);
            }
        }
        for t in times.iter() {
            user_hours.insert((*user, t.div_euclid(3_600)));
        }
    }
    let think = toml["think_time_s"].as_float().unwrap();
    let mean_gap = gaps.iter().sum::<f64>() / gaps.len() as f64;
    // The histogram keeps 3 significant digits.
    assert!(
        (think / mean_gap - 1.0).abs() < 0.005,
        "{think} vs {mean_gap}"
    );
    assert!((think - 60.0).abs() <= 3.0, "uniform 20..=100 s: {think}");
    let turns = toml["turns_per_session"].as_float().unwrap();
    assert!(
        (turns - n as f64 / sessions as f64).abs() <= 0.005,
        "{turns} vs {n} / {sessions}"
    );
    assert_eq!(sessions, 6_000, "sessions never merge");
    assert!((turns - 3.5).abs() < 0.1, "uniform 1..=6 turns: {turns}");
    let gap = toml["session_gap_s"].as_float().unwrap();
    assert!(!between.is_empty());
    let per_hour = toml["measured"]["requests_per_active_user_hour"]
        .as_float()
        .unwrap();
    // The gap that makes a simulated user send what an active user sent in an hour.
    let expected_gap = turns * 3_600.0 / per_hour - (turns - 1.0) * think;
    assert!(
        (gap - expected_gap).abs() <= 0.05 * expected_gap.max(1.0),
        "{gap} vs {expected_gap}"
    );
    println!(
        "{n} requests; message median {median} p90 {p90} (generating 800, {true_p90:.0}); think {think} s; turns {turns}; session gap {gap} s"
    );
    let per_hour = toml["measured"]["requests_per_active_user_hour"]
        .as_float()
        .unwrap();
    assert!((per_hour - n as f64 / user_hours.len() as f64).abs() <= 0.005);

    // Per model per minute, over every minute of the span.
    let first_minute = requests.iter().map(|r| r.t.div_euclid(60)).min().unwrap();
    let last_minute = requests.iter().map(|r| r.t.div_euclid(60)).max().unwrap();
    let span = (last_minute - first_minute + 1) as usize;
    let models = toml["measured"]["model"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    for model in models {
        let id = model["model"].as_str().unwrap();
        let mut tokens = vec![0.0; span];
        let mut rpm = vec![0.0; span];
        let mut count = 0;
        for r in requests.iter().filter(|r| r.model() == id) {
            let m = (r.t.div_euclid(60) - first_minute) as usize;
            tokens[m] += (r.prompt + r.output) as f64;
            rpm[m] += 1.0;
            count += 1;
        }
        assert_eq!(model["requests"].as_integer(), Some(count));
        assert_eq!(model["minutes"].as_integer(), Some(span as i64));
        tokens.sort_by(f64::total_cmp);
        rpm.sort_by(f64::total_cmp);
        let figure = |key: &str| model[key].as_float().unwrap();
        assert_eq!(figure("tpm_max"), *tokens.last().unwrap(), "{id}");
        assert_eq!(figure("tpm_p99"), nearest_rank(&tokens, 0.99), "{id}");
        assert_eq!(figure("tpm_p50"), nearest_rank(&tokens, 0.5), "{id}");
        assert_eq!(figure("rpm_max"), *rpm.last().unwrap(), "{id}");
        assert_eq!(figure("rpm_p99"), nearest_rank(&rpm, 0.99), "{id}");
    }
}

#[test]
fn nothing_usable_is_an_error_naming_the_file_and_the_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(&path, "garbage\n{\"created\": 5}\n").unwrap();
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["workload", "fit"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no usable request record"), "{stderr}");
    assert!(stderr.contains("bad.jsonl line 1"), "{stderr}");
    assert!(stderr.contains("bad.jsonl line 2"), "{stderr}");
}

#[test]
fn a_gzip_cut_short_keeps_what_was_read_and_names_where_it_broke() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..2_000)
        .map(|i| {
            format!(
                r#"{{"created": {}, "usage": {{"prompt_tokens": {}, "completion_tokens": 5}}}}"#,
                T0 + i * 7,
                100 + i % 37
            )
        })
        .collect();
    let whole = dir.path().join("whole.jsonl.gz");
    write(&whole, &lines, true);
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.path().join("cut.jsonl.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["workload", "fit", "--json"])
        .arg(&cut)
        .arg(&whole)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let records = json["records"].as_u64().unwrap();
    // All of the whole file, part of the cut one (each line read is a record).
    assert!(records > 2_000 && records < 4_000, "{records}");
    let skipped = &json["skipped"][0];
    assert_eq!(skipped["reason"].as_str(), Some("unreadable"));
    let line = skipped["lines"][0].as_str().unwrap();
    // Named: the line after the last whole line read from the cut file.
    let expected = format!("{} line {}", cut.display(), records - 2_000 + 1);
    assert_eq!(line, expected);
}

/// Logs where some requests use the prompt cache and the rest do not are learned as two
/// classes: their shares within 2 points of the generating 30/70 split, each class's message
/// median within 5 % of its own, and the file plans.
#[test]
fn partly_cached_logs_are_learned_as_two_classes() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let cached_message = LogNormal::new(500f64.ln(), 0.5).unwrap();
    let uncached_message = LogNormal::new(800f64.ln(), 0.5).unwrap();
    let mut csv = String::from("timestamp,input_tokens,output_tokens,cached_tokens\n");
    for i in 0..4_000i64 {
        let t = 1_795_000_000 + i * 20;
        if rng.random::<f64>() < 0.3 {
            let m = cached_message.sample(&mut rng).round() as i64;
            csv.push_str(&format!("{t},{},200,2000\n", 2_000 + m));
        } else {
            let m = uncached_message.sample(&mut rng).round() as i64;
            csv.push_str(&format!("{t},{m},200,0\n"));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("usage.csv"), csv).unwrap();
    let out = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir.path())
        .args(["workload", "fit", "usage.csv", "--out", "w.toml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("w.toml")).unwrap();
    let w: toml::Value = toml::from_str(&text).unwrap();
    let classes = w["class"].as_array().unwrap();
    assert_eq!(classes.len(), 2, "{text}");
    let (cached, uncached) = (&classes[0], &classes[1]);
    assert!(
        (cached["share"].as_float().unwrap() - 0.3).abs() < 0.02,
        "{text}"
    );
    assert_eq!(cached["cached_prefix"].as_integer(), Some(2_000));
    let median = |c: &toml::Value| {
        let m = &c["message"];
        match m["dist"].as_str() {
            Some("lognormal") => m["median"].as_float().unwrap(),
            _ => m["points"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p[0].as_float() == Some(0.5))
                .unwrap()[1]
                .as_float()
                .unwrap(),
        }
    };
    assert!((median(cached) / 500.0 - 1.0).abs() < 0.05, "{text}");
    assert!((median(uncached) / 800.0 - 1.0).abs() < 0.05, "{text}");
    // The learned workload is a valid scenario workload.
    let spec: llmcap::workload::WorkloadSpec = toml::from_str(&text).unwrap();
    spec.validate().unwrap();
}
