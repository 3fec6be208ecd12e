//! The numbers a report prints are the numbers its exports hold: each test reads both.

mod support;

use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde::Deserialize;
use support::ServerThread;

fn grouped_usd(v: f64) -> String {
    let digits = (v.round() as i64).to_string();
    let mut out = String::from("$");
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[derive(Deserialize)]
struct CostRow {
    option: String,
    fixed_monthly_usd: f64,
    per_request_usd: f64,
    usd_per_instance_month: Option<f64>,
    requests_per_instance_month: Option<f64>,
    monthly_usd_at_plan: f64,
}

#[derive(Deserialize)]
struct CurveRow {
    option: String,
    users: f64,
    meets_slo: bool,
}

#[derive(Deserialize)]
struct BudgetRow {
    option: String,
    step: String,
    monthly_usd: f64,
}

fn rows<T: for<'de> Deserialize<'de>>(path: &std::path::Path) -> Vec<T> {
    csv::Reader::from_path(path)
        .unwrap()
        .deserialize()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn the_plan_report_prints_what_its_exports_hold() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan");
    let status = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["plan", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.matches("data:image/png;base64,").count() >= 6,
        "figures inline"
    );

    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("plan.json")).unwrap()).unwrap();
    let costs: Vec<CostRow> = rows(&out.join("data/cost_vs_volume.csv"));
    assert_eq!(costs.len(), plan["options"].as_array().unwrap().len());
    for c in &costs {
        let cell = |x: Option<f64>, digits: usize| {
            x.map_or("—".to_string(), |x| format!("{x:.digits$}"))
        };
        let line = format!(
            "| {} | {:.2} | {:.6} | {} | {} | {:.2} |",
            c.option,
            c.fixed_monthly_usd,
            c.per_request_usd,
            cell(c.usd_per_instance_month, 2),
            cell(c.requests_per_instance_month, 0),
            c.monthly_usd_at_plan
        );
        assert!(report.contains(&line), "missing {line}");
    }

    let curve: Vec<CurveRow> = rows(&out.join("data/latency_vs_users.csv"));
    for option in plan["options"].as_array().unwrap() {
        let name = option["name"].as_str().unwrap();
        let knee = option["knee_users"].as_f64().unwrap();
        let best = curve
            .iter()
            .filter(|p| p.option == name && p.meets_slo)
            .map(|p| p.users)
            .fold(0.0, f64::max);
        assert_eq!(
            best, knee,
            "{name}: the knee is the most users the export shows passing"
        );
        assert!(report.contains(&format!(
            "{name} meets the SLO up to {}{} peak-hour users",
            if option["knee_at_search_limit"].as_bool().unwrap() {
                "at least "
            } else {
                ""
            },
            llmcap::format::thousands(knee)
        )));
    }

    let budget: Vec<BudgetRow> = rows(&out.join("data/budget_waterfall.csv"));
    for option in &costs {
        let p50 = budget
            .iter()
            .find(|b| b.option == option.option && b.step == "P50")
            .unwrap()
            .monthly_usd;
        assert!(
            report.contains(&format!("{} at P50", grouped_usd(p50))),
            "{}: P50 {p50}",
            option.option
        );
    }
}

#[derive(Deserialize)]
struct SpeedRow {
    prompt_tokens_target: u32,
    concurrency: u32,
    requests_ok: u32,
    tokens_per_s_p50: f64,
    ttft_p50_s: f64,
}

#[test]
fn the_run_report_prints_what_its_exports_hold() {
    let server = ServerThread::start(15, 3, None);
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let calibrate = Command::cargo_bin("llmcap")
        .unwrap()
        .args([
            "calibrate",
            "--target",
            "openai",
            "--url",
            &server.url,
            "--no-progress",
        ])
        .args([
            "--concurrency",
            "1,2,4",
            "--prompt-tokens",
            "32,256",
            "--output-tokens",
            "12",
        ])
        .args(["--requests-per-level", "6", "--out", run.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        calibrate.status.success(),
        "{}",
        String::from_utf8_lossy(&calibrate.stderr)
    );
    let report = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["report", run.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let markdown = std::fs::read_to_string(run.join("report.md")).unwrap();
    let speeds: Vec<SpeedRow> = rows(&run.join("data/speed_by_level.csv"));
    assert_eq!(speeds.len(), 6);
    for s in &speeds {
        let cells = format!(
            "| {} | {} | {} | {:.1} |",
            s.prompt_tokens_target, s.concurrency, s.requests_ok, s.tokens_per_s_p50
        );
        assert!(markdown.contains(&cells), "missing {cells}");
        assert!(markdown.contains(&format!("{:.3}", s.ttft_p50_s)));
    }
    for chart in [
        "tokens_per_s_vs_concurrency",
        "ttft_vs_concurrency",
        "ttft_histograms",
        "tpot_histograms",
        "concurrency_over_time",
    ] {
        assert!(
            run.join(format!("charts/{chart}.png")).exists(),
            "{chart}.png"
        );
        assert!(
            run.join(format!("charts/{chart}.svg")).exists(),
            "{chart}.svg"
        );
    }
    for table in [
        "speed_by_level",
        "latency_histograms",
        "concurrency_over_time",
    ] {
        assert!(
            run.join(format!("data/{table}.parquet")).exists(),
            "{table}.parquet"
        );
    }
}
