//! Objectives, optimizers and the evaluation protocol of proxyland.
//!
//! Everything works in normalized coordinates u ∈ [0,1]^d ([`proxyland_physics::ParamSpace`]
//! maps u ↔ X and folds points outside the box). [`Objective`] is the one interface: the true
//! loss through the simulator ([`TrueLoss`], which counts simulator calls exactly and can enforce
//! a budget) and a trained proxy's predicted log-loss ([`ProxyLoss`]).
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

mod error;
mod evaluate;
mod global;
mod landscape;
mod library;
mod local;
mod methods;
mod objective;

pub use error::{Error, Result};
pub use evaluate::{
    EvaluateOptions, MethodSummary, ProxyCost, Results, Target, break_even_targets, evaluate,
    proxy_label, start_of,
};
pub use global::{GlobalResult, cma_es, differential_evolution, multistart_bfgs};
pub use landscape::{Landscape, proxy_landscape, true_landscape};
pub use library::SampleLibrary;
pub use local::{LocalMethod, LocalResult, LocalSettings, minimize};
pub use methods::{METHOD_NAMES, Method, Outcome, Problem, SUCCESS_TOLERANCE, is_success, run};
pub use objective::{FnObjective, Objective, ProxyLoss, Trace, TracePoint, TrueLoss};
