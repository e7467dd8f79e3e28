//! Local methods from one start: BFGS, L-BFGS and steepest descent with argmin's More–Thuente
//! line search, and Adam.
//!
//! The quasi-Newton loop is ours, the line search is argmin's. argmin's own `BFGS` starts from
//! H0 = I, so its first trial point is u0 − ∇L: with ‖∇_u L‖ of 2–20 that is a jump across the
//! whole box, which makes a local method a random restart. Spec v2 fixes one rule for every BFGS
//! in proxyland (baseline, proxy stage, refinement, multi-start, polish):
//!
//! - the first trial point moves at most [`LocalSettings::first_step`] (0.1 in u, a tenth of the
//!   box) along −∇: H0 = min(1, 0.1/‖∇‖) I. A steep gradient is capped at a step of 0.1; a
//!   gentle one keeps its natural step ‖∇‖, so a start near a stationary point (a refinement
//!   started at a minimum, a network's prediction) looks around it instead of jumping a tenth
//!   of the box into a neighbouring well;
//! - after the first step, the usual scaling (Nocedal & Wright §6.1, eq. 6.20): H0 = sᵀy/yᵀy · I
//!   before the first update; L-BFGS uses the same γ = sᵀy/yᵀy from its newest pair.
//!
//! Steepest descent takes the same bounded first step and then scales its initial step by the
//! previous one (N&W eq. 3.60). Adam moves at most its step size per coordinate anyway.

use crate::error::Error;
use crate::objective::Objective;
use argmin::core::{CostFunction, Executor, Gradient, LineSearch};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use ndarray::Array1;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::VecDeque;

/// Stopping rules of a local run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalSettings {
    /// Iteration cap (one line search per iteration).
    pub max_iters: u64,
    /// Stop once ‖∇‖ falls below this.
    pub grad_tolerance: f64,
    /// The longest first trial step, in u (spec v2: 0.1).
    pub first_step: f64,
    /// How a method refines a point on the true loss (spec v3; the paper's protocol: BFGS).
    pub refine: Refine,
    /// The observation's noise σ, when known: LM stops once the residual is down to it.
    pub noise_std: Option<f64>,
    /// Multi-start refinements (pool-bfgs, proxy-multistart) stop at the first start that
    /// fits: to the noise σ when known, else exactly (residual below 10⁻⁶ of the data's
    /// spread). Off by default: `solve` refines every start, so the verdict sees every minimum.
    pub stop_at_fit: bool,
    /// Horizon continuation (spec v3): every refinement fits the first quarter of the
    /// observed frames, then half, then all, each stage from where the last ended. For
    /// chaotic and long trajectories, whose full-horizon loss is rough far from the truth.
    pub continuation: bool,
}

impl Default for LocalSettings {
    /// The spec's protocol: at most 100 iterations, gradient tolerance 1e-8, first step ≤ 0.1,
    /// BFGS refinement.
    fn default() -> Self {
        LocalSettings {
            max_iters: 100,
            grad_tolerance: 1e-8,
            first_step: 0.1,
            refine: Refine::Bfgs,
            noise_std: None,
            stop_at_fit: false,
            continuation: false,
        }
    }
}

/// The local solver that refines a point on the true loss (spec v3 `refine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Refine {
    /// BFGS on the loss (the paper's protocol).
    #[default]
    Bfgs,
    /// Levenberg–Marquardt on the residual with the exact Jacobian.
    Lm,
    /// BFGS, then an LM polish from where it stopped.
    BfgsLm,
}

impl Refine {
    /// Parses `bfgs`, `lm` or `bfgs+lm`.
    ///
    /// ```
    /// use proxyland_optim::Refine;
    /// assert_eq!(Refine::parse("lm")?, Refine::Lm);
    /// assert!(Refine::parse("newton").is_err());
    /// # Ok::<(), proxyland_optim::Error>(())
    /// ```
    pub fn parse(name: &str) -> crate::error::Result<Refine> {
        match name {
            "bfgs" => Ok(Refine::Bfgs),
            "lm" => Ok(Refine::Lm),
            "bfgs+lm" => Ok(Refine::BfgsLm),
            other => Err(Error::invalid(
                "refine",
                format!("`{other}`: choose bfgs, lm or bfgs+lm"),
            )),
        }
    }

    /// The name `parse` reads.
    pub fn name(self) -> &'static str {
        match self {
            Refine::Bfgs => "bfgs",
            Refine::Lm => "lm",
            Refine::BfgsLm => "bfgs+lm",
        }
    }
}

/// Why a method ended before its own convergence test said so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StopReason {
    /// The simulator-call budget was spent (the normal end of a budgeted baseline).
    Budget {
        /// The budget, in simulator calls.
        calls: usize,
    },
    /// The field-solve budget was spent (a call with gradient costs 1 + d solves).
    SolveBudget {
        /// The budget, in field solves.
        field_solves: usize,
    },
    /// The objective failed: a simulation blew up, a surrogate could not predict.
    ObjectiveFailed {
        /// What failed, as the objective said it.
        message: String,
    },
    /// The objective returned a non-finite value.
    NonFinite,
    /// The line search found no acceptable step (often: converged to rounding level).
    LineSearch {
        /// What the line search reported.
        message: String,
    },
}

impl StopReason {
    /// Whether the answer rests on a failed evaluation (a user must not trust it as a solve).
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            StopReason::ObjectiveFailed { .. } | StopReason::NonFinite
        )
    }

    /// Whether a budget, of calls or of field solves, ended the run.
    pub fn is_budget(&self) -> bool {
        matches!(
            self,
            StopReason::Budget { .. } | StopReason::SolveBudget { .. }
        )
    }

    /// The stop reason an objective error implies.
    ///
    /// ```
    /// use proxyland_optim::{Error, StopReason};
    /// let spent = Error::BudgetExhausted { budget: 170, in_field_solves: true };
    /// let reason = StopReason::from_error(&spent);
    /// assert_eq!(reason, StopReason::SolveBudget { field_solves: 170 });
    /// assert_eq!(reason.to_string(), "budget of 170 field solves spent");
    /// ```
    pub fn from_error(e: &Error) -> StopReason {
        match e {
            Error::BudgetExhausted {
                budget,
                in_field_solves: false,
            } => StopReason::Budget { calls: *budget },
            Error::BudgetExhausted {
                budget,
                in_field_solves: true,
            } => StopReason::SolveBudget {
                field_solves: *budget,
            },
            Error::NonFinite { .. } => StopReason::NonFinite,
            other => StopReason::ObjectiveFailed {
                message: other.to_string(),
            },
        }
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Budget { calls } => write!(f, "simulator budget of {calls} calls spent"),
            StopReason::SolveBudget { field_solves } => {
                write!(f, "budget of {field_solves} field solves spent")
            }
            StopReason::ObjectiveFailed { message } => write!(f, "objective failed: {message}"),
            StopReason::NonFinite => write!(f, "non-finite objective value"),
            StopReason::LineSearch { message } => write!(f, "line search stopped: {message}"),
        }
    }
}

/// Where a local run ended.
#[derive(Debug, Clone)]
pub struct LocalResult {
    /// The lowest point evaluated (in u; not folded).
    pub u: Vec<f64>,
    /// Its value (∞ when nothing could be evaluated).
    pub value: f64,
    /// Iterations (line searches) completed.
    pub iterations: u64,
    /// Whether the gradient tolerance was reached.
    pub converged: bool,
    /// Why it stopped early, if it did.
    pub stopped: Option<StopReason>,
}

/// The local solvers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalMethod {
    /// BFGS with a dense inverse Hessian.
    Bfgs,
    /// L-BFGS with 7 pairs.
    Lbfgs,
    /// Steepest descent with More–Thuente line searches.
    SteepestDescent,
    /// Adam with step 0.01 in u.
    Adam,
}

/// One evaluation: (u, value, gradient).
type Evaluation = (Vec<f64>, f64, Vec<f64>);

/// What every evaluation of one local run updates: the last point (argmin asks for the cost and
/// the gradient separately at the same point, and one objective call answers both), the lowest
/// point, and the reason the objective failed, if it did.
struct RunState<'a> {
    objective: &'a dyn Objective,
    last: RefCell<Option<Evaluation>>,
    best: RefCell<Option<(f64, Vec<f64>)>>,
    /// The lowest point of the current line search (used when it ends without an answer).
    search_best: RefCell<Option<Evaluation>>,
    failure: RefCell<Option<StopReason>>,
}

impl RunState<'_> {
    fn eval(&self, u: &[f64]) -> Result<(f64, Vec<f64>), StopReason> {
        if let Some((lu, v, g)) = self.last.borrow().as_ref() {
            if lu == u {
                return Ok((*v, g.clone()));
            }
        }
        match self.objective.value_and_grad(u) {
            Ok((v, g)) if v.is_finite() && g.iter().all(|x| x.is_finite()) => {
                let mut best = self.best.borrow_mut();
                if best.as_ref().is_none_or(|(b, _)| v < *b) {
                    *best = Some((v, u.to_vec()));
                }
                let mut sb = self.search_best.borrow_mut();
                if sb.as_ref().is_none_or(|(_, b, _)| v < *b) {
                    *sb = Some((u.to_vec(), v, g.clone()));
                }
                *self.last.borrow_mut() = Some((u.to_vec(), v, g.clone()));
                Ok((v, g))
            }
            Ok(_) => {
                let reason = StopReason::NonFinite;
                *self.failure.borrow_mut() = Some(reason.clone());
                Err(reason)
            }
            Err(e) => {
                let reason = StopReason::from_error(&e);
                *self.failure.borrow_mut() = Some(reason.clone());
                Err(reason)
            }
        }
    }
}

/// argmin's view of a [`RunState`] for one line search.
struct LineProblem<'s, 'a>(&'s RunState<'a>);

impl CostFunction for LineProblem<'_, '_> {
    type Param = Array1<f64>;
    type Output = f64;
    fn cost(&self, p: &Array1<f64>) -> Result<f64, argmin::core::Error> {
        let u = p.to_vec();
        self.0
            .eval(&u)
            .map(|(v, _)| v)
            .map_err(|r| argmin::core::Error::msg(r.to_string()))
    }
}

impl Gradient for LineProblem<'_, '_> {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;
    fn gradient(&self, p: &Array1<f64>) -> Result<Array1<f64>, argmin::core::Error> {
        let u = p.to_vec();
        self.0
            .eval(&u)
            .map(|(_, g)| Array1::from(g))
            .map_err(|r| argmin::core::Error::msg(r.to_string()))
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// How search directions are made from the gradient and the steps taken so far.
enum Curvature {
    /// BFGS: the dense inverse Hessian (None until the first usable pair).
    Dense(Option<Vec<Vec<f64>>>),
    /// L-BFGS: the newest pairs (s, y, 1/sᵀy).
    Limited(VecDeque<(Vec<f64>, Vec<f64>, f64)>, usize),
    /// Steepest descent: the previous step length and gradient norm (N&W eq. 3.60).
    Steepest(Option<(f64, f64)>),
}

impl Curvature {
    fn new(method: LocalMethod) -> Self {
        match method {
            LocalMethod::Bfgs => Curvature::Dense(None),
            LocalMethod::Lbfgs => Curvature::Limited(VecDeque::new(), 7),
            _ => Curvature::Steepest(None),
        }
    }

    fn reset(&mut self) {
        match self {
            Curvature::Dense(h) => *h = None,
            Curvature::Limited(pairs, _) => pairs.clear(),
            Curvature::Steepest(prev) => *prev = None,
        }
    }

    /// The search direction p (the line search tries u + p first). Without curvature
    /// information it is the spec's bounded first step: −min(1, first_step/‖g‖) g.
    fn direction(&self, g: &[f64], first_step: f64) -> Vec<f64> {
        let gn = norm(g);
        let scale = (first_step / gn).min(1.0);
        let bounded = || g.iter().map(|v| -scale * v).collect();
        match self {
            Curvature::Dense(None) | Curvature::Steepest(None) => bounded(),
            Curvature::Limited(pairs, _) if pairs.is_empty() => bounded(),
            Curvature::Dense(Some(h)) => h.iter().map(|row| -dot(row, g)).collect(),
            Curvature::Limited(pairs, _) => {
                // Two-loop recursion (N&W Algorithm 7.4) with γ = sᵀy/yᵀy of the newest pair.
                let mut q = g.to_vec();
                let mut alphas = Vec::with_capacity(pairs.len());
                for (s, y, rho) in pairs.iter().rev() {
                    let a = rho * dot(s, &q);
                    q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
                    alphas.push(a);
                }
                let (s, y, _) = pairs.back().expect("non-empty");
                let gamma = dot(s, y) / dot(y, y);
                let mut r: Vec<f64> = q.iter().map(|v| gamma * v).collect();
                for ((s, y, rho), a) in pairs.iter().zip(alphas.iter().rev()) {
                    let b = rho * dot(y, &r);
                    r.iter_mut().zip(s).for_each(|(ri, si)| *ri += (a - b) * si);
                }
                r.iter().map(|v| -v).collect()
            }
            Curvature::Steepest(Some((step, prev_gn))) => {
                // α0 = α_{k−1} ‖g_{k−1}‖² / ‖g_k‖², with α measured along −g.
                let alpha = step / prev_gn * prev_gn * prev_gn / (gn * gn);
                g.iter().map(|v| -alpha * v).collect()
            }
        }
    }

    /// Learns from the step s = u_{k+1} − u_k and y = g_{k+1} − g_k. Pairs without positive
    /// curvature are skipped (they would make the inverse Hessian indefinite).
    fn update(&mut self, s: &[f64], y: &[f64], prev_gn: f64) {
        let sy = dot(s, y);
        let usable = sy > 1e-12 * norm(s) * norm(y) && sy > 0.0;
        match self {
            Curvature::Steepest(prev) => *prev = Some((norm(s), prev_gn)),
            Curvature::Limited(pairs, m) => {
                if usable {
                    if pairs.len() == *m {
                        pairs.pop_front();
                    }
                    pairs.push_back((s.to_vec(), y.to_vec(), 1.0 / sy));
                }
            }
            Curvature::Dense(h) => {
                if !usable {
                    return;
                }
                let d = s.len();
                // N&W eq. 6.20: scale H0 by sᵀy/yᵀy before the first update.
                let h = h.get_or_insert_with(|| {
                    let scale = sy / dot(y, y);
                    (0..d)
                        .map(|i| (0..d).map(|j| if i == j { scale } else { 0.0 }).collect())
                        .collect()
                });
                // H+ = H + (sᵀy + yᵀHy)/(sᵀy)² ssᵀ − (Hy sᵀ + s (Hy)ᵀ)/sᵀy
                let hy: Vec<f64> = h.iter().map(|row| dot(row, y)).collect();
                let yhy = dot(y, &hy);
                let c = (sy + yhy) / (sy * sy);
                for i in 0..d {
                    for j in 0..d {
                        h[i][j] += c * s[i] * s[j] - (hy[i] * s[j] + s[i] * hy[j]) / sy;
                    }
                }
            }
        }
    }
}

/// Runs `method` on `objective` from `u0`.
///
/// ```
/// use proxyland_optim::{FnObjective, LocalMethod, LocalSettings, minimize};
/// // A bowl centred at (0.3, 0.6): BFGS converges there.
/// let f = FnObjective::new(2, |u: &[f64]| {
///     let (a, b) = (u[0] - 0.3, u[1] - 0.6);
///     (a * a + 10.0 * b * b, vec![2.0 * a, 20.0 * b])
/// });
/// let r = minimize(LocalMethod::Bfgs, &f, &[0.9, 0.1], LocalSettings::default());
/// assert!(r.converged && (r.u[0] - 0.3).abs() < 1e-8 && (r.u[1] - 0.6).abs() < 1e-8);
/// ```
pub fn minimize(
    method: LocalMethod,
    objective: &dyn Objective,
    u0: &[f64],
    settings: LocalSettings,
) -> LocalResult {
    if method == LocalMethod::Adam {
        return adam(objective, u0, settings, 0.01);
    }
    let run = RunState {
        objective,
        last: RefCell::new(None),
        best: RefCell::new(None),
        search_best: RefCell::new(None),
        failure: RefCell::new(None),
    };
    let finish = |iterations: u64, converged: bool, stopped: Option<StopReason>| {
        let (value, u) = run
            .best
            .borrow()
            .clone()
            .unwrap_or((f64::INFINITY, u0.to_vec()));
        LocalResult {
            u,
            value,
            iterations,
            converged,
            stopped,
        }
    };
    let (mut f, mut g) = match run.eval(u0) {
        Ok(v) => v,
        Err(reason) => return finish(0, false, Some(reason)),
    };
    let mut u = u0.to_vec();
    let mut curvature = Curvature::new(method);
    let mut iterations = 0;
    while iterations < settings.max_iters {
        let gn = norm(&g);
        if gn <= settings.grad_tolerance {
            return finish(iterations, true, None);
        }
        let mut p = curvature.direction(&g, settings.first_step);
        if dot(&p, &g) >= 0.0 {
            // Not a descent direction (curvature went stale): start over from the bounded step.
            curvature.reset();
            p = curvature.direction(&g, settings.first_step);
        }
        let (u1, f1, g1) = match line_step(&run, p, &u, f, &g) {
            Ok(step) => step,
            Err(reason) => return finish(iterations, false, Some(reason)),
        };
        iterations += 1;
        let s: Vec<f64> = u1.iter().zip(&u).map(|(a, b)| a - b).collect();
        if s.iter().all(|v| *v == 0.0) {
            return finish(
                iterations,
                false,
                Some(StopReason::LineSearch {
                    message: "the step vanished (converged to rounding level)".into(),
                }),
            );
        }
        let y: Vec<f64> = g1.iter().zip(&g).map(|(a, b)| a - b).collect();
        curvature.update(&s, &y, gn);
        tracing::trace!(iteration = iterations, value = f1, "local step");
        (u, f, g) = (u1, f1, g1);
    }
    let converged = norm(&g) <= settings.grad_tolerance;
    finish(iterations, converged, None)
}

/// One More–Thuente line search along `p` from `u` (value `f`, gradient `g`): the point it
/// accepts (never one above f(u)), else its lowest trial point if that went down; the error
/// is why the run ends here (a failed evaluation, the search's own failure, no decrease).
fn line_step(
    run: &RunState,
    p: Vec<f64>,
    u: &[f64],
    f: f64,
    g: &[f64],
) -> Result<Evaluation, StopReason> {
    *run.search_best.borrow_mut() = None;
    let mut search = MoreThuenteLineSearch::new();
    search.search_direction(Array1::from(p));
    let searched = search.initial_step_length(1.0).and_then(|()| {
        Executor::new(LineProblem(run), search)
            .configure(|s| {
                s.param(Array1::from(u.to_vec()))
                    .gradient(Array1::from(g.to_vec()))
                    .cost(f)
                    .max_iters(30)
            })
            .ctrlc(false)
            .run()
    });
    if let Some(reason) = run.failure.borrow().clone() {
        return Err(reason);
    }
    let accepted = match searched {
        Ok(mut r) => r.state.take_param().map(|p| p.to_vec()),
        Err(e) => {
            return Err(StopReason::LineSearch {
                message: e.to_string(),
            });
        }
    };
    // A line search that ran out of trials leaves no answer: take its lowest trial point
    // if it went downhill at all.
    // An unusual termination (interval too small, step at a bound) can return a point above
    // f(u): never step uphill; take the search's lowest point if it went down at all.
    let accepted = match accepted {
        Some(u1) => match run.eval(&u1) {
            Ok((f1, g1)) if f1 <= f => Some((u1, f1, g1)),
            Ok(_) => None,
            Err(reason) => return Err(reason),
        },
        None => None,
    };
    match accepted {
        Some(step) => Ok(step),
        None => match run.search_best.borrow().clone() {
            Some((u1, f1, g1)) if f1 < f => Ok((u1, f1, g1)),
            _ => Err(StopReason::LineSearch {
                message: "no decrease within 30 trial steps".into(),
            }),
        },
    }
}

/// Adam (Kingma & Ba) with a fixed step size in u units; stops on the gradient tolerance.
fn adam(objective: &dyn Objective, u0: &[f64], settings: LocalSettings, step: f64) -> LocalResult {
    let (b1, b2, eps) = (0.9, 0.999, 1e-12);
    let d = u0.len();
    let mut u = u0.to_vec();
    let (mut m, mut v) = (vec![0.0; d], vec![0.0; d]);
    let mut best = (f64::INFINITY, u.clone());
    let end = |best: (f64, Vec<f64>), iterations, converged, stopped| LocalResult {
        u: best.1,
        value: best.0,
        iterations,
        converged,
        stopped,
    };
    for it in 1..=settings.max_iters {
        let (value, g) = match objective.value_and_grad(&u) {
            Ok(r) => r,
            Err(e) => return end(best, it - 1, false, Some(StopReason::from_error(&e))),
        };
        if !value.is_finite() {
            return end(best, it - 1, false, Some(StopReason::NonFinite));
        }
        if value < best.0 {
            best = (value, u.clone());
        }
        if norm(&g) < settings.grad_tolerance {
            return end(best, it, true, None);
        }
        for j in 0..d {
            m[j] = b1 * m[j] + (1.0 - b1) * g[j];
            v[j] = b2 * v[j] + (1.0 - b2) * g[j] * g[j];
            let mh = m[j] / (1.0 - b1.powi(it as i32));
            let vh = v[j] / (1.0 - b2.powi(it as i32));
            u[j] -= step * mh / (vh.sqrt() + eps);
        }
    }
    end(best, settings.max_iters, false, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::FnObjective;
    use std::cell::RefCell;

    /// A quadratic with a steep gradient, recording every point evaluated.
    fn steep_bowl(points: &RefCell<Vec<Vec<f64>>>) -> impl Fn(&[f64]) -> (f64, Vec<f64>) + '_ {
        move |u: &[f64]| {
            points.borrow_mut().push(u.to_vec());
            let (a, b) = (u[0] - 0.5, u[1] - 0.5);
            (50.0 * (a * a + 4.0 * b * b), vec![100.0 * a, 400.0 * b])
        }
    }

    #[test]
    fn the_first_trial_point_moves_one_tenth_of_the_box_along_the_negative_gradient() {
        for method in [
            LocalMethod::Bfgs,
            LocalMethod::Lbfgs,
            LocalMethod::SteepestDescent,
        ] {
            let points = RefCell::new(Vec::new());
            let f = FnObjective::new(2, steep_bowl(&points));
            let u0 = [0.9, 0.8];
            let r = minimize(method, &f, &u0, LocalSettings::default());
            let pts = points.borrow();
            let g0 = [100.0 * 0.4, 400.0 * 0.3];
            let gn = norm(&g0);
            let first = &pts[1];
            // |∇| = 130: an unbounded first step would have landed at u0 − ∇, far outside.
            for j in 0..2 {
                let expected = u0[j] - 0.1 * g0[j] / gn;
                assert!(
                    (first[j] - expected).abs() < 1e-12,
                    "{method:?}: first trial {first:?}"
                );
            }
            assert!(r.converged, "{method:?} did not converge: {r:?}");
            assert!((r.u[0] - 0.5).abs() < 1e-6 && (r.u[1] - 0.5).abs() < 1e-6);
        }
    }

    #[test]
    fn a_gentle_gradient_keeps_its_natural_first_step() {
        // f = 0.01·((u0 − 0.5)² + (u1 − 0.5)²): at u0 = (0.6, 0.45), ‖∇‖ = 0.002236, far below
        // 0.1. The first trial point is u0 − ∇ (H0 = I), not a jump of 0.1 along −∇/‖∇‖.
        for method in [
            LocalMethod::Bfgs,
            LocalMethod::Lbfgs,
            LocalMethod::SteepestDescent,
        ] {
            let points = RefCell::new(Vec::new());
            let f = FnObjective::new(2, |u: &[f64]| {
                points.borrow_mut().push(u.to_vec());
                let (a, b) = (u[0] - 0.5, u[1] - 0.5);
                (0.01 * (a * a + b * b), vec![0.02 * a, 0.02 * b])
            });
            let u0 = [0.6, 0.45];
            let r = minimize(method, &f, &u0, LocalSettings::default());
            let first = points.borrow()[1].clone();
            let expected = [0.6 - 0.02 * 0.1, 0.45 + 0.02 * 0.05];
            for j in 0..2 {
                assert!(
                    (first[j] - expected[j]).abs() < 1e-15,
                    "{method:?}: first trial {first:?}, expected {expected:?}"
                );
            }
            assert!(r.converged, "{method:?} did not converge: {r:?}");
        }
    }

    #[test]
    fn bfgs_started_inside_a_basin_stays_in_it() {
        // f = sin(2π·5u) wells of width 0.2 plus a gentle tilt; the global minimum is in
        // another well. Started at the bottom-right slope of the well around u ≈ 0.35 with a
        // gradient of norm ~30, BFGS must end in that well, not jump to another.
        let f = FnObjective::new(1, |u: &[f64]| {
            let w = std::f64::consts::TAU * 5.0;
            let x = u[0];
            ((w * x).sin() + 0.5 * x, vec![w * (w * x).cos() + 0.5])
        });
        let r = minimize(LocalMethod::Bfgs, &f, &[0.40], LocalSettings::default());
        // The wells' minima: sin(10πu) = −1 at u = 0.15, 0.35, 0.55, ...; the tilt shifts them
        // by less than 0.01.
        assert!(
            (r.u[0] - 0.35).abs() < 0.02,
            "left the basin: ended at {}",
            r.u[0]
        );
    }

    #[test]
    fn bfgs_matches_newton_on_rosenbrock() {
        let f = FnObjective::new(2, |u: &[f64]| {
            let (a, b) = (u[0], u[1]);
            (
                (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2),
                vec![
                    -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
                    200.0 * (b - a * a),
                ],
            )
        });
        let settings = LocalSettings {
            max_iters: 200,
            ..LocalSettings::default()
        };
        for method in [LocalMethod::Bfgs, LocalMethod::Lbfgs] {
            let r = minimize(method, &f, &[-1.2, 1.0], settings);
            assert!(
                (r.u[0] - 1.0).abs() < 1e-6 && (r.u[1] - 1.0).abs() < 1e-6,
                "{method:?}: {r:?}"
            );
        }
    }

    #[test]
    fn a_failing_objective_stops_the_run_with_its_reason_and_the_best_point() {
        let f = FnObjective::new(1, |u: &[f64]| {
            if u[0] < 0.45 {
                (f64::NAN, vec![0.0])
            } else {
                ((u[0] - 0.2).powi(2), vec![2.0 * (u[0] - 0.2)])
            }
        });
        let r = minimize(LocalMethod::Bfgs, &f, &[0.5], LocalSettings::default());
        assert_eq!(r.stopped, Some(StopReason::NonFinite));
        assert!(r.stopped.as_ref().unwrap().is_failure());
        assert!(r.value.is_finite() && r.u[0] >= 0.45, "{r:?}");
    }
}
