//! `calibrate --auto`: the levels are chosen as the run goes, to find the knee (docs/DESIGN.md,
//! "Measuring"). At the workload's middle prompt size concurrency doubles from 1 until the
//! endpoint saturates — output tokens/s grows by less than 15 % for a doubling, or p50 TTFT
//! jumps fourfold (requests queue) — then fills in around the knee (geometric midpoints of the
//! last three doublings, and one level past it to show the plateau) and makes up five levels;
//! the other prompt sizes run at 1, near the knee and saturated. Pure: it sees level results
//! and says what to run next.

use serde::{Deserialize, Serialize};

/// Doubling concurrency must raise output tokens/s by at least this factor, or the endpoint is
/// saturated (perfect scaling gives 2; a full batch gives 1).
pub const GROWTH: f64 = 1.15;
/// A p50 TTFT this many times the previous level's means requests are queueing.
pub const TTFT_JUMP: f64 = 4.0;
/// Levels at the middle prompt size the fit needs at least.
pub const MIN_LEVELS: usize = 5;

/// What `--auto` was given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutoSpec {
    /// Concurrency never goes past this.
    pub max_concurrency: u32,
    /// No level starts once the run's time would pass this (seconds).
    #[serde(default)]
    pub max_duration_s: Option<f64>,
}

impl AutoSpec {
    /// The doublings 1, 2, 4 … up to `max_concurrency` (the spend guard's and the connection
    /// pool's worst case).
    pub fn doublings(&self) -> Vec<u32> {
        let mut c = 1u32;
        let mut out = Vec::new();
        while c <= self.max_concurrency {
            out.push(c);
            match c.checked_mul(2) {
                Some(next) => c = next,
                None => break,
            }
        }
        out
    }

    /// The most levels an auto sweep over `prompts` prompt sizes can run: every doubling,
    /// the fill-ins, and three levels for each other prompt size.
    pub fn max_levels(&self, prompts: usize) -> usize {
        self.doublings().len() + MIN_LEVELS + 3 * prompts.saturating_sub(1)
    }
}

/// What a finished level showed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measured {
    pub concurrency: u32,
    pub prompt_tokens: u32,
    /// Output tokens/s of the whole level (`None`: nothing succeeded).
    pub output_tokens_per_s: Option<f64>,
    pub ttft_p50_s: Option<f64>,
    /// Wall time the level took.
    pub wall_s: f64,
}

/// Where the knee is and what showed it. Both signals lag: a server whose batch fills at B
/// still gains throughput on the doubling that crosses B (part of it runs fuller), so the
/// saturation seen at `at` can have begun anywhere after `below`, the level before the last
/// unsaturated one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Knee {
    /// Clearly unsaturated here (two doublings before `at`).
    pub below: u32,
    /// The last level that still gained: the knee's best guess.
    pub near: u32,
    /// The first saturated level.
    pub at: u32,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Doubling,
    Around,
    Prompts,
}

/// The level chooser.
#[derive(Clone, Debug)]
pub struct AutoSweep {
    spec: AutoSpec,
    primary: u32,
    others: Vec<u32>,
    phase: Phase,
    /// Results at the primary prompt size, in the order run.
    primary_results: Vec<Measured>,
    queue: Vec<(u32, u32)>,
    knee: Option<Knee>,
    /// Why the run stopped choosing levels early (time budget), if it did.
    pub cut_short: Option<String>,
}

impl AutoSweep {
    /// `prompts`: the workload's prompt sizes; the middle one is swept first.
    pub fn new(spec: AutoSpec, prompts: &[u32]) -> AutoSweep {
        let mut sorted = prompts.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let primary = sorted.get(sorted.len() / 2).copied().unwrap_or(1);
        let others = sorted.into_iter().filter(|&p| p != primary).collect();
        AutoSweep {
            spec,
            primary,
            others,
            phase: Phase::Doubling,
            primary_results: Vec::new(),
            queue: vec![(1, primary)],
            knee: None,
            cut_short: None,
        }
    }

    pub fn knee(&self) -> Option<&Knee> {
        self.knee.as_ref()
    }

    /// The next level `(concurrency, prompt tokens)` after `last` (the level just run, `None`
    /// at the start), `elapsed_s` into the run; `None` when the sweep is done.
    pub fn next(&mut self, last: Option<Measured>, elapsed_s: f64) -> Option<(u32, u32)> {
        if let Some(m) = last {
            if m.prompt_tokens == self.primary {
                self.primary_results.push(m);
            }
            if self.phase == Phase::Doubling {
                self.after_doubling(m);
            }
        }
        if self.queue.is_empty() && self.phase == Phase::Around {
            self.phase = Phase::Prompts;
            self.queue_prompts();
        }
        if self.queue.is_empty() {
            return None;
        }
        if let (Some(budget), Some(m)) = (self.spec.max_duration_s, last) {
            // The next level takes about as long as the last (fewer rounds of longer requests);
            // half again for safety.
            if elapsed_s + 1.5 * m.wall_s > budget {
                self.cut_short = Some(format!(
                    "--max-duration {budget:.0} s: {} more level(s) would not fit after {elapsed_s:.0} s",
                    self.queue.len()
                ));
                self.queue.clear();
                return None;
            }
        }
        Some(self.queue.remove(0))
    }

    fn after_doubling(&mut self, m: Measured) {
        let previous = self
            .primary_results
            .len()
            .checked_sub(2)
            .map(|i| self.primary_results[i]);
        let saturated = match (previous, m.output_tokens_per_s) {
            (_, None) => Some("no request succeeded".to_string()),
            (Some(p), Some(x)) => {
                let growth = p.output_tokens_per_s.map(|px| x / px);
                let jump = match (p.ttft_p50_s, m.ttft_p50_s) {
                    (Some(a), Some(b)) if a > 0.0 => Some(b / a),
                    _ => None,
                };
                if growth.is_some_and(|g| g < GROWTH) {
                    Some(format!(
                        "output tokens/s grew only ×{:.2} from c={} to c={}",
                        growth.unwrap_or(1.0),
                        p.concurrency,
                        m.concurrency
                    ))
                } else if jump.is_some_and(|j| j > TTFT_JUMP) {
                    Some(format!(
                        "p50 TTFT jumped ×{:.1} from c={} to c={}",
                        jump.unwrap_or(1.0),
                        p.concurrency,
                        m.concurrency
                    ))
                } else {
                    None
                }
            }
            (None, Some(_)) => None,
        };
        match saturated {
            Some(reason) => {
                let n = self.primary_results.len();
                let level = |back: usize| {
                    n.checked_sub(back)
                        .map(|i| self.primary_results[i].concurrency)
                };
                let near = level(2).unwrap_or(m.concurrency);
                self.knee = Some(Knee {
                    below: level(3).unwrap_or(near),
                    near,
                    at: m.concurrency,
                    reason,
                });
                self.phase = Phase::Around;
                self.queue_around();
            }
            None => match m.concurrency.checked_mul(2) {
                Some(next) if next <= self.spec.max_concurrency => {
                    self.queue.push((next, self.primary));
                }
                _ => {
                    self.phase = Phase::Around;
                    self.queue_around();
                }
            },
        }
    }

    /// Concurrencies already run (or queued) at the primary prompt size.
    fn primary_levels(&self) -> Vec<u32> {
        let mut levels: Vec<u32> = self
            .primary_results
            .iter()
            .map(|m| m.concurrency)
            .chain(
                self.queue
                    .iter()
                    .filter(|(_, p)| *p == self.primary)
                    .map(|(c, _)| *c),
            )
            .collect();
        levels.sort_unstable();
        levels.dedup();
        levels
    }

    /// The knee's midpoint, one level past it, then midpoints from the top down until the
    /// primary prompt size has `MIN_LEVELS` levels.
    fn queue_around(&mut self) {
        let add = |c: u32, this: &mut AutoSweep| {
            if c >= 1 && c <= this.spec.max_concurrency && !this.primary_levels().contains(&c) {
                this.queue.push((c, this.primary));
            }
        };
        if let Some(knee) = self.knee.clone() {
            add(geometric_mid(knee.below, knee.near), self);
            add(geometric_mid(knee.near, knee.at), self);
            add(knee.at.saturating_mul(2), self);
        }
        while self.primary_levels().len() < MIN_LEVELS {
            let levels = self.primary_levels();
            let gap = levels
                .windows(2)
                .rev()
                .find(|w| w[1] - w[0] >= 2)
                .map(|w| geometric_mid(w[0], w[1]));
            match gap {
                Some(c) => add(c, self),
                None => break,
            }
        }
    }

    /// The other prompt sizes at 1, near the knee and saturated (or the top reached).
    fn queue_prompts(&mut self) {
        let top = self
            .primary_results
            .iter()
            .map(|m| m.concurrency)
            .max()
            .unwrap_or(1);
        let (near, at) = self.knee.as_ref().map_or((top, top), |k| (k.near, k.at));
        let mut levels = vec![1, near, at];
        levels.sort_unstable();
        levels.dedup();
        for &p in &self.others {
            for &c in &levels {
                self.queue.push((c, p));
            }
        }
    }
}

/// The integer nearest the geometric mean of `a` and `b`, strictly between them when they are
/// at least two apart (else the larger).
fn geometric_mid(a: u32, b: u32) -> u32 {
    let (lo, hi) = (a.min(b), a.max(b));
    if hi - lo < 2 {
        return hi;
    }
    let mid = (f64::from(lo) * f64::from(hi)).sqrt().round() as u32;
    mid.clamp(lo + 1, hi - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::model::{TpotForm, TpotModel};
    use crate::perf::server::bench::closed_loop;
    use crate::perf::server::{ServerModel, Sharing};

    fn server(max_batch: Option<f64>) -> ServerModel {
        ServerModel {
            max_batch,
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
            prefill_s_per_request: 0.0,
            sharing: Sharing::Chunked {
                tokens_per_step: 2_048.0,
            },
            overhead_s: 0.05,
            experts: None,
            floors: None,
            reply_spread: 0.0,
            shared_prefix_tokens: 0.0,
        }
    }

    /// Runs the chooser against a server model's closed loop (an independent implementation
    /// of saturation): returns the levels run and the knee.
    fn sweep(model: &ServerModel, spec: AutoSpec, prompts: &[u32]) -> (Vec<(u32, u32)>, AutoSweep) {
        let mut auto = AutoSweep::new(spec, prompts);
        let mut ran = Vec::new();
        let mut last = None;
        let mut elapsed = 0.0;
        while let Some((c, p)) = auto.next(last, elapsed) {
            ran.push((c, p));
            let level = closed_loop(model, f64::from(c), f64::from(p), 128.0);
            let wall = 20.0 / level.requests_per_s.max(1e-9);
            elapsed += wall;
            last = Some(Measured {
                concurrency: c,
                prompt_tokens: p,
                output_tokens_per_s: Some(level.requests_per_s * 128.0),
                ttft_p50_s: Some(level.ttft_s),
                wall_s: wall,
            });
        }
        (ran, auto)
    }

    #[test]
    fn finds_a_batch_limit_and_measures_around_it() {
        let model = server(Some(24.0));
        let spec = AutoSpec {
            max_concurrency: 512,
            max_duration_s: None,
        };
        let (ran, auto) = sweep(&model, spec, &[128, 512, 2_048]);
        let knee = auto.knee().expect("a batch limit saturates");
        // Throughput stops growing once the batch is full: the knee brackets B = 24.
        assert!(knee.below < 24 && knee.at >= 24, "{knee:?}");
        let primary: Vec<u32> = ran.iter().filter(|l| l.1 == 512).map(|l| l.0).collect();
        assert!(primary.len() >= MIN_LEVELS, "{primary:?}");
        for (lo, hi) in [(knee.below, knee.near), (knee.near, knee.at)] {
            assert!(
                primary.iter().any(|&c| c > lo && c < hi),
                "between {lo} and {hi}"
            );
        }
        assert!(
            primary.iter().any(|&c| c > knee.at),
            "a level past the knee"
        );
        for p in [128, 2_048] {
            let at: Vec<u32> = ran.iter().filter(|l| l.1 == p).map(|l| l.0).collect();
            assert_eq!(at, vec![1, knee.near, knee.at], "prompt {p}");
        }
        assert!(primary.iter().all(|&c| c <= 512));
    }

    #[test]
    fn an_endpoint_that_never_saturates_is_filled_in_under_the_cap() {
        let model = server(None);
        let spec = AutoSpec {
            max_concurrency: 4,
            max_duration_s: None,
        };
        let (ran, auto) = sweep(&model, spec, &[256]);
        assert!(auto.knee().is_none());
        let mut cs: Vec<u32> = ran.iter().map(|l| l.0).collect();
        cs.sort_unstable();
        assert_eq!(
            cs,
            vec![1, 2, 3, 4],
            "only four distinct levels fit under a cap of 4"
        );
    }

    #[test]
    fn the_time_budget_stops_new_levels() {
        let model = server(Some(24.0));
        let spec = AutoSpec {
            max_concurrency: 512,
            max_duration_s: Some(30.0),
        };
        let (ran, auto) = sweep(&model, spec, &[512]);
        assert!(auto.cut_short.is_some());
        assert!(ran.len() < 5, "{ran:?}");
    }

    #[test]
    fn geometric_midpoints_lie_strictly_between() {
        assert_eq!(geometric_mid(8, 16), 11);
        assert_eq!(geometric_mid(1, 2), 2);
        assert_eq!(geometric_mid(2, 4), 3);
        assert_eq!(geometric_mid(64, 128), 91);
    }
}
