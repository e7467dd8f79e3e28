//! Ctrl-C during a batch: the first SIGINT asks the work to stop and keep what it has; a second
//! one ends the process at once, as usual.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    // SAFETY: signal() is async-signal-safe; the next Ctrl-C gets the default disposition.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
}

/// From now on the first SIGINT sets [`interrupted`] instead of ending the process.
pub fn catch() {
    // SAFETY: installs a handler that only stores to an atomic and calls signal().
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

/// Whether a SIGINT arrived since [`catch`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The error of a run stopped by Ctrl-C after keeping what it had: the process exits 130, as
/// a shell reports a SIGINT, not 1 (an error) or 0.
#[derive(Debug)]
pub struct Interrupted {
    /// Pieces of work finished.
    pub done: usize,
    /// Pieces of work asked for.
    pub of: usize,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interrupted: {} of {} observations solved; their answers are written above",
            self.done, self.of
        )
    }
}

impl std::error::Error for Interrupted {}
