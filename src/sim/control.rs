//! Watching and stopping a long simulation from another thread: the engine publishes where it
//! is and checks a stop flag every `CHECK_EVERY` events; nothing else about the run changes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Events between two looks at the control (cheap: a few relaxed atomics).
pub const CHECK_EVERY: u64 = 4_096;

/// Shared between a running simulation and whoever watches it.
#[derive(Debug, Default)]
pub struct RunControl {
    stop: AtomicBool,
    /// Logical requests resolved (succeeded or gave up), warm-up included.
    resolved: AtomicU64,
    /// Requests sent and not yet resolved.
    in_flight: AtomicU64,
    /// Simulated seconds reached, as f64 bits.
    now_bits: AtomicU64,
}

/// Where a run is.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
    pub resolved: u64,
    pub in_flight: u64,
    pub simulated_s: f64,
}

impl RunControl {
    /// Asks the run to stop at its next check; the result then covers what was simulated.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub fn progress(&self) -> Progress {
        Progress {
            resolved: self.resolved.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            simulated_s: f64::from_bits(self.now_bits.load(Ordering::Relaxed)),
        }
    }

    /// Called by the engine: records where the run is and says whether to stop.
    pub fn publish(&self, progress: Progress) -> bool {
        self.resolved.store(progress.resolved, Ordering::Relaxed);
        self.in_flight.store(progress.in_flight, Ordering::Relaxed);
        self.now_bits
            .store(progress.simulated_s.to_bits(), Ordering::Relaxed);
        self.stop_requested()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_progress_reads_back_and_stop_is_seen() {
        let control = RunControl::default();
        let at = Progress {
            resolved: 12,
            in_flight: 3,
            simulated_s: 61.5,
        };
        assert!(!control.publish(at));
        assert_eq!(control.progress(), at);
        control.stop();
        assert!(control.publish(at));
    }
}
