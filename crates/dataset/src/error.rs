use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong reading configs and dataset files, grouped by kind. Every variant
/// names the file; format errors also name the field.
#[derive(Debug, Error)]
pub enum Error {
    // --- configs ---------------------------------------------------------------------------
    /// A config (or a command-line setting standing in for one) is unreadable or breaks a rule.
    #[error("{}: {message}", path.display())]
    Config {
        /// The config file, or the option at fault (e.g. `--shard`).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    // --- dataset files ---------------------------------------------------------------------
    /// A dataset file opens but a field is missing, malformed or inconsistent with the rest.
    #[error("{}: field `{field}`: {message}", path.display())]
    Format {
        /// The file that failed.
        path: PathBuf,
        /// The field (dataset or attribute) at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A file cannot be read, written or created (missing, a folder, already exists, OS error).
    #[error("{}: {message}", path.display())]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Generation stopped early (the `stop_after` testing hook); the partial file can be resumed.
    #[error("{}: generation stopped after {done} of {total} samples; rerun with --resume to finish", path.display())]
    Interrupted {
        /// The partial file holding the samples done so far.
        path: PathBuf,
        /// Samples on disk when it stopped.
        done: usize,
        /// Samples the finished file will hold.
        total: usize,
    },

    // --- the simulation --------------------------------------------------------------------
    /// A simulation failed outside the pool (e.g. a held-out target could not be drawn).
    #[error(transparent)]
    Physics(#[from] proxyland_physics::Error),
}

/// The crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
