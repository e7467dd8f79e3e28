//! Refinement on the true loss by the rule a method was given ([`Refine`]): every method that
//! ends with a local solve on the simulator (proxy-bfgs, proxy-multistart, pool-bfgs,
//! inverse-net, the DE/CMA-ES polish) goes through [`refine`], so the rule is one setting.

use crate::lm::levenberg_marquardt;
use crate::local::{LocalMethod, LocalResult, LocalSettings, Refine, minimize};
use crate::objective::TrueLoss;
use serde::{Deserialize, Serialize};

/// How the refinement behind an answer ended: recorded in every result row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refinement {
    /// The rule.
    pub method: Refine,
    /// Iterations (BFGS line searches plus LM iterations).
    pub iterations: u64,
    /// Whether it ended by its convergence test rather than its cap or a failure.
    pub converged: bool,
    /// Why it stopped, in words (`gradient`, `noise-level`, `iterations`, ...).
    pub stop: String,
}

/// Refines `u0` on `truth` by `settings.refine`, and reports how.
///
/// ```
/// use proxyland_optim::{refine, LocalSettings, Refine, TrueLoss};
/// use proxyland_physics::{experiment, Simulator};
/// let sim = experiment("burgers")?;
/// let y = sim.simulate(&[2.0, 7.0])?;
/// let truth = TrueLoss::new(sim.as_ref(), &y);
/// let u_star = sim.param_space().to_unit(&[2.0, 7.0]);
/// let start: Vec<f64> = u_star.iter().map(|u| u + 0.01).collect();
/// let settings = LocalSettings { refine: Refine::Lm, ..LocalSettings::default() };
/// let (r, report) = refine(&truth, &start, settings);
/// assert!(report.converged && r.value < 1e-20);
/// assert_eq!(report.method, Refine::Lm);
/// # Ok::<(), proxyland_physics::Error>(())
/// ```
pub fn refine(truth: &TrueLoss, u0: &[f64], settings: LocalSettings) -> (LocalResult, Refinement) {
    let lm =
        |from: &[f64]| levenberg_marquardt(truth, from, settings.max_iters, settings.noise_std);
    let bfgs_stop = |r: &LocalResult| match (&r.stopped, r.converged) {
        (Some(s), _) => s.to_string(),
        (None, true) => "gradient".to_string(),
        (None, false) => "iterations".to_string(),
    };
    match settings.refine {
        Refine::Bfgs => {
            let r = minimize(LocalMethod::Bfgs, truth, u0, settings);
            let report = Refinement {
                method: Refine::Bfgs,
                iterations: r.iterations,
                converged: r.converged,
                stop: bfgs_stop(&r),
            };
            (r, report)
        }
        Refine::Lm => {
            let r = lm(u0);
            let report = Refinement {
                method: Refine::Lm,
                iterations: r.iterations,
                converged: r.stop.converged(),
                stop: lm_stop_words(&r),
            };
            (r.into_local(), report)
        }
        Refine::BfgsLm => {
            let first = minimize(LocalMethod::Bfgs, truth, u0, settings);
            if first.stopped.as_ref().is_some_and(|s| s.is_failure()) || !first.value.is_finite() {
                let report = Refinement {
                    method: Refine::BfgsLm,
                    iterations: first.iterations,
                    converged: false,
                    stop: bfgs_stop(&first),
                };
                return (first, report);
            }
            let polish = lm(&first.u);
            let report = Refinement {
                method: Refine::BfgsLm,
                iterations: first.iterations + polish.iterations,
                converged: polish.stop.converged(),
                stop: lm_stop_words(&polish),
            };
            let mut r = polish.into_local();
            r.iterations = report.iterations;
            (r, report)
        }
    }
}

fn lm_stop_words(r: &crate::lm::LmResult) -> String {
    match &r.stopped {
        Some(s) => s.to_string(),
        None => serde_json::to_value(r.stop)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
    }
}
