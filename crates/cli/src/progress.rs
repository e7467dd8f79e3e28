//! Progress for long work: a bar on a terminal (indicatif), and a log line at least every 10 s
//! when stderr is not one (a batch job's log), so a long run never looks hung.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a run without a terminal reports its progress.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// A progress bar of `len` steps labelled `what` (usable from many threads).
pub struct Progress {
    bar: ProgressBar,
    what: String,
    terminal: bool,
    started: Instant,
    last_log: Mutex<Instant>,
}

/// A progress bar of `len` steps labelled `what`.
pub fn bar(len: u64, what: &str) -> Progress {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({elapsed} < {eta})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    let now = Instant::now();
    Progress {
        bar,
        what: what.to_string(),
        terminal: std::io::stderr().is_terminal(),
        started: now,
        last_log: Mutex::new(now),
    }
}

impl Progress {
    /// Sets the number of steps.
    pub fn set_length(&self, len: u64) {
        self.bar.set_length(len);
    }

    /// Records that `pos` steps are done.
    pub fn set_position(&self, pos: u64) {
        self.bar.set_position(pos);
        if self.terminal {
            return;
        }
        let mut last = self.last_log.lock().unwrap_or_else(|p| p.into_inner());
        if last.elapsed() >= LOG_EVERY {
            *last = Instant::now();
            tracing::info!(
                "{}: {pos}/{} after {:.0} s",
                self.what,
                self.bar.length().unwrap_or(0),
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    /// Removes the bar.
    pub fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }
}
