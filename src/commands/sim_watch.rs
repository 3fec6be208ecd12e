//! A simulation with a progress display and Ctrl-C: the engine runs on its own thread while this
//! one shows where it is, turns Ctrl-C into a stop, and stops a run that outgrows what memory
//! allows. A stopped run still returns its result, marked partial.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::sim::config::MAX_SIMULATED_S;
use crate::sim::control::Progress;
use crate::sim::{Load, RunControl, SimConfig, SimError, SimResult};

/// A terminal shows progress once a run has taken this long (short runs stay quiet).
const QUIET_FOR: Duration = Duration::from_secs(2);
/// How often a plain progress line is written when stderr is not a terminal (`--progress`).
const LINE_EVERY: Duration = Duration::from_secs(1);
/// How often the watcher looks at the run.
const POLL: Duration = Duration::from_millis(100);
/// Requests in flight at once beyond which a run is stopped: each holds a slot and pending
/// events (about 200 bytes), so this keeps them near 100 MB. A load that piles up this many
/// has no steady state to measure.
pub const MAX_IN_FLIGHT: u64 = 500_000;
/// Simulated time past which a run is stopped: the longest span a load may ask for plus the
/// day the engine waits for stragglers (closed loops have no duration to check up front).
const MAX_RUN_S: f64 = MAX_SIMULATED_S + 86_400.0;

/// Set by the SIGINT handler.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    // A second Ctrl-C ends the process the usual way.
    // SAFETY: signal() is async-signal-safe; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
}

fn catch_ctrl_c() {
    #[cfg(unix)]
    // SAFETY: installs a handler that only stores to an atomic and resets the disposition.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

/// A run's result, and why it stopped early if it did.
pub struct Watched {
    pub result: SimResult,
    pub stopped_by: Option<String>,
}

/// Runs `config`, showing progress on a terminal after two seconds, or always with `forced`
/// (plain lines when stderr is not a terminal, the first at once).
pub fn run_watched(config: &SimConfig, forced: bool) -> Result<Watched, SimError> {
    config.validate()?;
    catch_ctrl_c();
    let control = RunControl::default();
    let terminal = std::io::stderr().is_terminal();
    let started = Instant::now();
    let (sender, receiver) = mpsc::channel();
    let shared = &control;
    std::thread::scope(|scope| {
        // The sender moves into the thread: if the engine panicked, the channel closes.
        scope.spawn(move || {
            let _ = sender.send(crate::sim::run_controlled(config, shared));
        });
        let mut display = Display::new(config, terminal, forced);
        let mut stopped_by: Option<String> = None;
        loop {
            match receiver.recv_timeout(POLL) {
                Ok(result) => {
                    display.finish();
                    return result.map(|result| Watched { result, stopped_by });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                // The engine thread panicked; the scope re-raises its panic.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    display.finish();
                    return Err(SimError::out_of_range(
                        "simulation",
                        f64::NAN,
                        "a run that ends (the engine stopped unexpectedly)",
                    ));
                }
            }
            let progress = control.progress();
            if stopped_by.is_none() {
                stopped_by = stop_reason(progress);
                if stopped_by.is_some() {
                    control.stop();
                }
            }
            display.show(progress, started.elapsed());
        }
    })
}

/// Why a run should stop now, if it should.
fn stop_reason(progress: Progress) -> Option<String> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Some("interrupted (Ctrl-C)".into());
    }
    if progress.in_flight > MAX_IN_FLIGHT {
        return Some(format!(
            "stopped: more than {MAX_IN_FLIGHT} requests in flight at once (memory would grow \
             without bound; the endpoint is far past saturation for this load)"
        ));
    }
    if progress.simulated_s > MAX_RUN_S {
        return Some(format!(
            "stopped: the run passed {:.0} simulated days, the limit (the per-minute series \
             grows with simulated time); ask for fewer requests or more concurrency",
            MAX_RUN_S / 86_400.0
        ));
    }
    None
}

/// A bar on a terminal, plain lines otherwise (when forced), nothing when neither applies.
struct Display {
    terminal: bool,
    forced: bool,
    bar: Option<ProgressBar>,
    last_line: Option<Instant>,
    /// Closed loop: requests in all; else the simulated span in seconds.
    total: Total,
}

enum Total {
    Requests(u64),
    Seconds(f64),
}

impl Display {
    fn new(config: &SimConfig, terminal: bool, forced: bool) -> Display {
        let total = match &config.load {
            Load::Closed { requests, .. } => Total::Requests(*requests),
            Load::Open { duration_s, .. } | Load::Users { duration_s, .. } => {
                Total::Seconds(config.warmup_s + duration_s)
            }
        };
        let display = Display {
            terminal,
            forced,
            bar: None,
            last_line: None,
            total,
        };
        if forced && !terminal {
            eprintln!("progress: simulating (Ctrl-C stops and prints what was simulated)");
        }
        display
    }

    fn show(&mut self, p: Progress, elapsed: Duration) {
        if self.terminal && (self.forced || elapsed >= QUIET_FOR) {
            let bar = self.bar.get_or_insert_with(|| {
                let length = match self.total {
                    Total::Requests(n) => n,
                    Total::Seconds(s) => s.ceil() as u64,
                };
                let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
                if let Ok(style) = ProgressStyle::with_template(
                    "simulating [{bar:30}] {percent}% {msg} ({elapsed}, eta {eta}; Ctrl-C stops)",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar
            });
            bar.set_position(match self.total {
                Total::Requests(_) => p.resolved,
                Total::Seconds(_) => p.simulated_s.max(0.0) as u64,
            });
            bar.set_message(describe(p));
        } else if self.forced
            && !self.terminal
            && self.last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY)
        {
            self.last_line = Some(Instant::now());
            eprintln!(
                "progress: {} after {:.1} s",
                describe(p),
                elapsed.as_secs_f64()
            );
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn describe(p: Progress) -> String {
    format!(
        "{} requests resolved, {} in flight, {:.1} h simulated",
        p.resolved,
        p.in_flight,
        p.simulated_s / 3_600.0
    )
}
