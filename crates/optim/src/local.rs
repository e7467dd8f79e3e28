//! Local methods from one start: BFGS, L-BFGS and steepest descent (argmin, More–Thuente line
//! search) and Adam.

use crate::objective::Objective;
use argmin::core::observers::{Observe, ObserverMode};
use argmin::core::{CostFunction, Executor, Gradient, KV, State};
use argmin::solver::gradientdescent::SteepestDescent;
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::{BFGS, LBFGS};
use ndarray::{Array1, Array2};
use std::cell::RefCell;

/// Stopping rules of a local run.
#[derive(Debug, Clone, Copy)]
pub struct LocalSettings {
    pub max_iters: u64,
    pub grad_tolerance: f64,
}

impl Default for LocalSettings {
    /// The spec's protocol: at most 100 iterations, gradient tolerance 1e-8.
    fn default() -> Self {
        LocalSettings {
            max_iters: 100,
            grad_tolerance: 1e-8,
        }
    }
}

/// Where a local run ended.
#[derive(Debug, Clone)]
pub struct LocalResult {
    pub u: Vec<f64>,
    pub value: f64,
    pub iterations: u64,
    /// Why it stopped early, if it did (a simulator error, a non-finite value, the budget).
    pub stopped: Option<String>,
}

/// Adapts an [`Objective`] to argmin. argmin asks for the cost and the gradient separately at
/// the same point; one evaluation serves both (a simulator call computes both at once).
/// The last evaluation: (u, value, gradient).
type Evaluation = (Vec<f64>, f64, Vec<f64>);

struct ArgminProblem<'a> {
    objective: &'a dyn Objective,
    cache: RefCell<Option<Evaluation>>,
    failure: &'a RefCell<Option<String>>,
    best: &'a RefCell<Option<(f64, Vec<f64>)>>,
}

impl ArgminProblem<'_> {
    fn eval(&self, p: &Array1<f64>) -> std::result::Result<(f64, Vec<f64>), argmin::core::Error> {
        let u = p.to_vec();
        if let Some((cu, v, g)) = self.cache.borrow().as_ref() {
            if *cu == u {
                return Ok((*v, g.clone()));
            }
        }
        match self.objective.value_and_grad(&u) {
            Ok((v, g)) => {
                let mut best = self.best.borrow_mut();
                if best.as_ref().is_none_or(|(b, _)| v < *b) {
                    *best = Some((v, u.clone()));
                }
                *self.cache.borrow_mut() = Some((u, v, g.clone()));
                Ok((v, g))
            }
            Err(e) => {
                // Stop the solver: its line search would otherwise reuse a stale gradient.
                *self.failure.borrow_mut() = Some(e.to_string());
                Err(argmin::core::Error::msg(e.to_string()))
            }
        }
    }
}

impl CostFunction for ArgminProblem<'_> {
    type Param = Array1<f64>;
    type Output = f64;
    fn cost(&self, p: &Array1<f64>) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.eval(p)?.0)
    }
}

impl Gradient for ArgminProblem<'_> {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;
    fn gradient(&self, p: &Array1<f64>) -> std::result::Result<Array1<f64>, argmin::core::Error> {
        Ok(Array1::from(self.eval(p)?.1))
    }
}

/// Logs every iteration at debug level (`RUST_LOG=proxyland_optim=debug`).
struct TracingObserver(&'static str);

impl<I: State> Observe<I> for TracingObserver
where
    I::Float: std::fmt::Display,
{
    fn observe_iter(
        &mut self,
        state: &I,
        _kv: &KV,
    ) -> std::result::Result<(), argmin::core::Error> {
        tracing::debug!(
            solver = self.0,
            iter = state.get_iter(),
            best_cost = %state.get_best_cost(),
            "iteration"
        );
        Ok(())
    }
}

/// (best point, best cost, iterations) of a finished argmin run.
fn summary<I: State<Param = Array1<f64>, Float = f64>>(
    state: &I,
    u0: &[f64],
) -> (Vec<f64>, f64, u64) {
    let best = state.get_best_param().map(|p| p.to_vec());
    (
        best.unwrap_or_else(|| u0.to_vec()),
        state.get_best_cost(),
        state.get_iter(),
    )
}

/// The local solvers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalMethod {
    Bfgs,
    Lbfgs,
    SteepestDescent,
    Adam,
}

/// Runs `method` on `objective` from `u0`.
pub fn minimize(
    method: LocalMethod,
    objective: &dyn Objective,
    u0: &[f64],
    settings: LocalSettings,
) -> LocalResult {
    if method == LocalMethod::Adam {
        return adam(objective, u0, settings, 0.01);
    }
    let failure = RefCell::new(None);
    let best = RefCell::new(None);
    let problem = || ArgminProblem {
        objective,
        cache: RefCell::new(None),
        failure: &failure,
        best: &best,
    };
    let d = u0.len();
    let start = Array1::from(u0.to_vec());
    let ls = MoreThuenteLineSearch::new();
    let outcome: std::result::Result<(Vec<f64>, f64, u64), argmin::core::Error> = (|| match method {
        LocalMethod::Bfgs => {
            let solver = BFGS::new(ls).with_tolerance_grad(settings.grad_tolerance)?;
            let r = Executor::new(problem(), solver)
                .configure(|s| {
                    s.param(start.clone())
                        .inv_hessian(Array2::eye(d))
                        .max_iters(settings.max_iters)
                })
                .add_observer(TracingObserver("bfgs"), ObserverMode::Always)
                .run()?;
            Ok(summary(r.state(), u0))
        }
        LocalMethod::Lbfgs => {
            let solver = LBFGS::new(ls, 7).with_tolerance_grad(settings.grad_tolerance)?;
            let r = Executor::new(problem(), solver)
                .configure(|s| s.param(start.clone()).max_iters(settings.max_iters))
                .add_observer(TracingObserver("lbfgs"), ObserverMode::Always)
                .run()?;
            Ok(summary(r.state(), u0))
        }
        LocalMethod::SteepestDescent => {
            let solver = SteepestDescent::new(ls);
            let r = Executor::new(problem(), solver)
                .configure(|s| s.param(start.clone()).max_iters(settings.max_iters))
                .add_observer(TracingObserver("gd"), ObserverMode::Always)
                .run()?;
            Ok(summary(r.state(), u0))
        }
        LocalMethod::Adam => unreachable!("handled above"),
    })();
    match outcome {
        Ok((u, value, iterations)) if value.is_finite() => LocalResult {
            u,
            value,
            iterations,
            stopped: None,
        },
        other => {
            // Stopped by a failing evaluation: report the best point actually evaluated.
            let reason = failure
                .borrow()
                .clone()
                .or_else(|| other.err().map(|e| e.to_string()))
                .unwrap_or_else(|| "non-finite cost".into());
            let (value, u) = best
                .borrow()
                .clone()
                .unwrap_or((f64::INFINITY, u0.to_vec()));
            LocalResult {
                u,
                value,
                iterations: 0,
                stopped: Some(reason),
            }
        }
    }
}

/// Adam (Kingma & Ba) with a fixed step size in u units; stops on the gradient tolerance.
fn adam(objective: &dyn Objective, u0: &[f64], settings: LocalSettings, step: f64) -> LocalResult {
    let (b1, b2, eps) = (0.9, 0.999, 1e-12);
    let d = u0.len();
    let mut u = u0.to_vec();
    let (mut m, mut v) = (vec![0.0; d], vec![0.0; d]);
    let mut best = (f64::INFINITY, u.clone());
    for it in 1..=settings.max_iters {
        let (value, g) = match objective.value_and_grad(&u) {
            Ok(r) => r,
            Err(e) => {
                return LocalResult {
                    u: best.1,
                    value: best.0,
                    iterations: it - 1,
                    stopped: Some(e.to_string()),
                };
            }
        };
        if value < best.0 {
            best = (value, u.clone());
        }
        if g.iter().map(|x| x * x).sum::<f64>().sqrt() < settings.grad_tolerance {
            return LocalResult {
                u: best.1,
                value: best.0,
                iterations: it,
                stopped: None,
            };
        }
        for j in 0..d {
            m[j] = b1 * m[j] + (1.0 - b1) * g[j];
            v[j] = b2 * v[j] + (1.0 - b2) * g[j] * g[j];
            let mh = m[j] / (1.0 - b1.powi(it as i32));
            let vh = v[j] / (1.0 - b2.powi(it as i32));
            u[j] -= step * mh / (vh.sqrt() + eps);
        }
    }
    LocalResult {
        u: best.1,
        value: best.0,
        iterations: settings.max_iters,
        stopped: None,
    }
}
