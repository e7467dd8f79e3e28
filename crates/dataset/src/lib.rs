//! Experiment configs, seeded parallel generation of simulation pools, proxyland's HDF5 on-disk
//! format, and training-pair sampling.
//!
//! This crate owns the on-disk format: no other proxyland crate opens an HDF5 file.

mod config;
mod error;

pub use config::{
    EvaluationSettings, ExperimentConfig, PhysicsConfig, ProfileSettings, ProxySettings,
    SPEC_VERSION,
};
pub use error::{Error, Result};
