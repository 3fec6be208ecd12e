//! From logs to a quota document: traffic generated here by users who behave as llmcap's users
//! do (sessions of geometric length, exponential pauses), written as a usage CSV, learned by
//! `llmcap workload fit`, and planned with the learned workload at the logs' own volume. The
//! simulated peak's per-minute tokens and requests must agree with the busiest hour measured in
//! the logs, and the quota document must show both.

use std::path::Path;

use assert_cmd::Command;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp, LogNormal};

const USERS: usize = 300;
const DAYS: i64 = 3;
/// Mean pause between sessions, think time between turns, turns a session, reply time.
const GAP_S: f64 = 2_400.0;
const THINK_S: f64 = 40.0;
const TURNS: f64 = 3.0;
const REPLY_S: f64 = 8.0;
const PREFIX: u64 = 4_000;

/// One CSV row per request: every user active around the clock (a flat day), each request a
/// cached 4,000-token prefix plus a log-normal message, a log-normal reply.
fn logs() -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(21);
    let gap = Exp::new(1.0 / GAP_S).unwrap();
    let think = Exp::new(1.0 / THINK_S).unwrap();
    let message = LogNormal::new(1_200f64.ln(), 0.5).unwrap();
    let reply = LogNormal::new(300f64.ln(), 0.4).unwrap();
    let start = 1_795_000_000.0_f64; // 2026-11-18
    let end = start + DAYS as f64 * 86_400.0;
    let mut rows = Vec::new();
    for user in 0..USERS {
        // A day of warm-up before the logs start, so each user is in their steady cycle.
        let mut t = start - 86_400.0 + gap.sample(&mut rng);
        while t < end {
            let mut turns = 1;
            while rng.random::<f64>() > 1.0 / TURNS {
                turns += 1;
            }
            for turn in 0..turns {
                if turn > 0 {
                    t += REPLY_S + think.sample(&mut rng);
                }
                if (start..end).contains(&t) {
                    let m = message.sample(&mut rng).round() as u64;
                    let r = (reply.sample(&mut rng).round() as u64).max(1);
                    rows.push((t as i64, PREFIX + m, r, user));
                }
            }
            t += REPLY_S + gap.sample(&mut rng);
        }
    }
    rows.sort();
    let mut csv = String::from("timestamp,input_tokens,output_tokens,cached_tokens,user,model\n");
    for (t, input, output, user) in rows {
        csv.push_str(&format!(
            "{t},{input},{output},{PREFIX},agent-{user},anthropic.claude-3-5-sonnet-20241022-v2:0\n"
        ));
    }
    csv
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn the_simulated_peak_minute_agrees_with_the_measured_one_at_the_same_volume() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("usage.csv"), logs()).unwrap();
    run(
        dir.path(),
        &["workload", "fit", "usage.csv", "--out", "learned.toml"],
    );
    let learned: toml::Value =
        toml::from_str(&std::fs::read_to_string(dir.path().join("learned.toml")).unwrap()).unwrap();
    // The logs' volume: sessions an employee starts a day (requests ÷ turns ÷ users ÷ days).
    let records = learned["measured"]["records"].as_integer().unwrap() as f64;
    let turns = learned["turns_per_session"].as_float().unwrap();
    let sessions_a_day = records / turns / USERS as f64 / DAYS as f64;
    let scenario = format!(
        r#"
name = "Learned from usage"
use_case = "Agents, as logged."
workload = "learned.toml"
employees = {USERS}
sessions_per_user_per_day = {sessions_a_day}
workdays_per_month = 30.0
region = "us-east-1"
peak_duration_s = 14400.0

[slo]
ttft_p95_s = 5.0

[[option]]
kind = "bedrock"
name = "Claude"
model = "Claude 3.5 Sonnet v2"
profile = "bedrock-claude-3-5-sonnet.toml"
model_id = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
quota_tpm = 10000000
"#
    );
    std::fs::write(dir.path().join("s.toml"), scenario).unwrap();
    run(dir.path(), &["plan", "s.toml", "--out", "plan"]);
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan/plan.json")).unwrap())
            .unwrap();
    let m = &plan["options"][0]["quota"]["measured"];
    let f = |key: &str| m["figures"][key].as_f64().unwrap();
    let s = |key: &str| m[key].as_f64().unwrap();
    eprintln!(
        "peak users {}; tokens a minute: median {} measured / {} simulated, p99 {} / {}; requests p99 {} / {}",
        plan["peak_users"],
        f("peak_hour_tpm_p50"),
        s("simulated_tpm_p50"),
        f("peak_hour_tpm_p99"),
        s("simulated_tpm_p99"),
        f("peak_hour_rpm_p99"),
        s("simulated_rpm_p99")
    );
    // Both over a few hundred minutes (the busiest hour of 3 days; a 4-hour simulated peak):
    // the median minute within 10 %, the p99 minute within 15 %.
    let close =
        |measured: f64, simulated: f64, within: f64| (simulated / measured - 1.0).abs() < within;
    assert!(close(f("peak_hour_tpm_p50"), s("simulated_tpm_p50"), 0.10));
    assert!(close(f("peak_hour_tpm_p99"), s("simulated_tpm_p99"), 0.15));
    assert!(close(f("peak_hour_rpm_p99"), s("simulated_rpm_p99"), 0.15));
    let doc = std::fs::read_to_string(dir.path().join("plan/quota-claude.md")).unwrap();
    assert!(
        doc.contains("## Measured traffic against the simulated peak"),
        "{doc}"
    );

    // The same logs given to `quota --from-logs` with a built-in workload: the measured figures
    // are the learned file's.
    let builtin = std::fs::read_to_string(dir.path().join("s.toml"))
        .unwrap()
        .replace(
            "workload = \"learned.toml\"",
            "workload = \"production_traffic_mix\"\npeak_active_fraction = 0.2",
        );
    std::fs::write(dir.path().join("builtin.toml"), builtin).unwrap();
    let quota: serde_json::Value = serde_json::from_str(&run(
        dir.path(),
        &[
            "quota",
            "builtin.toml",
            "--from-logs",
            "usage.csv",
            "--json",
        ],
    ))
    .unwrap();
    let figures = &quota[0]["measured"]["figures"];
    let model = &learned["measured"]["model"][0];
    for key in ["peak_hour_tpm_p99", "tpm_max", "rpm_p99"] {
        assert_eq!(
            figures[key].as_f64(),
            model[key].as_float(),
            "{key}: {figures}"
        );
    }
}

/// A CloudWatch export (get-metric-data's JSON, per-minute periods) given to `--from-logs`:
/// the quota document's measured minutes are the export's, computed here from the same
/// counts (busiest minute, p99 over every minute of the span, the busiest hour's minutes).
#[test]
fn a_cloudwatch_export_is_measured_minute_by_minute() {
    use llmcap::actual::cloudwatch::{export, PeriodCounts, Series};
    let model = "us.anthropic.claude-3-5-sonnet-20241022-v2:0";
    let start = 1_795_000_000 - 1_795_000_000 % 3_600; // on the hour
    let mut series = Series::new();
    let periods = series.entry(model.to_string()).or_default();
    // Three hours of minutes, every third quiet; the second hour busiest.
    let mut minutes = Vec::new();
    for m in 0..180i64 {
        let busy = if (60..120).contains(&m) { 3.0 } else { 1.0 };
        let invocations = if m % 3 == 2 {
            0.0
        } else {
            busy * (1.0 + (m % 5) as f64)
        };
        if invocations > 0.0 {
            periods.insert(
                start + 60 * m,
                PeriodCounts {
                    invocations,
                    input_tokens: invocations * 1_000.0,
                    output_tokens: invocations * 200.0,
                    ..PeriodCounts::default()
                },
            );
        }
        minutes.push(invocations * 1_200.0);
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cw.json"),
        serde_json::to_string_pretty(&export(&series)).unwrap(),
    )
    .unwrap();
    let scenario = format!(
        r#"
name = "CloudWatch"
use_case = "Agents."
workload = "multi_turn_chat"
employees = 100
peak_active_fraction = 0.2
sessions_per_user_per_day = 3.0
workdays_per_month = 22.0
region = "us-east-1"

[[option]]
kind = "bedrock"
name = "Claude"
model = "Claude 3.5 Sonnet v2"
profile = "bedrock-claude-3-5-sonnet.toml"
model_id = "{model}"
quota_tpm = 600000
"#
    );
    std::fs::write(dir.path().join("s.toml"), scenario).unwrap();
    let quota: serde_json::Value = serde_json::from_str(&run(
        dir.path(),
        &["quota", "s.toml", "--from-logs", "cw.json", "--json"],
    ))
    .unwrap();
    let f = &quota[0]["measured"]["figures"];
    // The span runs from the first to the last minute with traffic (minute 178).
    let span = &minutes[..179];
    let mut sorted = span.to_vec();
    sorted.sort_by(f64::total_cmp);
    let nearest_rank = |v: &[f64], q: f64| v[((q * v.len() as f64).ceil() as usize).max(1) - 1];
    assert_eq!(f["tpm_max"].as_f64(), Some(*sorted.last().unwrap()));
    assert_eq!(f["tpm_p99"].as_f64(), Some(nearest_rank(&sorted, 0.99)));
    let mut busy = minutes[60..120].to_vec();
    busy.sort_by(f64::total_cmp);
    let hour = (start.rem_euclid(86_400) / 3_600 + 1) % 24;
    assert_eq!(f["peak_hour_utc"].as_i64(), Some(hour));
    assert_eq!(
        f["peak_hour_tpm_p99"].as_f64(),
        Some(nearest_rank(&busy, 0.99))
    );
    assert!(quota[0]["measured"]["source"]
        .as_str()
        .unwrap()
        .contains("CloudWatch export"));
}
