//! Held-out validation: fit on some levels of a table, predict the others, and say how far off
//! each prediction is and whether the measurement falls inside the model's own interval.

use serde::{Deserialize, Serialize};

use super::error::PerfError;
use super::fit::{fit_levels_of, noise::assumed_for_medians};
use super::levels::Level;
use super::noise::NoiseModel;
use super::predict::{Metric, PerfModel};
use super::server::interval::Band;
use super::server::Served;
use crate::stats::quantile;

/// Which levels the fit sees: a level is fitted on when it matches every list given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    pub concurrency: Option<Vec<f64>>,
    pub prompt_tokens: Option<Vec<f64>>,
}

impl Selection {
    pub fn fits_on(&self, level: &Level) -> bool {
        let hit = |list: &Option<Vec<f64>>, v: f64| {
            list.as_ref()
                .is_none_or(|l| l.iter().any(|x| (x - v).abs() <= 1e-9 * v.abs().max(1.0)))
        };
        hit(&self.concurrency, level.concurrency) && hit(&self.prompt_tokens, level.prompt_tokens)
    }
}

/// One held-out figure: measured, predicted with its interval, the error in percent.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checked {
    pub measured: f64,
    pub predicted: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Band>,
    /// `(predicted / measured − 1)·100`.
    pub error_pct: f64,
    /// Whether the measurement lies inside the 90 % interval (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inside_90: Option<bool>,
    /// The model's figure lay outside the measurements of the fitted levels around it and was
    /// moved to the nearer one (`perf::anchors`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held_to_measurements: bool,
}

impl Checked {
    pub fn inside(&self) -> Option<bool> {
        self.interval.map(|b| b.contains(self.measured))
    }
    pub fn inside_99(&self) -> Option<bool> {
        self.interval.map(|b| b.contains_99(self.measured))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldOutLevel {
    pub concurrency: f64,
    pub prompt_tokens: f64,
    pub output_tokens: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_s: Option<Checked>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_s: Option<Checked>,
}

/// Median and worst absolute error of one metric over the held-out levels.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorSummary {
    pub levels: usize,
    pub median_abs_error_pct: f64,
    pub worst_abs_error_pct: f64,
    /// Held-out measurements inside the model's 90 % interval.
    pub inside_interval: usize,
    /// Held-out measurements that had an interval to fall inside.
    #[serde(default)]
    pub with_interval: usize,
    /// `inside_interval / with_interval` in per cent (absent without intervals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage_90_pct: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Validation {
    pub fitted_on: Vec<Level>,
    pub held_out: Vec<HeldOutLevel>,
    pub tpot: Option<ErrorSummary>,
    pub ttft: Option<ErrorSummary>,
    pub model: PerfModel,
}

/// Fits `levels` matching `selection` (level medians, noise assumed) and checks the rest.
pub fn validate(
    levels: &[Level],
    selection: &Selection,
    served: Served,
) -> Result<Validation, PerfError> {
    let (train, test): (Vec<Level>, Vec<Level>) =
        levels.iter().cloned().partition(|l| selection.fits_on(l));
    if train.is_empty() {
        return Err(PerfError::BadRequest(
            "the selection matches no level of the table; check --fit-on and --fit-on-prompts against the table's concurrency and input_tokens".into(),
        ));
    }
    let tpot_noise = assumed_for_medians("TPOT");
    let ttft_noise = assumed_for_medians("TTFT");
    let report = fit_levels_of(&train, tpot_noise, ttft_noise, served)?;
    let held_out = check(&report.model, &test)?;
    Ok(Validation {
        tpot: summary(held_out.iter().filter_map(|l| l.tpot_s)),
        ttft: summary(held_out.iter().filter_map(|l| l.ttft_s)),
        fitted_on: train,
        held_out,
        model: report.model,
    })
}

/// Predicts each level and compares it with its measurements.
pub fn check(model: &PerfModel, levels: &[Level]) -> Result<Vec<HeldOutLevel>, PerfError> {
    levels
        .iter()
        .map(|l| {
            let p = model.predict_run(
                l.concurrency,
                l.prompt_tokens,
                l.output_tokens,
                l.run_requests,
            )?;
            let checked =
                |measured: Option<f64>, predicted: f64, interval: Option<Band>, metric: Metric| {
                    measured.map(|m| Checked {
                        held_to_measurements: p.held_to_measurements.contains(&metric),
                        measured: m,
                        predicted,
                        interval,
                        error_pct: (predicted / m - 1.0) * 100.0,
                        inside_90: interval.map(|b| b.contains(m)),
                    })
                };
            Ok(HeldOutLevel {
                concurrency: l.concurrency,
                prompt_tokens: l.prompt_tokens,
                output_tokens: l.output_tokens,
                tpot_s: checked(l.tpot_s, p.tpot_p50_s(), p.tpot_p50_band, Metric::Tpot),
                ttft_s: checked(l.ttft_s, p.ttft_p50_s(), p.ttft_p50_band, Metric::Ttft),
            })
        })
        .collect()
}

pub fn summary(checked: impl Iterator<Item = Checked>) -> Option<ErrorSummary> {
    let checked: Vec<Checked> = checked.collect();
    if checked.is_empty() {
        return None;
    }
    let mut errors: Vec<f64> = checked.iter().map(|c| c.error_pct.abs()).collect();
    let inside = checked.iter().filter(|c| c.inside() == Some(true)).count();
    let with_interval = checked.iter().filter(|c| c.interval.is_some()).count();
    Some(ErrorSummary {
        levels: checked.len(),
        median_abs_error_pct: quantile(&mut errors, 0.5)?,
        worst_abs_error_pct: errors.iter().copied().fold(0.0, f64::max),
        inside_interval: inside,
        with_interval,
        coverage_90_pct: (with_interval > 0).then(|| 100.0 * inside as f64 / with_interval as f64),
    })
}

/// The noise assumed for a table of medians (re-exported for callers that fit tables).
pub fn assumed_noise() -> (NoiseModel, NoiseModel) {
    (assumed_for_medians("TPOT"), assumed_for_medians("TTFT"))
}
