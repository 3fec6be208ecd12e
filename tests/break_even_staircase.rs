//! Break-even against a fleet bought by whole instances: the staircase is rebuilt here from
//! plan.json (one instance's users at the SLO, the scenario's volume and peak, the catalog's
//! hourly price) and its crossings with the per-request line found on a fine grid, independently
//! of the planner's step walk; they must agree in number and place, and with what plan.md says.

use std::path::Path;

use assert_cmd::Command;
use llmcap::plan::staircase::Cheaper;
use llmcap::plan::{OptionKind, Plan};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Plans the built-in scenario (profiles named bare), with the p5 at `p5_usd_per_hour` where
/// given (a catalog directory overriding the built-in sagemaker.toml).
fn plan(p5_usd_per_hour: Option<f64>) -> (Plan, String) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = std::fs::read_to_string(root().join("scenarios/chat-assistant.toml")).unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        scenario.replace("\"../models/", "\""),
    )
    .unwrap();
    let mut args = vec!["plan", "s.toml", "--out", "p"];
    if let Some(price) = p5_usd_per_hour {
        std::fs::create_dir(dir.path().join("prices")).unwrap();
        std::fs::write(
            dir.path().join("prices/sagemaker.toml"),
            format!(
                "[[instance]]\ninstance_type = \"ml.p5.48xlarge\"\nregion = \"us-east-1\"\n\
                 usd_per_hour = {price}\nsource = \"a test's hypothetical price\"\ndate = \"2026-12\"\n"
            ),
        )
        .unwrap();
        args.extend(["--catalog", "prices"]);
    }
    let out = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir.path())
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(dir.path().join("p/plan.json")).unwrap();
    let md = std::fs::read_to_string(dir.path().join("p/plan.md")).unwrap();
    (serde_json::from_str(&json).unwrap(), md)
}

/// Volumes (on a log grid between `lo` and `hi`) where the cheaper option changes, from the
/// staircase `ceil(v / r) × c` and the line `p × v`, and which is cheaper just above each.
fn grid_crossings(p: f64, r: f64, c: f64, lo: f64, hi: f64) -> Vec<(f64, bool)> {
    let n = 2_000_000;
    let mut found = Vec::new();
    let mut prev: Option<bool> = None;
    for i in 0..=n {
        let v = lo * (hi / lo).powf(f64::from(i) / f64::from(n));
        let fleet = (v / r).ceil().max(1.0) * c;
        let fleet_cheaper = p * v > fleet;
        if prev.is_some_and(|b| b != fleet_cheaper) {
            found.push((v, fleet_cheaper));
        }
        prev = Some(fleet_cheaper);
    }
    found
}

/// Rebuilds each pair's staircase from plan.json and checks the planner's crossings against
/// the grid's; returns the crossings found.
fn check(plan: &Plan, md: &str, usd_per_hour: f64) -> usize {
    assert!(!plan.break_even.is_empty());
    let mut total = 0;
    for b in &plan.break_even {
        let fleet = plan.options.iter().find(|o| o.name == b.dedicated).unwrap();
        let line = plan
            .options
            .iter()
            .find(|o| o.name == b.per_request)
            .unwrap();
        assert_eq!(fleet.kind, OptionKind::Sagemaker);
        let steps = fleet.fleet_steps.expect("an always-on fleet has steps");
        // One instance: the users it holds at the SLO, their requests, its month.
        let instances = fleet.instances.unwrap();
        assert_eq!(
            instances,
            plan.peak_users.div_ceil(steps.users_per_instance)
        );
        assert!(steps.users_per_instance * instances <= fleet.knee_users);
        let r = f64::from(steps.users_per_instance) * plan.monthly_requests
            / f64::from(plan.peak_users);
        assert!((steps.requests_per_instance_month - r).abs() < 1e-6 * r);
        let c = 730.0 * usd_per_hour;
        assert!((steps.usd_per_instance_month - c).abs() < 1e-6 * c);
        assert!((fleet.monthly_on_demand_usd - f64::from(instances) * c).abs() < 1e-6 * c);
        // The per-request line through the simulated month.
        let p = line.monthly_on_demand_usd / plan.monthly_requests;
        let grid = grid_crossings(p, r, c, b.range[0], b.range[1]);
        assert_eq!(
            grid.len() as u64,
            b.crossings_total,
            "{}: grid {grid:?} against {:?}",
            b.dedicated,
            b.crossings
        );
        for (x, (v, fleet_cheaper)) in b.crossings.iter().zip(&grid) {
            assert!(
                (x.requests_per_month - v).abs() <= 1e-5 * v,
                "{x:?} against the grid's {v}"
            );
            assert_eq!(x.cheaper_above == Cheaper::Fleet, *fleet_cheaper);
        }
        // plan.md says the same.
        let said = match b.crossings_total {
            0 => "never cross".to_string(),
            1 => "cross once".to_string(),
            n => format!("cross {n} times"),
        };
        assert!(md.contains(&said), "plan.md lacks '{said}'");
        total += grid.len();
    }
    total
}

#[test]
fn at_list_price_the_p5_fleet_never_crosses_bedrock() {
    let (plan, md) = plan(None);
    assert_eq!(check(&plan, &md, 113.068), 0);
}

#[test]
fn a_cheap_p5_crosses_bedrock_at_each_instance_until_full_instances_win() {
    // At $6 an hour a full p5 costs less a request than Bedrock: the fleet becomes cheaper
    // partway up each step and dearer again as each new instance is bought, until the steps
    // no longer catch up with the line.
    let (plan, md) = plan(Some(6.0));
    let found = check(&plan, &md, 6.0);
    assert!(found >= 3, "{found} crossings");
    let b = &plan.break_even[0];
    assert_eq!(b.last_crossing.unwrap().cheaper_above, Cheaper::Fleet);
}
