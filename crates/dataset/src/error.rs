use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong reading configs and dataset files, grouped by kind. Every variant
/// names the file; format errors also name the field.
#[derive(Debug, Error)]
pub enum Error {
    // --- configs ---------------------------------------------------------------------------
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },

    // --- dataset files ---------------------------------------------------------------------
    #[error("{}: field `{field}`: {message}", path.display())]
    Format {
        path: PathBuf,
        field: String,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("{}: generation stopped after {done} of {total} samples; rerun with --resume to finish", path.display())]
    Interrupted {
        path: PathBuf,
        done: usize,
        total: usize,
    },

    // --- the simulation --------------------------------------------------------------------
    #[error(transparent)]
    Physics(#[from] proxyland_physics::Error),
}

/// The crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
