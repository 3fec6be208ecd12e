//! One quota rule, stated once and followed by every verdict: a quota is short (and asked for)
//! exactly when the need — the peak's p99 minute × headroom, rounded up — exceeds the current
//! value, or the simulated peak throttles at it. Checked on every quota row of the built-in plan
//! and of the RAG scenario, and of both with each option's quota set to 0.5×, 0.95×, 1.2× and
//! 3× its own p99 minute; the quota documents print the same verdicts and say how many peak
//! minutes the p99 is over.

use std::path::Path;

use assert_cmd::Command;
use llmcap::plan::quota::{QuotaCheck, HEADROOM};
use llmcap::plan::{OptionKind, Plan};
use llmcap::report::format::thousands;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Plans `text` (profiles named bare, as built-ins) in a fresh directory.
fn plan(text: &str) -> (Plan, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        text.replace("\"../models/", "\""),
    )
    .unwrap();
    let out = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir.path())
        .args(["plan", "s.toml", "--out", "p"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(dir.path().join("p/plan.json")).unwrap();
    (serde_json::from_str(&json).unwrap(), dir)
}

/// The rule, computed here from the row's own evidence.
fn short_by_rule(c: &QuotaCheck) -> bool {
    let needed = (c.peak_p99_minute * HEADROOM / 10_000.0).ceil() * 10_000.0;
    assert_eq!(
        needed, c.needed,
        "{}: the need is p99 × headroom, rounded up",
        c.service_quota_name
    );
    needed > c.current || c.throttle_rate_at_current > 0.0
}

/// Every quota row of the plan follows the rule, in plan.json and in its quota document.
fn every_row_follows_the_rule(plan: &Plan, dir: &Path, label: &str) -> usize {
    let mut rows = 0;
    for o in plan
        .options
        .iter()
        .filter(|o| o.kind == OptionKind::Bedrock)
    {
        let q = o.quota.as_ref().unwrap();
        let file = llmcap::report::plan_text::quota_file(&o.name);
        let doc = std::fs::read_to_string(dir.join("p").join(&file)).unwrap();
        for c in q.checks() {
            rows += 1;
            let short = short_by_rule(c);
            assert_eq!(c.short, short, "{label}: {}", o.name);
            assert_eq!(c.requested.is_some(), short, "{label}: {}", o.name);
            if let Some(ask) = c.requested {
                // The need, or for bursts alone 25 % over the current value.
                let bursts =
                    ((c.current * HEADROOM / 10_000.0).ceil() * 10_000.0).max(c.current + 10_000.0);
                let expected = if c.needed > c.current {
                    c.needed
                } else {
                    bursts
                };
                assert_eq!(ask, expected, "{label}: {}", o.name);
            }
            // The document's verdict cell says the same, with the part of the rule that gave it.
            let verdict = match c.requested {
                Some(ask) if c.needed > c.current => {
                    format!("short (needed > current): ask {}", thousands(ask))
                }
                Some(ask) => format!("short (throttles at current): ask {}", thousands(ask)),
                None => "sufficient (needed ≤ current, no throttling)".to_string(),
            };
            assert!(doc.contains(&verdict), "{label}: {file} lacks {verdict:?}");
            // A p99 over enough minutes to be one, with its interval around it.
            assert!(c.minutes >= 600, "{label}: {} minutes", c.minutes);
            let [lo, hi] = c.peak_p99_interval;
            assert!(
                lo <= c.peak_p99_minute && c.peak_p99_minute <= hi,
                "{label}"
            );
            assert!(doc.contains(&format!("{} minutes", thousands(f64::from(c.minutes)))));
        }
        assert_eq!(doc.contains("Raise "), q.any_short(), "{label}: {file}");
    }
    rows
}

#[test]
fn every_verdict_follows_the_rule_at_the_quota_and_around_the_need() {
    for scenario in [
        "scenarios/chat-assistant.toml",
        "scenarios/support-bot.toml",
    ] {
        let text = std::fs::read_to_string(root().join(scenario)).unwrap();
        let (base, dir) = plan(&text);
        assert!(every_row_follows_the_rule(&base, dir.path(), scenario) > 0);
        // Each Bedrock option's TPM p99 minute, in the order the scenario lists them.
        let p99s: Vec<f64> = base
            .options
            .iter()
            .filter_map(|o| o.quota.as_ref())
            .map(|q| q.main_check().peak_p99_minute)
            .collect();
        assert_eq!(p99s.len(), text.matches("quota_tpm = 600000").count());
        for factor in [0.5, 0.95, 1.2, 3.0] {
            let mut parts = text.split("quota_tpm = 600000");
            let mut scaled = parts.next().unwrap().to_string();
            for (part, p99) in parts.zip(&p99s) {
                scaled += &format!("quota_tpm = {}{part}", (p99 * factor).round());
            }
            let (at, dir) = plan(&scaled);
            let label = format!("{scenario} at {factor}× the p99 minute");
            every_row_follows_the_rule(&at, dir.path(), &label);
            for o in at.options.iter().filter_map(|o| o.quota.as_ref()) {
                let c = o.main_check();
                // Below 1.25× the p99 minute the need exceeds the quota: always an ask; at 3×
                // there is room, and nothing throttles.
                if factor < HEADROOM {
                    assert!(c.short, "{label}: {}", o.option);
                } else {
                    assert!(!c.short, "{label}: {}", o.option);
                    assert_eq!(c.throttle_rate_at_current, 0.0, "{label}");
                }
            }
        }
    }
}
