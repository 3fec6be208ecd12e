//! `verify --users auto`: which population to drive next. Geometric from a start (doubling
//! while the SLO holds, halving while it breaks) until one population holds and a larger one
//! breaks, then bisection until the two are within a tenth of each other (or one user). Pure:
//! the caller runs each population (live, or the plan's simulation of a live run of the same
//! length, `plan::verify::knee`) and says whether it held.

/// The search's state: the most users seen holding and the fewest seen breaking.
#[derive(Clone, Debug, PartialEq)]
pub struct KneeSearch {
    /// Most users that held the SLO (0: none yet).
    pub held: u32,
    /// Fewest users that broke it.
    pub broke: Option<u32>,
    /// The most users the search may drive.
    pub limit: u32,
    next: Option<u32>,
}

/// The bracket is narrow enough when it is within this fraction of the users that held.
pub const TOLERANCE: f64 = 0.1;

impl KneeSearch {
    /// A search starting at `start` users (at least 1), never above `limit`.
    pub fn new(start: u32, limit: u32) -> KneeSearch {
        let limit = limit.max(1);
        KneeSearch {
            held: 0,
            broke: None,
            limit,
            next: Some(start.clamp(1, limit)),
        }
    }

    /// The population to drive next; `None` when the knee is found (or bounded by the limit,
    /// or below one user).
    pub fn next(&self) -> Option<u32> {
        self.next
    }

    /// The search a live run makes from the plan's knee: from half of it, never above 8× it
    /// (at least 8 users, at most 10,000).
    pub fn from_plan(knee: u32) -> KneeSearch {
        KneeSearch::new((knee / 2).max(1), knee.saturating_mul(8).clamp(8, 10_000))
    }

    /// Records whether `users` held the SLO and chooses the next population.
    pub fn record(&mut self, users: u32, holds: bool) {
        if holds {
            self.held = self.held.max(users);
        } else {
            self.broke = Some(self.broke.map_or(users, |b| b.min(users)));
        }
        self.next = match (self.held, self.broke) {
            // Still going up.
            (held, None) if held >= self.limit => None,
            (held, None) => Some(held.saturating_mul(2).min(self.limit)),
            // Still going down.
            (0, Some(1)) => None,
            (0, Some(broke)) => Some(broke / 2),
            (held, Some(broke)) => {
                let gap = broke.saturating_sub(held);
                if gap <= 1 || f64::from(gap) <= TOLERANCE * f64::from(held) {
                    None
                } else {
                    Some(held + gap / 2)
                }
            }
        };
    }

    /// The knee the search has found: the most users that held (0 if none did), and whether
    /// it is only a lower bound (no population broke the SLO).
    pub fn knee(&self) -> (u32, bool) {
        (self.held, self.broke.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the answer known in advance: an endpoint holding up to `t` users. The search
    /// must end with the bracket (held, broke] around t, within its tolerance, in at most a
    /// logarithmic number of steps.
    #[test]
    fn the_search_brackets_a_known_threshold() {
        for start in [1u32, 3, 8, 40, 500] {
            for t in [0u32, 1, 2, 5, 17, 33, 100, 999] {
                let mut s = KneeSearch::new(start, 10_000);
                let mut steps = 0;
                while let Some(u) = s.next() {
                    s.record(u, u <= t);
                    steps += 1;
                    assert!(steps < 40, "start {start}, t {t}: {s:?}");
                }
                let (knee, at_least) = s.knee();
                assert!(!at_least);
                assert!(knee <= t, "start {start}, t {t}: knee {knee}");
                let broke = s.broke.expect("a population above t broke");
                assert!(broke > t);
                assert!(
                    broke - knee <= 1 || f64::from(broke - knee) <= TOLERANCE * f64::from(knee),
                    "start {start}, t {t}: {s:?}"
                );
            }
        }
    }

    #[test]
    fn an_endpoint_that_never_breaks_is_bounded_by_the_limit() {
        let mut s = KneeSearch::new(5, 64);
        let mut driven = Vec::new();
        while let Some(u) = s.next() {
            driven.push(u);
            s.record(u, true);
        }
        assert_eq!(driven, vec![5, 10, 20, 40, 64]);
        assert_eq!(s.knee(), (64, true));
    }
}
