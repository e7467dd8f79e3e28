//! Refinement on the true loss by the rule a method was given ([`Refine`]): every method that
//! ends with a local solve on the simulator (proxy-bfgs, proxy-multistart, pool-bfgs,
//! inverse-net, the DE/CMA-ES polish) goes through [`refine`], so the rule is one setting.
//! So does horizon continuation ([`LocalSettings::continuation`]): fit the first quarter of
//! the observed frames, then half, then all, each stage started where the last one ended.

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
    /// Under horizon continuation, the frames each stage compared (the last is all of
    /// them); empty for a one-shot fit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub horizons: Vec<usize>,
}

/// The horizons of continuation over `frames` observed frames: a quarter, a half, all
/// (rounded up, repeats dropped).
///
/// ```
/// assert_eq!(proxyland_optim::continuation_horizons(16), vec![4, 8, 16]);
/// assert_eq!(proxyland_optim::continuation_horizons(2), vec![1, 2]);
/// assert_eq!(proxyland_optim::continuation_horizons(1), vec![1]);
/// ```
pub fn continuation_horizons(frames: usize) -> Vec<usize> {
    let mut stages: Vec<usize> = [frames.div_ceil(4), frames.div_ceil(2), frames]
        .into_iter()
        .map(|k| k.max(1))
        .collect();
    stages.dedup();
    stages
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
    if !settings.continuation {
        return refine_once(truth, u0, settings);
    }
    let full = truth.horizon();
    let horizons = continuation_horizons(full);
    let mut from = u0.to_vec();
    let mut iterations = 0;
    for &frames in &horizons[..horizons.len() - 1] {
        truth.set_horizon(Some(frames));
        let (stage, report) = refine_once(truth, &from, settings);
        truth.set_horizon(Some(full));
        iterations += report.iterations;
        // A stage that failed (a blow-up, the budget) hands on the last point it trusted; the
        // full-horizon stage then says whether the answer stands.
        if stage.u.iter().all(|v| v.is_finite())
            && !stage.stopped.as_ref().is_some_and(|s| s.is_failure())
        {
            from = stage.u;
        }
    }
    let (mut last, mut report) = refine_once(truth, &from, settings);
    // A budget spent before the last stage could evaluate anything leaves a partial-horizon
    // point; the answer is then the best full-horizon point seen, if any.
    if !last.value.is_finite() {
        if let Some((value, u)) = truth.best() {
            last.value = value;
            last.u = u;
        }
    }
    report.iterations += iterations;
    last.iterations = report.iterations;
    report.horizons = horizons;
    (last, report)
}

/// One refinement by the rule on the loss as `truth` compares it now.
fn refine_once(truth: &TrueLoss, u0: &[f64], settings: LocalSettings) -> (LocalResult, Refinement) {
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
                horizons: Vec::new(),
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
                horizons: Vec::new(),
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
                    horizons: Vec::new(),
                };
                return (first, report);
            }
            let polish = lm(&first.u);
            let report = Refinement {
                method: Refine::BfgsLm,
                iterations: first.iterations + polish.iterations,
                converged: polish.stop.converged(),
                stop: lm_stop_words(&polish),
                horizons: Vec::new(),
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
