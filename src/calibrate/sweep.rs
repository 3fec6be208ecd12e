//! What a calibration run measures: the levels (concurrency × prompt size × output size) and how
//! load is applied at each.

use serde::{Deserialize, Serialize};

/// A sweep that cannot run; each message names the flag that fixes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SweepError {
    #[error("{flag} needs one or more positive integers, e.g. 1,2,4,8")]
    Sizes { flag: &'static str },
    #[error("--requests-per-level must be at least 1")]
    NoRequests,
    #[error("--requests-per-level {requests}: at most 100,000 (each is recorded; a level that long measures nothing more)")]
    TooManyRequests { requests: u32 },
    #[error("--passes {passes} must be from 1 to --requests-per-level ({requests}): each pass runs at least one measured request a level")]
    Passes { passes: u32, requests: u32 },
    #[error("--passes splits a fixed sweep; --auto chooses its levels from each result, so run it with --passes 1")]
    PassesWithAuto,
    #[error("--mode interval needs --interval SECONDS (> 0)")]
    NoInterval,
    #[error("--mode rate needs --rate R[,R...] in requests per second (> 0)")]
    NoRates,
    #[error(transparent)]
    Range(#[from] crate::bounds::OutOfRange),
}

/// Measured requests one level may ask for.
pub const MAX_REQUESTS_PER_LEVEL: u32 = 100_000;

/// How requests are launched within a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SweepMode {
    /// Keep c requests in flight: a new one starts as soon as one finishes.
    Closed,
    /// Launch c at once, wait for all c to finish, repeat (seed 002's method).
    Sequential,
    /// Launch c at once every --interval seconds, whether or not the last batch finished
    /// (seed 002's method); shows queueing when the endpoint cannot keep up.
    Interval,
    /// Open loop: requests arrive at --rate per second (Poisson, constant or gamma), at most c
    /// in flight; reaching c means the endpoint is over-saturated and the level stops.
    Rate,
}

/// Inter-arrival times in rate mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Arrivals {
    Poisson,
    Constant,
    /// Gamma with coefficient of variation --burstiness (> 1 is burstier than Poisson).
    Gamma,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    pub mode: SweepMode,
    pub concurrency: Vec<u32>,
    pub prompt_tokens: Vec<u32>,
    pub output_tokens: Vec<u32>,
    pub requests_per_level: u32,
    /// Warm-up requests at the start of each level (of each pass, with `passes`).
    pub warmup_per_level: u32,
    /// The fixed sweep runs in this many interleaved passes, each level's measured requests
    /// split between them, so a slow drift in the endpoint's speed falls on every level alike.
    #[serde(default = "one_pass")]
    pub passes: u32,
    /// Stop dispatching in a level after this long, even if requests remain.
    #[serde(default)]
    pub duration_per_level_s: Option<f64>,
    /// Interval mode: seconds between batches.
    #[serde(default)]
    pub interval_s: Option<f64>,
    /// Rate mode: requests per second, one level per rate (concurrency is then the cap).
    #[serde(default)]
    pub rates: Vec<f64>,
    #[serde(default = "poisson")]
    pub arrivals: Arrivals,
    #[serde(default = "one")]
    pub burstiness: f64,
    /// Ask for exactly max_tokens of output (ignore_eos / min_tokens) where the target allows.
    pub fixed_output: bool,
    /// A request still unanswered after this long is recorded as a timeout.
    pub timeout_s: f64,
    /// Stop the run when a level's error rate exceeds this (after 10 requests).
    pub max_error_rate: f64,
    pub seed: u64,
    /// `--auto`: levels chosen as the run goes (`concurrency` then holds the doublings it may
    /// reach, `output_tokens` the one output size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto: Option<super::auto::AutoSpec>,
}

fn poisson() -> Arrivals {
    Arrivals::Poisson
}

fn one() -> f64 {
    1.0
}

fn one_pass() -> u32 {
    1
}

/// One level of the sweep.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelSpec {
    pub index: u32,
    pub concurrency: u32,
    /// Rate mode only.
    pub rate: Option<f64>,
    pub prompt_tokens: u32,
    pub output_tokens: u32,
}

impl LevelSpec {
    pub fn label(&self) -> String {
        let load = match self.rate {
            Some(rate) => format!("rate {rate}/s (cap {})", self.concurrency),
            None => format!("c={}", self.concurrency),
        };
        format!(
            "{load} prompt={} out={}",
            self.prompt_tokens, self.output_tokens
        )
    }
}

impl SweepSpec {
    /// Levels in the order they run: per prompt and output size, load ascending, so a
    /// saturating level comes last within its group.
    pub fn levels(&self) -> Vec<LevelSpec> {
        let mut levels = Vec::new();
        for &prompt_tokens in &self.prompt_tokens {
            for &output_tokens in &self.output_tokens {
                if self.mode == SweepMode::Rate {
                    let cap = self.concurrency.iter().copied().max().unwrap_or(256);
                    for &rate in &self.rates {
                        levels.push((cap, Some(rate), prompt_tokens, output_tokens));
                    }
                } else {
                    for &c in &self.concurrency {
                        levels.push((c, None, prompt_tokens, output_tokens));
                    }
                }
            }
        }
        levels
            .into_iter()
            .enumerate()
            .map(
                |(index, (concurrency, rate, prompt_tokens, output_tokens))| LevelSpec {
                    index: index as u32,
                    concurrency,
                    rate,
                    prompt_tokens,
                    output_tokens,
                },
            )
            .collect()
    }

    /// Requests the whole sweep sends at most, warm-up and cool-down included.
    pub fn total_requests(&self) -> u64 {
        match &self.auto {
            Some(auto) => {
                self.level_count() as u64
                    * self.requests_sent_per_level(auto.max_concurrency.max(1))
            }
            None => self
                .levels()
                .iter()
                .map(|level| self.requests_sent_per_level(level.concurrency))
                .sum(),
        }
    }

    /// Requests a level at `concurrency` sends at most: its measured ones, a warm-up in each
    /// pass and, in a closed loop, up to c − 1 cool-down requests a pass (each idle worker's
    /// one, keeping the last measured requests at concurrency c).
    pub fn requests_sent_per_level(&self, concurrency: u32) -> u64 {
        let cooldown = match self.mode {
            SweepMode::Closed => concurrency.saturating_sub(1),
            _ => 0,
        };
        u64::from(self.requests_per_level)
            + u64::from(self.passes.max(1)) * u64::from(self.warmup_per_level + cooldown)
    }

    /// Levels the sweep runs (an auto sweep: at most).
    pub fn level_count(&self) -> usize {
        match &self.auto {
            Some(auto) => auto.max_levels(self.prompt_tokens.len()),
            None => self.levels().len(),
        }
    }

    /// Every problem names the flag that fixes it.
    pub fn check(&self) -> Result<(), SweepError> {
        for (flag, values) in [
            ("--concurrency", &self.concurrency),
            ("--prompt-tokens", &self.prompt_tokens),
            ("--output-tokens", &self.output_tokens),
        ] {
            if values.is_empty() || values.contains(&0) {
                return Err(SweepError::Sizes { flag });
            }
        }
        use crate::bounds;
        bounds::CONCURRENCY.check_all("--concurrency", &self.concurrency)?;
        bounds::PROMPT_TOKENS.check_all("--prompt-tokens", &self.prompt_tokens)?;
        bounds::OUTPUT_TOKENS.check_all("--output-tokens", &self.output_tokens)?;
        bounds::REQUEST_TIMEOUT_S.check("--timeout", self.timeout_s)?;
        if let Some(s) = self.duration_per_level_s {
            bounds::RUN_S.check("--duration-per-level", s)?;
        }
        if let Some(s) = self.interval_s {
            bounds::INTERVAL_S.check("--interval", s)?;
        }
        bounds::RATE_PER_S.check_all("--rate", &self.rates)?;
        bounds::BURSTINESS.check("--burstiness", self.burstiness)?;
        bounds::FRACTION.check("--max-error-rate", self.max_error_rate)?;
        if self.requests_per_level == 0 {
            return Err(SweepError::NoRequests);
        }
        if self.requests_per_level > MAX_REQUESTS_PER_LEVEL {
            return Err(SweepError::TooManyRequests {
                requests: self.requests_per_level,
            });
        }
        if self.passes == 0 || self.passes > self.requests_per_level {
            return Err(SweepError::Passes {
                passes: self.passes,
                requests: self.requests_per_level,
            });
        }
        if self.passes > 1 && self.auto.is_some() {
            return Err(SweepError::PassesWithAuto);
        }
        if self.mode == SweepMode::Interval && !self.interval_s.is_some_and(|s| s > 0.0) {
            return Err(SweepError::NoInterval);
        }
        if self.mode == SweepMode::Rate
            && (self.rates.is_empty() || self.rates.iter().any(|r| !(r.is_finite() && *r > 0.0)))
        {
            return Err(SweepError::NoRates);
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn spec() -> SweepSpec {
        SweepSpec {
            mode: SweepMode::Closed,
            concurrency: vec![1, 2, 4],
            prompt_tokens: vec![64, 1024],
            output_tokens: vec![128],
            requests_per_level: 10,
            warmup_per_level: 1,
            passes: 1,
            duration_per_level_s: None,
            interval_s: None,
            rates: Vec::new(),
            arrivals: Arrivals::Poisson,
            burstiness: 1.0,
            fixed_output: true,
            timeout_s: 60.0,
            max_error_rate: 0.5,
            seed: 1,
            auto: None,
        }
    }

    #[test]
    fn levels_sweep_load_within_each_size() {
        let levels = spec().levels();
        let shape: Vec<(u32, u32)> = levels
            .iter()
            .map(|l| (l.prompt_tokens, l.concurrency))
            .collect();
        assert_eq!(
            shape,
            vec![(64, 1), (64, 2), (64, 4), (1024, 1), (1024, 2), (1024, 4)]
        );
        assert!(levels.iter().enumerate().all(|(i, l)| l.index == i as u32));
        // Each prompt size: c = 1, 2, 4 with 10 measured, 1 warm-up and c − 1 cool-downs.
        assert_eq!(spec().total_requests(), 2 * (11 + 12 + 14));
        let mut rate = spec();
        rate.mode = SweepMode::Interval;
        assert_eq!(
            rate.total_requests(),
            6 * 11,
            "no cool-down outside a closed loop"
        );
    }

    #[test]
    fn bad_sweeps_name_the_flag() {
        let mut s = spec();
        s.concurrency = vec![0];
        assert_eq!(
            s.check().unwrap_err().to_string(),
            "--concurrency needs one or more positive integers, e.g. 1,2,4,8"
        );
        let mut s = spec();
        s.mode = SweepMode::Interval;
        assert!(s.check().unwrap_err().to_string().contains("--interval"));
        let mut s = spec();
        s.mode = SweepMode::Rate;
        assert!(s.check().unwrap_err().to_string().contains("--rate"));
        let mut s = spec();
        s.mode = SweepMode::Rate;
        s.rates = vec![2.0, 4.0];
        assert!(s.check().is_ok());
        assert_eq!(s.levels().len(), 4);
        assert!(s.levels().iter().all(|l| l.concurrency == 4));
    }
}
