//! The server model against data it did not make: parameters recovered from simulated levels,
//! and held-out levels of tables other people published (calibration/reference/published).

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use llmcap::perf::model::{TpotForm, TpotModel};
use llmcap::perf::server::bench::closed_loop;
use llmcap::perf::server::fit::{fit, Target};
use llmcap::perf::server::{ServerModel, Sharing};
use rand::{Rng, SeedableRng};
use serde_json::Value;

fn truth() -> ServerModel {
    ServerModel {
        max_batch: Some(24.0),
        step: TpotModel {
            form: TpotForm::Linear,
            t0_s: 0.02,
            t1_s: 4e-4,
            t2_s: 2e-8,
            theta: None,
            equation: String::new(),
        },
        step_s_per_mean_context: 1e-7,
        prefill_s_per_token: 4e-5,
        attention_s_per_token2: 5e-10,
        prefill_s_per_request: 0.008,
        sharing: Sharing::Chunked {
            tokens_per_step: 2_048.0,
        },
        overhead_s: 0.05,
    }
}

/// Levels measured from a known server with 2 % measurement noise: the fit finds its batch
/// limit, its sharing policy, and its prefill and step times at points it was not told.
#[test]
fn recovers_a_known_server_from_its_levels() {
    let server = truth();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut noisy = |x: f64| x * (1.0 + 0.02 * (2.0 * rng.random::<f64>() - 1.0));
    let mut targets = Vec::new();
    for prompt in [256.0, 2_048.0] {
        for c in [1.0, 4.0, 8.0, 16.0, 32.0, 48.0] {
            let level = closed_loop(&server, c, prompt, 128.0);
            targets.push(Target {
                concurrency: c,
                prompt_tokens: prompt,
                output_tokens: 128.0,
                ttft_s: Some(noisy(level.ttft_s)),
                tpot_s: level.tpot_s.map(&mut noisy),
                run_requests: None,
            });
        }
    }
    let fitted = fit(&targets).expect("enough levels").model;
    let b = fitted.max_batch.expect("a plateau in the data gives B");
    assert!((b - 24.0).abs() <= 2.0, "B = {b}");
    assert_eq!(fitted.sharing, server.sharing);
    let close = |a: f64, b: f64, tol: f64, what: &str| {
        assert!((a / b - 1.0).abs() <= tol, "{what}: fitted {a}, true {b}");
    };
    close(
        fitted.prefill_s(1_024.0),
        server.prefill_s(1_024.0),
        0.15,
        "prefill of 1,024 tokens",
    );
    // The per-prompt cost, apart from the overhead outside the batch: prompts queue behind it.
    close(
        fitted.prefill_s_per_request,
        server.prefill_s_per_request,
        0.3,
        "prefill cost per prompt",
    );
    close(
        fitted.decode_step_s(12.0, 12.0 * 1_200.0),
        server.decode_step_s(12.0, 12.0 * 1_200.0),
        0.05,
        "decode step at 12 sequences",
    );
    // A level between the fitted ones, both metrics.
    let (a, t) = (
        closed_loop(&fitted, 24.0, 1_024.0, 128.0),
        closed_loop(&server, 24.0, 1_024.0, 128.0),
    );
    close(a.ttft_s, t.ttft_s, 0.10, "TTFT at 24 users, 1,024 tokens");
    close(
        a.tpot_s.unwrap(),
        t.tpot_s.unwrap(),
        0.05,
        "TPOT at 24 users, 1,024 tokens",
    );
}

fn validate(table: &str, args: &[&str]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("calibration/reference/published")
        .join(table);
    let out = Command::cargo_bin("llmcap")
        .unwrap()
        .arg("validate")
        .arg(&path)
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Fitted on the levels a short benchmark would cover, the published tables' other levels are
/// predicted: p50 TPOT pooled median within 5 %, TTFT within 10 % (docs/DESIGN.md has the
/// table), no table refused, and NIM's batch limit near where its plateau
/// starts (ITL flat and TTFT jumping from 100 users on).
#[test]
fn published_tables_are_predicted_at_levels_the_fit_did_not_see() {
    let runs = [
        validate(
            "nim_llama33_70b_2xh100_fp8_5000in_500out.csv",
            &["--fit-on", "1,5,50,150,250"],
        ),
        validate(
            "oci_llama33_70b_large_generic_random480in_300out.csv",
            &["--fit-on", "1,4,16,64,256"],
        ),
        validate(
            "tenstorrent_qwen3_32b_wh_galaxy_isl_sweep.csv",
            &["--fit-on-prompts", "128,1024,8192,65536"],
        ),
    ];
    let b = runs[0]["max_batch"].as_f64().expect("NIM shows a plateau");
    assert!((b / 100.0 - 1.0).abs() <= 0.2, "NIM B = {b}");
    let pooled = |metric: &str| {
        let mut errors: Vec<f64> = runs
            .iter()
            .flat_map(|r| r["held_out"].as_array().unwrap().clone())
            .filter_map(|l| l[metric]["error_pct"].as_f64())
            .map(f64::abs)
            .collect();
        errors.sort_by(f64::total_cmp);
        errors[errors.len().div_ceil(2) - 1]
    };
    let (tpot, ttft) = (pooled("tpot_s"), pooled("ttft_s"));
    eprintln!("pooled held-out median error: TPOT {tpot:.1} %, TTFT {ttft:.1} %");
    assert!(tpot <= 5.0, "TPOT {tpot}");
    assert!(ttft <= 10.0, "TTFT {ttft}");
}

/// Past its batch limit a server's output stops growing: fitted on NIM's levels 1, 5, 50, 150
/// and 250, the predicted system tokens/s at the held-out 100 and 200 users is the published
/// plateau (917 and 921 tokens/s), not 100 or 200 × each user's speed.
#[test]
fn throughput_levels_off_past_the_batch_limit() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("calibration/reference/published/nim_llama33_70b_2xh100_fp8_5000in_500out.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let levels = llmcap::calibrate::published_table::parse(&text, "nim.csv").unwrap();
    let selection = llmcap::perf::validate::Selection {
        concurrency: Some(vec![1.0, 5.0, 50.0, 150.0, 250.0]),
        prompt_tokens: None,
    };
    let v = llmcap::perf::validate::validate(&levels, &selection).unwrap();
    for (users, published) in [(100.0, 917.26), (200.0, 920.54)] {
        let p = v.model.predict_centre(users, 5_000.0, 500.0).unwrap();
        let tps = p.system_tps();
        assert!(
            (tps / published - 1.0).abs() <= 0.05,
            "{users} users: {tps:.0} tokens/s against {published} published"
        );
    }
}
