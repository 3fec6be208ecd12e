//! Every chart renders to a PNG of the expected size with real content (and an SVG beside it),
//! with no system font: the font is compiled in.

use std::collections::HashSet;
use std::path::Path;

use llmcap::plan::staircase::{CostCurve, FleetSteps};
use llmcap::report::charts::calibration::{
    AgainstConcurrency, ConcurrencyOverTime, LevelHistograms, LevelSpread, SpreadSeries,
};
use llmcap::report::charts::plan::{
    BudgetWaterfall, CostAgainstVolume, CostCurveSeries, LatencyAgainstUsers, LatencySeries,
    TpmAgainstQuota, TpmSeries,
};
use llmcap::report::charts::{render, Chart, HEIGHT, WIDTH};

/// Decodes the PNG and checks it is not blank: enough non-white pixels and colours.
fn check_png(path: &Path) {
    let image = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    assert_eq!(image.dimensions(), (WIDTH, HEIGHT), "{}", path.display());
    let pixels = image.pixels().count();
    let inked = image.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    let colours: HashSet<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    assert!(
        inked * 100 > pixels * 2,
        "{}: only {inked} of {pixels} pixels drawn",
        path.display()
    );
    assert!(
        colours.len() >= 6,
        "{}: {} colours",
        path.display(),
        colours.len()
    );
}

fn check(chart: &impl Chart, stem: &str) {
    let dir = tempfile::tempdir().unwrap();
    let files = render(chart, dir.path(), stem).unwrap();
    check_png(&files.png);
    let svg = std::fs::read_to_string(&files.svg).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("</svg>"),
        "{stem}.svg"
    );
    assert!(svg.contains("<text"), "{stem}.svg has labels");
}

fn spread(c: f64, p50: f64) -> LevelSpread {
    LevelSpread {
        concurrency: c,
        p25: p50 * 0.9,
        p50,
        p75: p50 * 1.1,
    }
}

#[test]
fn calibration_charts_render() {
    let series = |label: &str, base: f64| SpreadSeries {
        label: label.into(),
        levels: [1.0, 2.0, 4.0, 8.0]
            .iter()
            .map(|&c| spread(c, base / (1.0 + 0.2 * c)))
            .collect(),
        fitted: (1..=8)
            .map(|c| (f64::from(c), base / (1.0 + 0.2 * f64::from(c))))
            .collect(),
    };
    check(
        &AgainstConcurrency {
            title: "Tokens/s per request against concurrency".into(),
            y_label: "tokens/s per request".into(),
            series: vec![series("64-token", 100.0), series("1024-token", 60.0)],
        },
        "speed",
    );
    check(
        &LevelHistograms {
            title: "TTFT per level".into(),
            x_label: "TTFT (s)".into(),
            levels: vec![
                (
                    "c=1".into(),
                    (0..50).map(|i| 0.1 + 0.002 * f64::from(i)).collect(),
                ),
                (
                    "c=8".into(),
                    (0..50).map(|i| 0.2 + 0.004 * f64::from(i)).collect(),
                ),
            ],
            bins: 20,
        },
        "histogram",
    );
    let intervals: Vec<(f64, f64)> = (0..40)
        .map(|i| (f64::from(i) * 0.5, f64::from(i) * 0.5 + 2.0))
        .collect();
    check(
        &ConcurrencyOverTime::from_intervals("In flight".into(), &intervals),
        "in_flight",
    );
}

#[test]
fn plan_charts_render() {
    check(
        &LatencyAgainstUsers {
            title: "p95 TTFT against users".into(),
            slo_ttft_p95_s: 0.5,
            peak_users: 150.0,
            series: vec![LatencySeries {
                name: "A".into(),
                points: vec![(1.0, 0.3), (100.0, 0.35), (200.0, 0.45), (300.0, 0.9)],
                knee_users: 220.0,
                knee_at_limit: false,
            }],
        },
        "latency",
    );
    check(
        &TpmAgainstQuota {
            title: "TPM against quota".into(),
            series: vec![TpmSeries {
                name: "A".into(),
                minutes: (0..60)
                    .map(|m| (f64::from(m), 4e5 + 1e4 * f64::from(m % 7)))
                    .collect(),
                quota_tpm: 6e5,
            }],
        },
        "tpm",
    );
    check(
        &CostAgainstVolume {
            title: "Cost against volume".into(),
            lines: vec![
                CostCurveSeries {
                    name: "per token".into(),
                    curve: CostCurve::Line(llmcap::plan::CostLine {
                        fixed_usd: 0.0,
                        per_request_usd: 0.005,
                    }),
                },
                CostCurveSeries {
                    name: "fleet".into(),
                    curve: CostCurve::Steps(FleetSteps {
                        users_per_instance: 100,
                        requests_per_instance_month: 8e6,
                        usd_per_instance_month: 40_000.0,
                        min_instances: 1,
                    }),
                },
            ],
            volume_min: 5e4,
            volume_max: 24e6,
            crossovers: vec![(8e6, 40_000.0, "per token vs fleet".into())],
            planned_volume: 5e5,
        },
        "cost",
    );
    check(
        &BudgetWaterfall {
            title: "Budget".into(),
            list_usd: 1000.0,
            steps: vec![
                ("system prompt".into(), 400.0),
                ("history".into(), 300.0),
                ("monitoring".into(), 200.0),
            ],
            p50_usd: 1880.0,
            p90_usd: 2050.0,
        },
        "budget",
    );
}

#[test]
fn a_blank_image_fails_the_check() {
    // The check itself must be able to fail: an all-white PNG of the right size.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blank.png");
    image::RgbImage::from_pixel(WIDTH, HEIGHT, image::Rgb([255, 255, 255]))
        .save(&path)
        .unwrap();
    let result = std::panic::catch_unwind(|| check_png(&path));
    assert!(result.is_err());
}
