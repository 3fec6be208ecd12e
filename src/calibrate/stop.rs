//! One stop signal for the whole run: Ctrl-C, an error-rate abort or the caller can raise it;
//! dispatchers stop launching, in-flight requests get a grace period, and the reason is kept for
//! the manifest.

use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct StopSignal {
    sender: watch::Sender<Option<String>>,
}

impl Default for StopSignal {
    fn default() -> Self {
        StopSignal::new()
    }
}

impl StopSignal {
    pub fn new() -> StopSignal {
        StopSignal {
            sender: watch::Sender::new(None),
        }
    }

    /// Raises the signal; the first reason is the one kept.
    pub fn trigger(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.sender.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(reason);
                true
            } else {
                false
            }
        });
    }

    pub fn is_set(&self) -> bool {
        self.sender.borrow().is_some()
    }

    pub fn reason(&self) -> Option<String> {
        self.sender.borrow().clone()
    }

    /// Resolves once the signal is raised (at once if it already is).
    pub async fn stopped(&self) {
        let mut receiver = self.sender.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = receiver.wait_for(Option::is_some).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_reason_wins_and_waiters_wake() {
        let stop = StopSignal::new();
        let waiter = {
            let stop = stop.clone();
            tokio::spawn(async move { stop.stopped().await })
        };
        assert!(!stop.is_set());
        stop.trigger("interrupted");
        stop.trigger("error rate");
        waiter.await.unwrap();
        assert_eq!(stop.reason().as_deref(), Some("interrupted"));
        stop.stopped().await; // already set: returns at once
    }
}
