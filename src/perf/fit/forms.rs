//! The candidate forms as optimisation problems: parameter transforms (every coefficient stays
//! positive, γ stays in its bounds) and starting points spread over plausible scales.

use super::lm::{Form, Point};
use crate::perf::model::{
    held_context, TpotForm, TpotModel, TtftForm, TtftModel, GAMMA_MAX, GAMMA_MIN,
};

fn positive(u: f64) -> f64 {
    u.clamp(-700.0, 700.0).exp()
}

fn gamma_from(u: f64) -> f64 {
    GAMMA_MIN + (GAMMA_MAX - GAMMA_MIN) / (1.0 + (-u).exp())
}

fn gamma_to(gamma: f64) -> f64 {
    let x = ((gamma - GAMMA_MIN) / (GAMMA_MAX - GAMMA_MIN)).clamp(1e-6, 1.0 - 1e-6);
    (x / (1.0 - x)).ln()
}

pub fn tpot_model(form: TpotForm, u: &[f64]) -> TpotModel {
    TpotModel {
        form,
        t0_s: positive(u[0]),
        t1_s: positive(u[1]),
        t2_s: positive(u[2]),
        theta: (form != TpotForm::Linear).then(|| positive(u[3])),
        equation: form.equation().to_string(),
    }
}

pub fn ttft_model(form: TtftForm, u: &[f64]) -> TtftModel {
    TtftModel {
        form,
        a0_s: positive(u[0]),
        a1_s: positive(u[1]),
        a2: if form == TtftForm::Flat {
            0.0
        } else {
            positive(u[2])
        },
        gamma: (form == TtftForm::ConcurrencyPower).then(|| gamma_from(u[3])),
        equation: form.equation().to_string(),
    }
}

/// A model form the fit can try: how to evaluate it and where to start looking.
pub trait Candidate: Form + Copy {
    fn label(&self) -> &'static str;
    fn starts(&self, points: &[Point]) -> Vec<Vec<f64>>;
}

impl Form for TpotForm {
    fn parameter_count(&self) -> usize {
        TpotForm::parameter_count(*self)
    }
    fn eval(&self, u: &[f64], p: &Point) -> f64 {
        let k = held_context(p.concurrency, p.prompt_tokens, p.output_tokens);
        tpot_model(*self, u).median_s(p.concurrency, k)
    }
}

impl Candidate for TpotForm {
    fn label(&self) -> &'static str {
        self.name()
    }
    fn starts(&self, points: &[Point]) -> Vec<Vec<f64>> {
        tpot_starts(*self, points)
    }
}

impl Form for TtftForm {
    fn parameter_count(&self) -> usize {
        TtftForm::parameter_count(*self)
    }
    fn eval(&self, u: &[f64], p: &Point) -> f64 {
        ttft_model(*self, u).median_s(p.concurrency, p.prompt_tokens)
    }
}

impl Candidate for TtftForm {
    fn label(&self) -> &'static str {
        self.name()
    }
    fn starts(&self, points: &[Point]) -> Vec<Vec<f64>> {
        ttft_starts(*self, points)
    }
}

fn extremes(points: &[Point], f: impl Fn(&Point) -> f64) -> (f64, f64) {
    points
        .iter()
        .map(f)
        .fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

/// Starting points for a TPOT fit: the unloaded step near the fastest level, the saturation scale
/// tried at several distances from the largest measured context.
fn tpot_starts(form: TpotForm, points: &[Point]) -> Vec<Vec<f64>> {
    let (y_min, y_max) = extremes(points, |p| p.target);
    let (_, n_max) = extremes(points, |p| p.concurrency);
    let (_, k_max) = extremes(points, |p| {
        held_context(p.concurrency, p.prompt_tokens, p.output_tokens)
    });
    let base = [
        (0.8 * y_min).ln(),
        (0.05 * y_min / n_max).ln(),
        (0.05 * y_min / k_max.max(1.0)).ln(),
    ];
    let thetas: Vec<f64> = match form {
        TpotForm::Linear => return vec![base.to_vec()],
        TpotForm::Queue => [1.2, 2.0, 5.0, 20.0].iter().map(|f| f * k_max).collect(),
        TpotForm::Roofline | TpotForm::SmoothRoofline => [1.0, 0.8, 0.5, 0.1]
            .iter()
            .map(|f| k_max / (f * y_max))
            .collect(),
    };
    thetas
        .into_iter()
        .map(|theta| {
            let mut start = base.to_vec();
            start.push(theta.max(1.0).ln());
            start
        })
        .collect()
}

fn ttft_starts(form: TtftForm, points: &[Point]) -> Vec<Vec<f64>> {
    let (y_min, _) = extremes(points, |p| p.target);
    let (_, n_max) = extremes(points, |p| p.concurrency);
    let (_, p_max) = extremes(points, |p| p.prompt_tokens);
    let a0 = (0.8 * y_min).ln();
    let a1 = (0.2 * y_min / p_max).ln();
    let others = (n_max - 1.0).max(1.0);
    match form {
        TtftForm::Flat => vec![vec![a0, a1]],
        TtftForm::PrefillLoad => vec![vec![a0, a1, (0.05 * y_min / (others * p_max)).ln()]],
        TtftForm::ConcurrencyPower => [1.5, 3.0, 5.0]
            .iter()
            .map(|&gamma: &f64| vec![a0, a1, 0.1_f64.ln(), gamma_to(gamma)])
            .collect(),
    }
}
