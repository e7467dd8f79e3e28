//! Experiment configs, seeded parallel generation of simulation pools, proxyland's HDF5 on-disk
//! format, and training-pair sampling.
//!
//! This crate owns the on-disk format: no other proxyland crate opens an HDF5 file.
//!
//! ```no_run
//! use proxyland_dataset::{ExperimentConfig, GenerateOptions, Pool, PairSampler, Split, generate};
//! use std::path::Path;
//! let config = ExperimentConfig::load(Path::new("datasets/burgers.toml"))?;
//! let quick = config.profile("quick")?;
//! let opts = GenerateOptions::new(quick.samples, quick.targets, config.seed);
//! generate(&config, Path::new("runs/burgers/data.h5"), &opts, &|_, _| {})?;
//! let pool = Pool::open(Path::new("runs/burgers/data.h5"))?;
//! let pairs = PairSampler::new(&pool, 0.1, 7)?;
//! let batch = pairs.batch(Split::Train, 0, 256);
//! assert_eq!(batch.loss.len(), 256);
//! # Ok::<(), proxyland_dataset::Error>(())
//! ```

#![warn(missing_docs)]

mod atomic;
mod config;
mod error;
mod format;
mod generate;
mod lock;
pub mod npy;
mod observations;
mod pairs;
mod plan;
pub mod sizes;
#[doc(hidden)]
pub mod testing;
mod trajectory_file;

pub use atomic::{describe_io, replace_via_temp, temp_sibling, write_atomically};
pub use config::{
    DEFAULT_VALIDATION_TARGETS, ENCODERS, EvaluationSettings, ExperimentConfig, MAX_GRID_POINTS,
    MAX_TRAJECTORY_VALUES, PhysicsConfig, ProfileSettings, ProxySettings, SPEC_VERSION,
};
pub use error::{Error, Result};
pub use format::{Pool, PoolHeader, SCHEMA_VERSION, Storage, status};
pub use generate::{
    FLUSH_SECONDS, GenerateOptions, GenerateReport, generate, generate_in_memory, merge,
    partial_path, sample_params, shard_range, target_seed, validation_seed,
};
pub use lock::{OutputLock, lock_path};
pub use observations::{Observations, read_observations};
pub use pairs::{PairBatch, PairSampler, Split};
pub use plan::{AblationPlan, RefinePlan, ReproducePlan};
pub use trajectory_file::TrajectoryFile;
