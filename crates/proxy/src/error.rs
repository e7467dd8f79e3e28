use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong training or using a proxy, grouped by kind.
#[derive(Debug, Error)]
pub enum Error {
    // --- checkpoints ---------------------------------------------------------------------
    /// A checkpoint's metadata or tensors are missing, malformed or inconsistent.
    #[error("{}: field `{field}`: {message}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// The metadata field or tensor at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A file cannot be read or written, or is in the way (already exists, is a folder).
    #[error("{}: {message}", path.display())]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A checkpoint is used for another experiment, dimension or trajectory shape.
    #[error("checkpoint {} is for {found}, not {expected}", path.display())]
    Incompatible {
        /// The checkpoint file.
        path: PathBuf,
        /// What the caller needs: experiment, d and trajectory shape.
        expected: String,
        /// What the checkpoint was trained for, in the same terms.
        found: String,
    },

    // --- inputs --------------------------------------------------------------------------
    /// An option, target or point handed in is out of range, misshapen or non-finite.
    #[error("invalid input: {0}")]
    Input(String),
    /// The requested device (name, reason) is unknown or cannot be used (e.g. no CUDA).
    #[error("device `{0}`: {1}")]
    Device(String, String),

    // --- training ------------------------------------------------------------------------
    /// The training or validation loss became NaN or infinite.
    #[error("training diverged at epoch {epoch}: the loss is {loss}")]
    Diverged {
        /// The epoch it happened in (0-based).
        epoch: usize,
        /// That epoch's mean training loss.
        loss: f64,
    },
    /// Training stopped early (the `stop_after` testing hook), leaving its resume state behind.
    #[error("training stopped after epoch {epoch}; its state is in {}", path.display())]
    Interrupted {
        /// The `.resume` file holding the state.
        path: PathBuf,
        /// Epochs completed so far.
        epoch: usize,
    },
    /// Reading the config or the pool failed.
    #[error(transparent)]
    Dataset(#[from] proxyland_dataset::Error),
    /// A libtorch operation failed (its message).
    #[error("libtorch: {0}")]
    Torch(String),
}

/// The crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<tch::TchError> for Error {
    fn from(e: tch::TchError) -> Self {
        Error::Torch(e.to_string())
    }
}
