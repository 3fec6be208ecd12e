//! Fitting the performance model: candidate forms by Levenberg–Marquardt on level medians (robust
//! to spikes), chosen by leave-one-level-out error, with the errors reported per level.

pub mod forms;
pub mod lm;
pub mod noise;

use serde::{Deserialize, Serialize};

use self::forms::{tpot_model, ttft_model, Candidate};
use self::lm::{best_fit, Form, Point};
use super::anchors::Anchor;
use super::error::PerfError;
use super::levels::{distinct_concurrencies, levels_from_samples, validate_levels, Level, Sample};
use super::model::{TpotForm, TtftForm};
use super::noise::NoiseModel;
use super::predict::{FitRange, Metric, PerfModel};
use super::server::bench::closed_run;
use super::server::fit::{self as server_fit, ServerCandidate, Target};
use super::server::Served;

/// Measured against predicted at one level. Errors are `(predicted / measured − 1) · 100`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelFit {
    pub concurrency: f64,
    pub prompt_tokens: f64,
    pub output_tokens: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_tps_per_request: Option<f64>,
    pub predicted_tps_per_request: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tps_error_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_ttft_s: Option<f64>,
    pub predicted_ttft_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_error_pct: Option<f64>,
}

/// How one candidate form did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CandidateScore {
    /// `tpot` or `ttft`.
    pub metric: String,
    pub form: String,
    pub parameters: usize,
    /// Root-mean-square of the log errors, in percent.
    pub in_sample_rms_pct: f64,
    /// The same over predictions of each interior concurrency level from a fit without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leave_one_level_out_rms_pct: Option<f64>,
    pub chosen: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    pub model: PerfModel,
    pub levels: Vec<LevelFit>,
    pub leave_one_level_out: Vec<LevelFit>,
    pub candidates: Vec<CandidateScore>,
    /// The server model's candidates (sharing policy × batch limit).
    pub server_candidates: Vec<ServerCandidate>,
}

impl FitReport {
    /// A report of a model made without fitting levels (from published ranges, from physics):
    /// no levels, no candidates.
    pub fn of_model(model: PerfModel) -> FitReport {
        FitReport {
            model,
            levels: Vec::new(),
            leave_one_level_out: Vec::new(),
            candidates: Vec::new(),
            server_candidates: Vec::new(),
        }
    }
}

/// Fits per-request samples: medians per level, noise from the spread around them.
pub fn fit_samples(samples: &[Sample], served: Served) -> Result<FitReport, PerfError> {
    let levels = levels_from_samples(samples)?;
    let (tpot_noise, ttft_noise) = noise::estimate(samples);
    fit_levels_of(&levels, tpot_noise, ttft_noise, served)
}

/// Fits level medians of a dense model with the given noise model.
pub fn fit_levels(
    levels: &[Level],
    tpot_noise: NoiseModel,
    ttft_noise: NoiseModel,
) -> Result<FitReport, PerfError> {
    fit_levels_of(levels, tpot_noise, ttft_noise, Served::default())
}

/// The prefix every prompt of the run shared that the server held in its cache (the chat
/// template): what it reported cached at the lowest concurrency measured, the median over
/// those levels. The template is the same in every request, but a server juggling many may
/// not say so: llama-server reported 0 cached on most requests at 6–8 in flight, yet their
/// TTFT showed none of the extra prefill (24 tokens each, ~0.17 s on the CPU it was seen on)
/// that would mean; read as computed, those counts made a linear prefill look quadratic. So a
/// level's own count under load is not taken as what it computed.
fn shared_prefix(levels: &[Level]) -> f64 {
    let lowest = levels
        .iter()
        .map(|l| l.concurrency)
        .fold(f64::INFINITY, f64::min);
    let mut cached: Vec<f64> = levels
        .iter()
        .filter(|l| l.concurrency <= lowest * 1.001)
        .map(|l| l.cached_tokens)
        .collect();
    crate::stats::quantile(&mut cached, 0.5)
        .filter(|c| c.is_finite())
        .unwrap_or(0.0)
        .max(0.0)
}

/// Fits level medians with the given noise model; `served`: the served model's routed experts
/// when it is a mixture of experts (from the model catalog) and the hardware's roofline floors.
pub fn fit_levels_of(
    levels: &[Level],
    tpot_noise: NoiseModel,
    ttft_noise: NoiseModel,
    served: Served,
) -> Result<FitReport, PerfError> {
    validate_levels(levels)?;
    let thinned = thin(levels, MAX_FITTED_LEVELS);
    let levels = &thinned[..];
    let tpot_points = points(levels, |l| l.tpot_s, &tpot_noise);
    let ttft_points = points(levels, |l| l.ttft_s, &ttft_noise);
    let range = fitted_range(levels);
    let shared_prefix_tokens = shared_prefix(levels);
    let targets: Vec<Target> = thin(levels, MAX_SERVER_LEVELS)
        .iter()
        .map(|l| {
            let shift = |noise: &NoiseModel| noise.at(1.0, l.concurrency).quantile(0.5);
            Target {
                concurrency: l.concurrency,
                prompt_tokens: l.prompt_tokens,
                output_tokens: l.output_tokens,
                ttft_s: l.ttft_s.map(|v| v / shift(&ttft_noise)),
                tpot_s: l.tpot_s.map(|v| v / shift(&tpot_noise)),
                run_requests: l.run_requests,
            }
        })
        .collect();
    let served = Served {
        shared_prefix_tokens,
        ..served
    };
    let server_fit = server_fit::fit(&targets, served);
    let mut server_candidates = server_fit
        .as_ref()
        .map(|f| f.candidates.clone())
        .unwrap_or_default();
    // A metric the table does not measure: its closed form is fitted to what the server model
    // predicts at the table's levels, and the profile says it was not measured.
    let mut not_measured = Vec::new();
    let (tpot_points, ttft_points) = match (&server_fit, tpot_points.is_empty(), ttft_points.is_empty()) {
        (_, false, false) => (tpot_points, ttft_points),
        (None, tpot_missing, _) => {
            return Err(PerfError::Empty(format!(
                "the table measures {} only, and the server model, which predicts the other from it, could not be fitted to its levels",
                if tpot_missing { "TTFT" } else { "TPOT" }
            )))
        }
        (Some(fit), tpot_missing, _) => {
            let predicted: Vec<Level> = levels
                .iter()
                .map(|l| {
                    let run = closed_run(&fit.model, l.concurrency, l.prompt_tokens, l.output_tokens, None);
                    Level {
                        tpot_s: run.tpot_s,
                        ttft_s: Some(run.ttft_s),
                        ..l.clone()
                    }
                })
                .collect();
            if tpot_missing {
                not_measured.push(Metric::Tpot);
                (points(&predicted, |l| l.tpot_s, &tpot_noise), ttft_points)
            } else {
                not_measured.push(Metric::Ttft);
                (tpot_points, points(&predicted, |l| l.ttft_s, &ttft_noise))
            }
        }
    };
    let (tpot_form, tpot_u, mut candidates) = select(&TpotForm::CANDIDATES, &tpot_points, "tpot")?;
    let (ttft_form, ttft_u, ttft_candidates) = select(&TtftForm::ALL, &ttft_points, "ttft")?;
    candidates.extend(ttft_candidates);

    let measured_levels: Vec<Anchor> = levels.iter().map(Anchor::from).collect();
    let build = |tpot_u: &[f64], ttft_u: &[f64]| PerfModel {
        tpot: tpot_model(tpot_form, tpot_u),
        ttft: ttft_model(ttft_form, ttft_u),
        tpot_noise: tpot_noise.clone(),
        ttft_noise: ttft_noise.clone(),
        range: range.clone(),
        server: None,
        uncertainty: None,
        not_measured: not_measured.clone(),
        measured_levels: measured_levels.clone(),
    };
    let mut model = build(&tpot_u, &ttft_u);
    // The server model is preferred; the closed forms stay when they fit the same levels
    // clearly better, error for error, after paying for their parameters (a managed service
    // whose knee comes from machinery the server model does not have, e.g. seed 002). A table
    // that measures one metric only keeps the server model, which alone read it.
    let closed: Vec<f64> = log_errors(&tpot_form, &tpot_u, &tpot_points)
        .into_iter()
        .chain(log_errors(&ttft_form, &ttft_u, &ttft_points))
        .collect();
    let closed_corrected = if not_measured.is_empty() {
        corrected_rms_pct(
            &closed,
            tpot_form.parameter_count() + ttft_form.parameter_count(),
        )
    } else {
        f64::INFINITY
    };
    if let Some(fit) = server_fit {
        let server_corrected = server_candidates
            .iter()
            .find(|c| c.chosen)
            .map_or(f64::INFINITY, |c| c.corrected_rms_pct);
        if server_corrected <= SERVER_MARGIN * closed_corrected {
            model.server = Some(fit.model);
            model.uncertainty = fit.uncertainty;
        } else {
            for c in &mut server_candidates {
                c.chosen = false;
            }
        }
    }

    // Leave-one-level-out for the chosen forms: each concurrency level predicted from the others.
    let mut leave_one_level_out = Vec::new();
    for concurrency in spread(&distinct_concurrencies(levels.iter()), MAX_FOLDS) {
        let without = |pts: &[Point]| -> Vec<Point> {
            pts.iter()
                .filter(|p| p.concurrency != concurrency)
                .copied()
                .collect()
        };
        let tpot_fit = best_fit(
            &tpot_form,
            &without(&tpot_points),
            &tpot_form.starts(&tpot_points),
        );
        let ttft_fit = best_fit(
            &ttft_form,
            &without(&ttft_points),
            &ttft_form.starts(&ttft_points),
        );
        if let (Some((tu, _)), Some((su, _))) = (tpot_fit, ttft_fit) {
            let held_out: Vec<Level> = levels
                .iter()
                .filter(|l| l.concurrency == concurrency)
                .cloned()
                .collect();
            leave_one_level_out.extend(evaluate(&build(&tu, &su), &held_out));
        }
    }
    Ok(FitReport {
        levels: evaluate(&model, levels),
        model,
        leave_one_level_out,
        candidates,
        server_candidates,
    })
}

/// Measured against predicted for each level (used in-sample, held out and left out alike).
pub fn evaluate(model: &PerfModel, levels: &[Level]) -> Vec<LevelFit> {
    levels
        .iter()
        .filter_map(|level| {
            let prediction = model
                .predict_centre(level.concurrency, level.prompt_tokens, level.output_tokens)
                .ok()?;
            let measured_tps = level.tpot_s.map(|t| 1.0 / t);
            let predicted_tps = prediction.tps_per_request();
            let predicted_ttft = prediction.ttft_p50_s();
            Some(LevelFit {
                concurrency: level.concurrency,
                prompt_tokens: level.prompt_tokens,
                output_tokens: level.output_tokens,
                measured_tps_per_request: measured_tps,
                predicted_tps_per_request: predicted_tps,
                tps_error_pct: measured_tps.map(|m| (predicted_tps / m - 1.0) * 100.0),
                measured_ttft_s: level.ttft_s,
                predicted_ttft_s: predicted_ttft,
                ttft_error_pct: level.ttft_s.map(|m| (predicted_ttft / m - 1.0) * 100.0),
            })
        })
        .collect()
}

/// Fit targets: each measured median divided by the noise's median shift at its concurrency, so
/// that the fitted model's p50 (spikes included) lands on the measurement.
fn points(
    levels: &[Level],
    metric: impl Fn(&Level) -> Option<f64>,
    noise: &NoiseModel,
) -> Vec<Point> {
    levels
        .iter()
        .filter_map(|l| {
            let shift = noise.at(1.0, l.concurrency).quantile(0.5);
            metric(l).map(|value| Point {
                concurrency: l.concurrency,
                prompt_tokens: l.prompt_tokens,
                output_tokens: l.output_tokens,
                target: value / shift,
            })
        })
        .collect()
}

fn fitted_range(levels: &[Level]) -> FitRange {
    let span = |f: fn(&Level) -> f64| {
        levels
            .iter()
            .map(f)
            .fold([f64::INFINITY, f64::NEG_INFINITY], |[lo, hi], v| {
                [lo.min(v), hi.max(v)]
            })
    };
    FitRange {
        concurrency: span(|l| l.concurrency),
        prompt_tokens: span(|l| l.prompt_tokens),
        output_tokens: span(|l| l.output_tokens),
    }
}

/// Leave-one-level-out uses at most this many folds, spread evenly over the levels, so a fit
/// stays near-linear in the number of levels (a sweep of 10,000 levels is not 10,000 refits).
const MAX_FOLDS: usize = 8;

/// The server model is fitted by simulating every level at each step, so a longer sweep is
/// thinned further for it (neighbours merged into medians, as for the closed forms).
const MAX_SERVER_LEVELS: usize = 24;

/// A sweep with more levels than this is fitted on this many: neighbouring levels (by prompt
/// size, then concurrency) are merged into their medians, so the fit's cost stops growing with
/// the sweep; the report then lists the merged levels.
const MAX_FITTED_LEVELS: usize = 48;

/// `levels` merged into at most `k` groups of neighbours, each its medians.
fn thin(levels: &[Level], k: usize) -> Vec<Level> {
    if levels.len() <= k {
        return levels.to_vec();
    }
    let mut sorted = levels.to_vec();
    sorted.sort_by(|a, b| {
        a.prompt_tokens
            .total_cmp(&b.prompt_tokens)
            .then(a.concurrency.total_cmp(&b.concurrency))
    });
    let size = sorted.len().div_ceil(k);
    sorted
        .chunks(size)
        .map(|group| {
            let med = |f: &dyn Fn(&Level) -> Option<f64>| {
                let mut v: Vec<f64> = group.iter().filter_map(f).collect();
                crate::stats::quantile(&mut v, 0.5)
            };
            Level {
                concurrency: med(&|l| Some(l.concurrency)).unwrap_or(group[0].concurrency),
                prompt_tokens: med(&|l| Some(l.prompt_tokens)).unwrap_or(group[0].prompt_tokens),
                output_tokens: med(&|l| Some(l.output_tokens)).unwrap_or(group[0].output_tokens),
                tpot_s: med(&|l| l.tpot_s),
                ttft_s: med(&|l| l.ttft_s),
                samples: group.iter().map(|l| l.samples).sum(),
                run_requests: group[0].run_requests,
                cached_tokens: med(&|l| Some(l.cached_tokens)).unwrap_or(0.0),
            }
        })
        .collect()
}

/// At most `k` values of `values`, evenly spread, the ends included.
fn spread(values: &[f64], k: usize) -> Vec<f64> {
    if values.len() <= k || k < 2 {
        return values.to_vec();
    }
    (0..k)
        .map(|i| values[i * (values.len() - 1) / (k - 1)])
        .collect()
}

/// The server model is kept unless the closed forms' corrected error is below this share of
/// its own: a mechanism that explains the data nearly as well is worth more than a curve.
const SERVER_MARGIN: f64 = 1.25;

/// RMS log error in percent, corrected for `k` parameters: `rms·sqrt(m/(m − k))`.
fn corrected_rms_pct(errors: &[f64], k: usize) -> f64 {
    let m = errors.len();
    if m <= k {
        return f64::INFINITY;
    }
    rms_pct(errors) * (m as f64 / (m - k) as f64).sqrt()
}

fn rms_pct(errors: &[f64]) -> f64 {
    100.0 * (errors.iter().map(|e| e * e).sum::<f64>() / errors.len() as f64).sqrt()
}

fn log_errors<F: Form>(form: &F, u: &[f64], points: &[Point]) -> Vec<f64> {
    points
        .iter()
        .map(|p| (form.eval(u, p) / p.target).ln())
        .collect()
}

/// Fits every candidate; keeps the one with the lowest leave-one-level-out error (fewer
/// parameters on a tie). When some candidate has no informative fold (too few levels), all are
/// scored by their in-sample error corrected for degrees of freedom instead.
fn select<F: Candidate>(
    forms: &[F],
    points: &[Point],
    metric: &str,
) -> Result<(F, Vec<f64>, Vec<CandidateScore>), PerfError> {
    let mut fitted = Vec::new();
    for &form in forms {
        let Some((u, _)) = best_fit(&form, points, &form.starts(points)) else {
            continue;
        };
        let in_sample = rms_pct(&log_errors(&form, &u, points));
        let lolo = leave_one_level_out_errors(&form, points).map(|e| rms_pct(&e));
        fitted.push((form, u, in_sample, lolo));
    }
    if fitted.is_empty() {
        return Err(PerfError::Empty(format!(
            "too few {metric} levels to fit any form (have {}, the simplest form needs {})",
            points.len(),
            forms.iter().map(|f| f.parameter_count()).min().unwrap_or(0)
        )));
    }
    // Held-out error where every candidate has an informative fold; otherwise the in-sample
    // error corrected for degrees of freedom, which every candidate with points to spare has.
    let all_lolo = fitted.iter().all(|f| f.3.is_some());
    let n = points.len() as f64;
    let score = |f: &(F, Vec<f64>, f64, Option<f64>)| {
        if all_lolo {
            f.3.unwrap_or(f64::INFINITY)
        } else {
            let k = f.0.parameter_count() as f64;
            if n > k {
                f.2 * (n / (n - k)).sqrt()
            } else {
                f64::INFINITY
            }
        }
    };
    // Scores within 0.05 percentage points are a tie, and a tie goes to the simpler form.
    let best = (0..fitted.len())
        .min_by(|&a, &b| {
            let (sa, sb) = (score(&fitted[a]), score(&fitted[b]));
            if (sa - sb).abs() < 0.05 {
                fitted[a]
                    .0
                    .parameter_count()
                    .cmp(&fitted[b].0.parameter_count())
            } else {
                sa.total_cmp(&sb)
            }
        })
        .expect("non-empty");
    let scores = fitted
        .iter()
        .enumerate()
        .map(|(i, (form, _, in_sample, lolo))| CandidateScore {
            metric: metric.to_string(),
            form: form.label().to_string(),
            parameters: form.parameter_count(),
            in_sample_rms_pct: *in_sample,
            leave_one_level_out_rms_pct: *lolo,
            chosen: i == best,
        })
        .collect();
    let (form, u, _, _) = fitted.swap_remove(best);
    Ok((form, u, scores))
}

/// Log errors of predicting each interior concurrency level from a fit on the others, over the
/// folds whose training set has more points than the form has parameters (a fold with none to
/// spare fits anything exactly and tells nothing); `None` when no fold is informative.
///
/// Only interior levels score a form: leaving out the lowest or highest level tests
/// extrapolation, which a profile flags rather than promises, and a knee that lies beyond the
/// remaining levels cannot be seen by any form.
fn leave_one_level_out_errors<F: Candidate>(form: &F, points: &[Point]) -> Option<Vec<f64>> {
    let mut concurrencies: Vec<f64> = points.iter().map(|p| p.concurrency).collect();
    concurrencies.sort_by(f64::total_cmp);
    concurrencies.dedup();
    if concurrencies.len() < 3 {
        return None;
    }
    let starts = form.starts(points);
    let mut errors = Vec::new();
    for c in spread(&concurrencies[1..concurrencies.len() - 1], MAX_FOLDS) {
        let (train, test): (Vec<Point>, Vec<Point>) =
            points.iter().partition(|p| p.concurrency != c);
        if train.len() <= form.parameter_count() {
            continue;
        }
        let (u, _) = best_fit(form, &train, &starts)?;
        errors.extend(log_errors(form, &u, &test));
    }
    (!errors.is_empty()).then_some(errors)
}
