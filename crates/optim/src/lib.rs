//! Objectives, optimizers and the evaluation protocol of proxyland.
//!
//! Everything works in normalized coordinates u ∈ [0,1]^d ([`proxyland_physics::ParamSpace`]
//! maps u ↔ X and folds points outside the box). [`Objective`] is the one interface: the true
//! loss through the simulator ([`TrueLoss`], which counts simulator calls exactly and can enforce
//! a budget) and a learned surrogate's predicted log-loss ([`SurrogateLoss`]).
//!
//! This crate knows no network: a trained model enters through the [`Surrogate`] and
//! [`SurrogateModel`] traits (`proxyland-proxy` implements them for its ProxyNN), so it builds
//! without libtorch or HDF5 and its optimizers run on any [`proxyland_physics::Simulator`].
//!
//! ```
//! use proxyland_optim::{FnObjective, LocalMethod, LocalSettings, minimize};
//! // Rosenbrock in u: BFGS with More–Thuente finds (1, 1).
//! let f = FnObjective::new(2, |u: &[f64]| {
//!     let (a, b) = (u[0], u[1]);
//!     ((1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2),
//!      vec![-2.0 * (1.0 - a) - 400.0 * a * (b - a * a), 200.0 * (b - a * a)])
//! });
//! let r = minimize(LocalMethod::Bfgs, &f, &[-1.2, 1.0], LocalSettings::default());
//! assert!((r.u[0] - 1.0).abs() < 1e-6 && (r.u[1] - 1.0).abs() < 1e-6);
//! ```

#![warn(missing_docs)]

// Unit tests link the LAPACK backend that ndarray-linalg (CMA-ES's eigendecomposition) needs;
// a binary using this crate chooses its own.
#[cfg(test)]
use openblas_src as _;

pub mod ablation;
mod amortization;
mod claims;
mod comparison;
mod error;
mod evaluate;
mod global;
pub mod goals;
mod landscape;
mod library;
pub mod limits;
mod lm;
mod local;
mod methods;
mod nonfinite;
mod objective;
mod observation;
mod quality;
mod refine;
mod results;
mod selection;
pub mod stats;
mod uncertainty;
mod verdict;

pub use amortization::{CostLine, amortization_lines, cheaper_of, crossover, cumulative_calls};
pub use claims::{Claim, ClaimKind, ClaimTallies, experiment_claims, network_family};
pub use comparison::{FamilyComparison, Pairing, compare_family, compare_pairings};
pub use error::{Error, Result};
pub use evaluate::{EvaluateOptions, Target, evaluate, start_of};
pub use global::{
    DE_MIN_GENERATIONS, GlobalResult, cma_es, de_population, differential_evolution,
    multistart_bfgs, polish_reserve,
};
pub use landscape::{Landscape, surrogate_landscape, true_landscape};
pub use library::SampleLibrary;
pub use lm::{FnResiduals, LmResult, LmStop, Residuals, levenberg_marquardt};
pub use local::{LocalMethod, LocalResult, LocalSettings, Refine, StopReason, minimize};
pub use methods::{
    Answer, BUDGET_REFERENCES, Family, MAX_MINIMA, METHOD_NAMES, Method, Minimum, Problem,
    STARTS_REFINED, SUCCESS_TOLERANCE, SURROGATE_STARTS, SimBudget, is_success, run,
    surrogate_minima,
};
pub use objective::{
    FnObjective, Objective, Surrogate, SurrogateError, SurrogateInfo, SurrogateLoss,
    SurrogateModel, Trace, TracePoint, TrueLoss,
};
pub use observation::{Observation, Solved, solve_observation};
pub use quality::{ARGMIN_NEAR, ARGMIN_STARTS, ROUGHNESS_GRID, ROUGHNESS_GRID_1D};
pub use refine::{Refinement, continuation_horizons, refine};
pub use results::{
    Budget, BudgetUnit, Candidate, Environment, Headline, InverseGuesses, MethodId, MethodSummary,
    Outcome, Protocol, RESULTS_FORMAT_VERSION, Regularizers, Results, Selection, SurrogateConfig,
    SurrogateQuality, SurrogateReport, TargetSplit,
};
pub use selection::{SELECTION_RULE, select_configuration};
pub use uncertainty::{EXACT_FIT, Noise, NoiseSource, Uncertainty, gauss_newton};
pub use verdict::{
    AMBIGUITY_SE, Alternative, BOUNDARY_TOLERANCE, Judgement, MIN_P_VALUE, Trust, judge,
};
