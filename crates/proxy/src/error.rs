use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong training or using a proxy, grouped by kind.
#[derive(Debug, Error)]
pub enum Error {
    // --- checkpoints ---------------------------------------------------------------------
    #[error("{}: field `{field}`: {message}", path.display())]
    Checkpoint {
        path: PathBuf,
        field: String,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("checkpoint {} is for {found}, not {expected}", path.display())]
    Incompatible {
        path: PathBuf,
        expected: String,
        found: String,
    },

    // --- inputs --------------------------------------------------------------------------
    #[error("invalid input: {0}")]
    Input(String),
    #[error("--device {0}: {1}")]
    Device(String, String),

    // --- training ------------------------------------------------------------------------
    #[error("training diverged at epoch {epoch}: the loss is {loss}")]
    Diverged { epoch: usize, loss: f64 },
    #[error(transparent)]
    Dataset(#[from] proxyland_dataset::Error),
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

/// The crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
