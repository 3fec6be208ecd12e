//! The published check: seed 002's Llama 3.3 70B on Bedrock, reproduced by the fitted model.

use llmcap::calibrate::reference_table;
use llmcap::perf::fit::{evaluate, fit_levels, noise::assumed_for_medians};
use llmcap::perf::Level;

fn seed002() -> Vec<Level> {
    let text = include_str!("../calibration/reference/seed002_bedrock_llama33_70b.csv");
    reference_table::parse(text, "seed002").unwrap()
}

#[test]
fn every_seed002_level_is_reproduced_within_6_percent() {
    let levels = seed002();
    let report = fit_levels(
        &levels,
        assumed_for_medians("TPOT"),
        assumed_for_medians("TTFT"),
    )
    .unwrap();
    assert_eq!(report.levels.len(), levels.len());
    for c in &report.candidates {
        eprintln!("{c:?}");
    }
    for row in &report.levels {
        eprintln!("{row:?}");
        if let Some(error) = row.tps_error_pct {
            assert!(
                error.abs() <= 6.0,
                "tokens/s at c={} p={}: {error:.2} %",
                row.concurrency,
                row.prompt_tokens
            );
        }
        let ttft_error = row.ttft_error_pct.unwrap();
        assert!(
            ttft_error.abs() <= 6.0,
            "TTFT at c={} p={}: {ttft_error:.2} %",
            row.concurrency,
            row.prompt_tokens
        );
    }
    for c in &report.candidates {
        eprintln!("{c:?}");
    }
    // Leave-one-level-out covers every concurrency level of the table.
    assert_eq!(report.leave_one_level_out.len(), levels.len());
}

#[test]
fn fitted_on_1_10_50_it_predicts_concurrency_30_within_10_percent() {
    let levels = seed002();
    let (train, held_out): (Vec<Level>, Vec<Level>) = levels
        .into_iter()
        .partition(|l| [1.0, 10.0, 50.0].contains(&l.concurrency));
    let report = fit_levels(
        &train,
        assumed_for_medians("TPOT"),
        assumed_for_medians("TTFT"),
    )
    .unwrap();
    for c in &report.candidates {
        eprintln!("{c:?}");
    }
    eprintln!("{:?}", report.model.tpot);
    let rows = evaluate(&report.model, &held_out);
    let c30: Vec<_> = rows.iter().filter(|r| r.concurrency == 30.0).collect();
    assert_eq!(c30.len(), 2, "both prompt sizes at c=30");
    for row in c30 {
        eprintln!("held out: {row:?}");
        let error = row.tps_error_pct.unwrap();
        assert!(
            error.abs() <= 10.0,
            "c=30 p={}: {error:.2} %",
            row.prompt_tokens
        );
    }
}
