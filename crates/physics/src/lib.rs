//! Differentiable simulators for proxyland's inverse problems.
//!
//! Every experiment of the spec (docs/spec.md) is a [`Simulator`]: it maps control parameters
//! X to a trajectory Y = P(Y0, X) (frames × state components), and returns the configuration loss
//! L(Y*, X) = mean (P(Y0, X) − Y*)² together with its **exact** gradient for the discrete solver
//! (forward-mode tangents; never finite differences).
//!
//! - [`spectral`]: a reusable ETDRK4 integrator (Kassam & Trefethen 2005) for 1D periodic
//!   semilinear PDEs, and the real-FFT grid it runs on.
//! - [`Burgers`] (E1), [`KuramotoSivashinsky`] (E2), [`GramacyLee`] (E0), and the event-driven
//!   [`Billiards`] (E3, E4).
//! - [`ParamSpace`]: the parameter box, with periodic and reflecting coordinates.
//!
//! This crate is pure Rust: no files, no torch, no command line.
//!
//! ```
//! use proxyland_physics::{experiment, Simulator};
//! let sim = experiment("burgers")?;
//! let target = sim.simulate(&[1.0, 5.0])?;
//! let (loss, grad) = sim.loss_and_grad(&[1.0, 5.0], &target)?;
//! assert_eq!(loss, 0.0);
//! assert!(grad.iter().all(|g| g.abs() < 1e-12));
//! # Ok::<(), proxyland_physics::Error>(())
//! ```

#![warn(missing_docs)]

mod billiards;
mod burgers;
pub mod dual;
mod error;
mod gramacy_lee;
mod ks;
mod params;
mod pde;
pub mod registry;
pub mod rng;
mod simulator;
pub mod spectral;

pub use billiards::{Billiards, BilliardsConfig, BilliardsVariant};
pub use burgers::{Burgers, BurgersConfig};
pub use error::{Error, Result};
pub use gramacy_lee::GramacyLee;
pub use ks::{KsConfig, KuramotoSivashinsky, mode_order};
pub use params::{Boundary, ParamSpace};
pub use registry::{EXPERIMENTS, SCALING_EXPERIMENTS};
pub use simulator::{
    Simulator, Tangents, Trajectory, configuration_loss, experiment, sample_target, simulate_batch,
};
