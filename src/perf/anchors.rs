//! Never worse than the data: a prediction between two measured levels is held between their
//! measurements. Interpolating between two neighbours can only land between them, so a model
//! whose figure falls outside that bracket is further from both than interpolation would be;
//! the figure is then moved to the nearer end and the prediction says so.

use serde::{Deserialize, Serialize};

use super::levels::{Level, Metric};

/// A level the model was fitted on, with the medians measured there.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Anchor {
    pub concurrency: f64,
    pub prompt_tokens: f64,
    pub output_tokens: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_s: Option<f64>,
}

impl Anchor {
    /// The measured median of `metric`, if the level measured it.
    pub fn get(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Ttft => self.ttft_s,
            Metric::Tpot => self.tpot_s,
        }
    }
}

impl From<&Level> for Anchor {
    fn from(l: &Level) -> Anchor {
        Anchor {
            concurrency: l.concurrency,
            prompt_tokens: l.prompt_tokens,
            output_tokens: l.output_tokens,
            ttft_s: l.ttft_s,
            tpot_s: l.tpot_s,
        }
    }
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// The measured range `[low, high]` that a figure at `(concurrency, prompt, output)` lies
/// between: its nearest measured neighbours below and above in concurrency (same prompt and
/// output), else in prompt size (same concurrency and output). `None` outside the measured
/// points or on one of them.
pub fn bracket(
    anchors: &[Anchor],
    concurrency: f64,
    prompt_tokens: f64,
    output_tokens: f64,
    metric: impl Fn(&Anchor) -> Option<f64>,
) -> Option<[f64; 2]> {
    let along = |key: &dyn Fn(&Anchor) -> f64, at: f64, fixed: &dyn Fn(&Anchor) -> bool| {
        let line: Vec<(f64, f64)> = anchors
            .iter()
            .filter(|a| fixed(a) && same(a.output_tokens, output_tokens))
            .filter_map(|a| metric(a).map(|v| (key(a), v)))
            .collect();
        if line.iter().any(|(k, _)| same(*k, at)) {
            return None;
        }
        let below = line
            .iter()
            .filter(|(k, _)| *k < at)
            .max_by(|a, b| a.0.total_cmp(&b.0))?;
        let above = line
            .iter()
            .filter(|(k, _)| *k > at)
            .min_by(|a, b| a.0.total_cmp(&b.0))?;
        Some([below.1.min(above.1), below.1.max(above.1)])
    };
    along(&|a| a.concurrency, concurrency, &|a| {
        same(a.prompt_tokens, prompt_tokens)
    })
    .or_else(|| {
        along(&|a| a.prompt_tokens, prompt_tokens, &|a| {
            same(a.concurrency, concurrency)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(c: f64, p: f64, tpot: f64) -> Anchor {
        Anchor {
            concurrency: c,
            prompt_tokens: p,
            output_tokens: 100.0,
            ttft_s: None,
            tpot_s: Some(tpot),
        }
    }

    #[test]
    fn a_level_between_two_measured_ones_is_bracketed_by_them() {
        let anchors = [
            at(1.0, 500.0, 0.02),
            at(16.0, 500.0, 0.05),
            at(64.0, 500.0, 0.09),
        ];
        let b = |c: f64| bracket(&anchors, c, 500.0, 100.0, |a| a.tpot_s);
        assert_eq!(b(8.0), Some([0.02, 0.05]));
        assert_eq!(b(32.0), Some([0.05, 0.09]));
        // On a measured level, outside the measured span, at another prompt size: none.
        assert_eq!(b(16.0), None);
        assert_eq!(b(128.0), None);
        assert_eq!(bracket(&anchors, 8.0, 900.0, 100.0, |a| a.tpot_s), None);
        // Along the prompt at one concurrency.
        let sweep = [at(1.0, 128.0, 0.022), at(1.0, 8192.0, 0.025)];
        assert_eq!(
            bracket(&sweep, 1.0, 1024.0, 100.0, |a| a.tpot_s),
            Some([0.022, 0.025])
        );
    }
}
