//! `llmcap forecast`: bands that follow the stated uncertainty (none: P10 = P50 = P90; a wider
//! input: a wider band), and months recomputed by hand from plan.json at fixed inputs.

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use llmcap::forecast::Forecast;
use llmcap::plan::Plan;

const BUILTIN: &str = include_str!("../scenarios/chat-assistant.toml");

fn llmcap_in(dir: &Path, args: &[&str]) -> String {
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// The built-in scenario with a `[forecast]` section; its forecast and plan.
fn forecast_with(section: &str) -> (Forecast, Plan) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        // The built-in profiles named bare (its `../models/` paths are the repository's).
        BUILTIN
            .replacen("[slo]", &format!("{section}\n\n[slo]"), 1)
            .replace("\"../models/", "\""),
    )
    .unwrap();
    llmcap_in(dir.path(), &["forecast", "s.toml", "--out", "f"]);
    llmcap_in(dir.path(), &["plan", "s.toml", "--out", "p"]);
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    (
        serde_json::from_str(&read("f/forecast.json")).unwrap(),
        serde_json::from_str(&read("p/plan.json")).unwrap(),
    )
}

/// The plan's data transfer and monitoring a month (its budget's overhead steps).
fn overheads_of(o: &llmcap::plan::OptionPlan) -> f64 {
    o.budget
        .shares
        .iter()
        .filter(|s| s.step == llmcap::cost::budget::Step::Overhead)
        .map(|s| s.usd)
        .sum()
}

const FIXED: &str = r#"[forecast]
months = 12
draws = 500
adoption_start = { dist = "fixed", value = 0.6 }
adoption_target = { dist = "fixed", value = 0.6 }
adoption_midpoint_month = { dist = "fixed", value = 3.0 }
usage_per_user = { dist = "fixed", value = 1.0 }
usage_growth_per_month = { dist = "fixed", value = 0.03 }
tokens_per_request = { dist = "fixed", value = 1.2 }
performance = { dist = "fixed", value = 1.0 }
hidden_costs = { dist = "fixed", value = 0.25 }"#;

#[test]
fn with_no_uncertainty_the_bands_close_and_the_months_follow_the_plan() {
    let (f, plan) = forecast_with(FIXED);
    assert_eq!(f.options.len(), plan.options.len());
    for (o, p) in f.options.iter().zip(&plan.options) {
        for (m, b) in o.monthly.iter().enumerate() {
            assert!(
                b.p10 == b.p50 && b.p50 == b.p90,
                "{} month {}: {b:?}",
                o.name,
                m + 1
            );
        }
        // The plan's data transfer and monitoring follow the traffic.
        let overheads = overheads_of(p);
        assert!(
            overheads > 0.0 && overheads < 100.0,
            "{}: {overheads}",
            p.name
        );
        if p.kind == llmcap::plan::OptionKind::Bedrock {
            // Requests: 60 % of employees, use growing 3 % a month; tokens ×1.2; +25 % hidden;
            // the failures the simulated peak billed at the current quota.
            let retry = p.quota.as_ref().map_or(0.0, |q| q.error_rate_current);
            for (m, b) in o.monthly.iter().enumerate() {
                let work = 0.6 * 1.03f64.powi(m as i32) * 1.2;
                let expected = (p.monthly_on_demand_usd * (1.0 + retry) + overheads) * work * 1.25;
                assert!(
                    (b.p50 / expected - 1.0).abs() < 1e-9,
                    "{} month {}: {} vs {expected}",
                    o.name,
                    m + 1,
                    b.p50
                );
            }
        } else {
            // The always-on fleet: 0.6 × 1.2 = 0.72 of the plan's load at month 1 fits in the
            // plan's one instance; it stays one while the load stays under one instance's
            // planning point (720 users at a 300-user peak: load ≤ 2.4).
            let month = (p.monthly_on_demand_usd + overheads * 0.72) * 1.25;
            assert!((o.monthly[0].p50 / month - 1.0).abs() < 1e-9, "{}", o.name);
        }
    }
}

fn spread(f: &Forecast, option: usize, month: usize) -> f64 {
    let b = f.options[option].monthly[month];
    b.p90 / b.p10
}

#[test]
fn doubling_a_spread_widens_the_band() {
    let base = r#"[forecast]
draws = 2000
usage_per_user = { dist = "lognormal", median = 1.0, sigma = 0.2 }"#;
    let wide = r#"[forecast]
draws = 2000
usage_per_user = { dist = "lognormal", median = 1.0, sigma = 0.4 }"#;
    let (narrow, plan) = forecast_with(base);
    let (wider, _) = forecast_with(wide);
    for (i, o) in plan.options.iter().enumerate() {
        if o.kind != llmcap::plan::OptionKind::Bedrock {
            continue;
        }
        for month in [0, 11] {
            assert!(
                spread(&wider, i, month) > spread(&narrow, i, month) * 1.1,
                "{} month {}: P90/P10 {} vs {}",
                o.name,
                month + 1,
                spread(&wider, i, month),
                spread(&narrow, i, month)
            );
        }
        // The medians stay put (the same draws; only the spread changed).
        let (a, b) = (
            narrow.options[i].monthly[11].p50,
            wider.options[i].monthly[11].p50,
        );
        assert!((a / b - 1.0).abs() < 0.05, "{a} vs {b}");
    }
    // The tornado ranks the widened input higher.
    let rank = |f: &Forecast| {
        f.tornado[0]
            .bars
            .iter()
            .position(|b| b.input == "usage_per_user")
            .unwrap()
    };
    assert!(rank(&wider) <= rank(&narrow));
}

#[test]
fn a_fleet_draws_its_capacity_from_the_profile_interval_and_adds_instances_when_it_falls_short() {
    let (_, mut plan) = forecast_with(FIXED);
    let fleet = plan
        .options
        .iter()
        .position(|o| o.kind == llmcap::plan::OptionKind::Sagemaker)
        .unwrap();
    // Everything else fixed as in FIXED, at full adoption, so the load is 1.2 × the plan's
    // (tokens): 1.2 × the peak's users against one instance planned for `planned` users. One
    // instance holds it unless capacity falls below 1.2 × peak / planned; a profile interval of
    // σ = ln(planned / (1.2 × peak)) / 0.6745 in log capacity makes that a quarter of the draws
    // (Φ(−0.6745) = 25 %).
    let o = &plan.options[fleet];
    let threshold = 1.2 * f64::from(o.peak_users) / f64::from(o.planned_users);
    assert!(threshold < 1.0, "one instance holds the planned load");
    plan.options[fleet].capacity_log_sigma = Some(-threshold.ln() / 0.674_489_750_196_081_7);
    let mut spec: llmcap::plan::forecast_spec::ForecastSpec = toml::from_str::<toml::Value>(FIXED)
        .unwrap()["forecast"]
        .clone()
        .try_into()
        .unwrap();
    spec.adoption_start = llmcap::uncertain::Uncertain::fixed(1.0);
    spec.adoption_target = llmcap::uncertain::Uncertain::fixed(1.0);
    spec.usage_growth_per_month = llmcap::uncertain::Uncertain::fixed(0.0);
    spec.draws = 20_000;
    // Left at its default, so the option's interval is drawn from.
    spec.performance = llmcap::plan::forecast_spec::ForecastSpec::default().performance;
    let f = llmcap::forecast::run(&plan, &spec, 3);
    let month = f.options[fleet].monthly[0];
    // One instance, and the data transfer and monitoring of 1.2 × the plan's traffic.
    let watched = overheads_of(&plan.options[fleet]) * 1.2 * 1.25;
    let instance = plan.options[fleet].monthly_on_demand_usd * 1.25;
    let one = instance + watched;
    // P10 and P50 hold one instance; P90 needs more than one.
    assert!((month.p10 / one - 1.0).abs() < 1e-9 && (month.p50 / one - 1.0).abs() < 1e-9);
    assert!(month.p90 >= 2.0 * instance + watched - 1e-6, "{month:?}");
    // The mean counts the share of draws short of capacity: ≥ 25 % of them need a second
    // instance or more, so the mean is at least 1.25 instances' worth (within sampling error).
    assert!(
        month.mean >= instance * 1.22 + watched,
        "{} vs {}",
        month.mean,
        one
    );
    // The scenario's own performance input overrides the profile's interval.
    spec.performance = llmcap::uncertain::Uncertain::fixed(1.0);
    let pinned = llmcap::forecast::run(&plan, &spec, 3);
    assert_eq!(
        pinned.options[fleet].monthly[0].p90,
        pinned.options[fleet].monthly[0].p10
    );
}
