//! The proxy network (ProxyNN) of proxyland, in tch/libtorch.
//!
//! A proxy f(Y*, u) learns the configuration-loss landscape L(Y*, X(u)) from pairs of a pool
//! (see `proxyland-dataset`), smoothed by the paper's two regularizers: noise injection on u and
//! a gradient penalty. [`train`] writes a safetensors checkpoint with all metadata needed to use
//! it alone; [`Proxy`] loads it and predicts losses and gradients for batches of u.
//!
//! This is the only proxyland crate that uses tch.
//!
//! ```no_run
//! use proxyland_dataset::{ExperimentConfig, Pool};
//! use proxyland_proxy::{TrainOptions, train, Proxy};
//! use std::path::Path;
//! let config = ExperimentConfig::load(Path::new("datasets/burgers.toml"))?;
//! let pool = Pool::open(Path::new("runs/burgers/data.h5"))?;
//! let opts = TrainOptions { noise: 0.05, ..TrainOptions::from_profile(&config, "quick", 0)? };
//! let out = Path::new("runs/burgers/proxy-s0.05.safetensors");
//! train(&pool, &config, &opts, out, &|epoch, _, r| println!("{epoch}: {}", r.validation_loss))?;
//! let proxy = Proxy::load(out)?;
//! # Ok::<(), proxyland_proxy::Error>(())
//! ```

#![warn(missing_docs)]

// Unit tests link the LAPACK backend that proxyland-optim's CMA-ES needs.
#[cfg(test)]
use openblas_src as _;

mod adam;
mod checkpoint;
pub mod device;
mod error;
mod head;
mod inverse;
mod model;
mod predict;
mod regularizers;
mod train;
mod training_core;

/// libtorch's random generator is process-wide. Whatever draws from it (building layers,
/// training) holds this lock, so that a training run is a function of its seed alone even when
/// other threads load proxies at the same time.
fn torch_rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TORCH_RNG.lock().unwrap_or_else(|p| p.into_inner())
}

pub use checkpoint::{
    CheckpointMeta, DatasetProvenance, EpochRecord, FORMAT_VERSION, Normalization, TrainingSummary,
};
pub use error::{Error, Result};
pub use inverse::{
    Adaptation, Adapted, INVERSE_FORMAT, INVERSE_FORMAT_VERSION, InverseArchitecture, InverseEpoch,
    InverseMeta, InverseModel, InverseOptions, InverseTraining, InverseVariant, PhysicsSchedule,
    PhysicsSelection, train_inverse,
};
pub use model::{Architecture, EncoderKind};
pub use predict::{BoundProxy, Proxy};
/// The regularizer settings live in optim's results schema (they name a surrogate there).
pub use proxyland_optim::Regularizers;
pub use train::{
    EpochCallback, ExportedBatch, StepBatch, StepTrainer, TrainOptions, TrainSpec, log_rmse,
    normalization, train, train_with,
};
