//! Objectives in normalized coordinates u ∈ [0,1]^d, with exact accounting of what they cost.

use crate::error::{Error, Result};
use proxyland_physics::{ParamSpace, Simulator, Trajectory};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::path::PathBuf;

/// One evaluation seen by an objective: which objective, where (u), and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct TracePoint {
    /// `true` (the simulator), `true-horizon` (the simulator on the first frames only, a
    /// horizon-continuation stage) or `proxy` (the proxy's log-loss).
    pub objective: &'static str,
    /// Where (not folded).
    pub u: Vec<f64>,
    /// The objective's value there.
    pub value: f64,
}

/// Where objectives append their evaluations when asked to (`proxyland solve --iterates`).
pub type Trace = RefCell<Vec<TracePoint>>;

fn trace_point(trace: Option<&Trace>, objective: &'static str, u: &[f64], value: f64) {
    if let Some(t) = trace {
        t.borrow_mut().push(TracePoint {
            objective,
            u: u.to_vec(),
            value,
        });
    }
}

/// A differentiable objective of u. Implementations count their own cost.
pub trait Objective {
    /// Dimension d.
    fn dim(&self) -> usize;
    /// The value alone (cheaper where the gradient costs extra).
    fn value(&self, u: &[f64]) -> Result<f64>;
    /// The value and its gradient w.r.t. u.
    fn value_and_grad(&self, u: &[f64]) -> Result<(f64, Vec<f64>)>;
}

/// The true configuration loss L(Y*, X(u)) through the simulator, counting simulator calls
/// (one forward solve each, with or without its gradient) and optionally enforcing a budget.
pub struct TrueLoss<'a> {
    sim: &'a dyn Simulator,
    target: &'a Trajectory,
    budget: Option<usize>,
    solve_budget: Option<usize>,
    calls: Cell<usize>,
    solves: Cell<usize>,
    /// The best (value, u) seen: what a method returns if it is stopped early.
    best: RefCell<Option<(f64, Vec<f64>)>>,
    trace: Option<&'a Trace>,
    /// Frames compared, when fewer than all: a stage of horizon continuation.
    horizon: Cell<Option<usize>>,
}

impl<'a> TrueLoss<'a> {
    /// The loss against `target` of `sim`'s trajectories, with no budget and no trace.
    pub fn new(sim: &'a dyn Simulator, target: &'a Trajectory) -> Self {
        TrueLoss {
            sim,
            target,
            budget: None,
            solve_budget: None,
            calls: Cell::new(0),
            solves: Cell::new(0),
            best: RefCell::new(None),
            trace: None,
            horizon: Cell::new(None),
        }
    }

    /// Appends every evaluation to `trace`.
    pub fn with_trace(mut self, trace: Option<&'a Trace>) -> Self {
        self.trace = trace;
        self
    }

    /// Stops with [`Error::BudgetExhausted`] once `budget` calls are spent.
    pub fn with_budget(mut self, budget: usize) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Stops with [`Error::BudgetExhausted`] once `solves` field solves are spent (a value call
    /// costs 1, a call with gradient or Jacobian [`Simulator::tangent_cost`]); a call that would
    /// overrun the budget is refused, so the spend never exceeds it.
    pub fn with_solve_budget(mut self, solves: usize) -> Self {
        self.solve_budget = Some(solves);
        self
    }

    /// Simulator calls made so far.
    pub fn calls(&self) -> usize {
        self.calls.get()
    }

    /// Field solves made so far: 1 per value call, [`Simulator::tangent_cost`] per call with
    /// gradient or Jacobian.
    pub fn field_solves(&self) -> usize {
        self.solves.get()
    }

    /// Calls left before the budget is spent (unbounded: `usize::MAX`). Under a field-solve
    /// budget, the value calls it still allows.
    pub fn remaining(&self) -> usize {
        let calls = self
            .budget
            .map_or(usize::MAX, |b| b.saturating_sub(self.calls.get()));
        let solves = self
            .solve_budget
            .map_or(usize::MAX, |b| b.saturating_sub(self.solves.get()));
        calls.min(solves)
    }

    /// What a call with gradient or Jacobian costs in the unit of [`TrueLoss::remaining`]:
    /// [`Simulator::tangent_cost`] field solves under a field-solve budget, else one call. A
    /// global method keeps back this many times the gradient calls its polish needs.
    pub fn gradient_call_cost(&self) -> usize {
        if self.solve_budget.is_some() {
            self.sim.tangent_cost()
        } else {
            1
        }
    }

    /// Frames of Y* the loss compares: all of them, unless a stage of horizon continuation
    /// restricted it to the first ones.
    pub fn horizon(&self) -> usize {
        let frames = self.target.nrows();
        self.horizon.get().map_or(frames, |k| k.min(frames))
    }

    /// Compares only the first `frames` frames of Y* from now on (`None`: all of them), the
    /// loss being their mean squared residual. A horizon-continuation stage: the simulator
    /// still runs the whole trajectory, so each call costs what a full one does. Values at a
    /// partial horizon are not candidates for [`TrueLoss::best`].
    pub fn set_horizon(&self, frames: Option<usize>) {
        self.horizon.set(
            frames
                .filter(|&k| k < self.target.nrows())
                .map(|k| k.max(1)),
        );
    }

    /// The simulator.
    pub fn simulator(&self) -> &dyn Simulator {
        self.sim
    }

    /// The lowest loss seen and where.
    pub fn best(&self) -> Option<(f64, Vec<f64>)> {
        self.best.borrow().clone()
    }

    /// The simulator's parameter box, which maps u to X.
    pub fn space(&self) -> &ParamSpace {
        self.sim.param_space()
    }

    /// Charges one call of `solves` field solves, or refuses it when a budget would be overrun.
    fn charge(&self, solves: usize) -> Result<()> {
        if let Some(b) = self.budget {
            if self.calls.get() >= b {
                return Err(Error::BudgetExhausted {
                    budget: b,
                    in_field_solves: false,
                });
            }
        }
        if let Some(b) = self.solve_budget {
            if self.solves.get() + solves > b {
                return Err(Error::BudgetExhausted {
                    budget: b,
                    in_field_solves: true,
                });
            }
        }
        self.calls.set(self.calls.get() + 1);
        self.solves.set(self.solves.get() + solves);
        Ok(())
    }

    /// The residual r(u) = P(Y0, X(u)) − Y* (row-major over frames × components) and its
    /// Jacobian with respect to u, one column per coordinate (exact, from the simulator's
    /// tangents, through the fold): one call, [`Simulator::tangent_cost`] field solves. The
    /// loss at u is mean r², recorded as for [`Objective::value`].
    pub fn residual_and_jacobian(&self, u: &[f64]) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
        self.charge(self.sim.tangent_cost())?;
        let space = self.space();
        let x = space.from_unit(u);
        let run = self.sim.simulate_with_tangents(&x)?;
        if run.trajectory.dim() != self.target.dim() {
            return Err(Error::invalid(
                "target",
                format!(
                    "shape {:?}, the simulator gives {:?}",
                    self.target.dim(),
                    run.trajectory.dim()
                ),
            ));
        }
        // Row-major, so the first `horizon` frames are a prefix of the residual.
        let n = self.horizon() * self.target.ncols();
        let residual: Vec<f64> = run
            .trajectory
            .iter()
            .zip(self.target.iter())
            .take(n)
            .map(|(a, b)| a - b)
            .collect();
        let value = residual.iter().map(|r| r * r).sum::<f64>() / residual.len() as f64;
        self.record(value, u)?;
        // ∂r/∂u_j = ∂P/∂X_j · (hi_j − lo_j)
        let jacobian = run
            .tangents
            .iter()
            .enumerate()
            .map(|(j, t)| t.iter().take(n).map(|v| v * space.width(j)).collect())
            .collect();
        Ok((residual, jacobian))
    }

    /// The loss over the compared frames by a value-only call (1 field solve).
    fn partial_value(&self, u: &[f64]) -> Result<f64> {
        self.charge(1)?;
        let x = self.space().from_unit(u);
        let y = self.sim.simulate(&x)?;
        if y.dim() != self.target.dim() {
            return Err(Error::invalid(
                "target",
                format!(
                    "shape {:?}, the simulator gives {:?}",
                    self.target.dim(),
                    y.dim()
                ),
            ));
        }
        let n = self.horizon() * self.target.ncols();
        let v = y
            .iter()
            .zip(self.target.iter())
            .take(n)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            / n as f64;
        self.record(v, u)?;
        Ok(v)
    }

    fn record(&self, value: f64, u: &[f64]) -> Result<()> {
        let partial = self.horizon.get().is_some();
        let objective = if partial { "true-horizon" } else { "true" };
        trace_point(self.trace, objective, u, value);
        if !value.is_finite() {
            return Err(Error::NonFinite { u: u.to_vec() });
        }
        if partial {
            return Ok(());
        }
        let mut best = self.best.borrow_mut();
        if best.as_ref().is_none_or(|(b, _)| value < *b) {
            *best = Some((value, u.to_vec()));
        }
        Ok(())
    }
}

impl Objective for TrueLoss<'_> {
    fn dim(&self) -> usize {
        self.space().dim()
    }

    fn value(&self, u: &[f64]) -> Result<f64> {
        if self.horizon.get().is_some() {
            return self.partial_value(u);
        }
        self.charge(1)?;
        let x = self.space().from_unit(u);
        let v = self.sim.loss(&x, self.target)?;
        self.record(v, u)?;
        Ok(v)
    }

    fn value_and_grad(&self, u: &[f64]) -> Result<(f64, Vec<f64>)> {
        if self.horizon.get().is_some() {
            // L = mean r², so ∂L/∂u_j = 2/N Σ r_i J_ij over the compared frames.
            let (r, jacobian) = self.residual_and_jacobian(u)?;
            let n = r.len() as f64;
            let v = r.iter().map(|x| x * x).sum::<f64>() / n;
            let g = jacobian
                .iter()
                .map(|col| 2.0 / n * col.iter().zip(&r).map(|(a, b)| a * b).sum::<f64>())
                .collect();
            return Ok((v, g));
        }
        self.charge(self.sim.tangent_cost())?;
        let space = self.space();
        let x = space.from_unit(u);
        let (v, gx) = self.sim.loss_and_grad(&x, self.target)?;
        self.record(v, u)?;
        // dL/du_j = dL/dX_j · (hi_j − lo_j)
        let g = gx
            .iter()
            .enumerate()
            .map(|(j, g)| g * space.width(j))
            .collect();
        Ok((v, g))
    }
}

/// What a surrogate implementation may fail with (kept as the source of [`Error::Surrogate`]).
pub type SurrogateError = Box<dyn std::error::Error + Send + Sync>;

/// A learned loss landscape bound to one observation Y*: the predicted log-loss
/// z(u) = log(L̂(Y*, X(u)) + ε) and its gradient, for batches of u ∈ [0,1]^d.
///
/// This is how optim talks to a network without knowing it: `proxyland-proxy` implements it for
/// its ProxyNN, and a user can implement it for any model. Implementations only see u inside
/// the box: [`SurrogateLoss`] folds every point first, exactly as [`TrueLoss`] does.
///
/// ```
/// use proxyland_optim::{Surrogate, SurrogateError};
/// /// z(u) = Σ (u_j − 0.3)²: a surrogate whose minimum is at 0.3 in every coordinate.
/// struct Bowl(usize);
/// impl Surrogate for Bowl {
///     fn dim(&self) -> usize { self.0 }
///     fn predict_log_with_grad(&self, us: &[Vec<f64>])
///         -> Result<(Vec<f64>, Vec<Vec<f64>>), SurrogateError> {
///         Ok(us.iter().map(|u| (
///             u.iter().map(|v| (v - 0.3).powi(2)).sum::<f64>(),
///             u.iter().map(|v| 2.0 * (v - 0.3)).collect::<Vec<f64>>(),
///         )).unzip())
///     }
/// }
/// let (z, g) = Bowl(2).predict_log_with_grad(&[vec![0.3, 0.5]])?;
/// assert!((z[0] - 0.04).abs() < 1e-12 && g[0][0] == 0.0);
/// # Ok::<(), SurrogateError>(())
/// ```
pub trait Surrogate: Send + Sync {
    /// Dimension d.
    fn dim(&self) -> usize;
    /// z(u) and ∂z/∂u for every u of the batch.
    fn predict_log_with_grad(
        &self,
        us: &[Vec<f64>],
    ) -> std::result::Result<(Vec<f64>, Vec<Vec<f64>>), SurrogateError>;
    /// z(u) alone (override when it is cheaper than with the gradient).
    fn predict_log(&self, us: &[Vec<f64>]) -> std::result::Result<Vec<f64>, SurrogateError> {
        Ok(self.predict_log_with_grad(us)?.0)
    }
}

/// What a trained surrogate is, for reports and for checking it fits the problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurrogateInfo {
    /// The file it was loaded from.
    pub path: PathBuf,
    /// The experiment it was trained for.
    pub experiment: String,
    /// Parameter dimension d and trajectory shape (frames, components) it expects.
    pub dim: usize,
    /// (frames, components) of the observations it expects.
    pub trajectory_shape: (usize, usize),
    /// Noise-injection σ it was trained with.
    pub noise: f64,
    /// Gradient-penalty λ it was trained with.
    pub penalty: f64,
    /// Dropout, weight decay and the spectral-norm bound it was trained with.
    #[serde(default)]
    pub regularizers: crate::Regularizers,
    /// The training seed.
    pub seed: u64,
    /// One-off cost: simulations that made its training pool.
    pub dataset_simulations: usize,
    /// One-off cost: training time in seconds.
    pub training_seconds: f64,
}

/// A trained surrogate that can be bound to observations (shared across threads).
pub trait SurrogateModel: Send + Sync {
    /// What it is.
    fn info(&self) -> &SurrogateInfo;
    /// The landscape for one observation (encodes Y* once).
    fn bind<'a>(
        &'a self,
        target: &Trajectory,
    ) -> std::result::Result<Box<dyn Surrogate + 'a>, SurrogateError>;
}

/// A surrogate's predicted log-loss as an [`Objective`]: free of simulator calls. u is folded
/// into the box before it reaches the surrogate (periodic wrap, reflection elsewhere) and the
/// gradient follows the fold, so optimizers see the same even extension the true loss has.
pub struct SurrogateLoss<'a> {
    surrogate: &'a dyn Surrogate,
    space: &'a ParamSpace,
    evaluations: Cell<usize>,
    trace: Option<&'a Trace>,
}

impl<'a> SurrogateLoss<'a> {
    /// The landscape of `surrogate` over the box `space`.
    pub fn new(surrogate: &'a dyn Surrogate, space: &'a ParamSpace) -> Self {
        SurrogateLoss {
            surrogate,
            space,
            evaluations: Cell::new(0),
            trace: None,
        }
    }

    /// Appends every single-point evaluation to `trace`.
    pub fn with_trace(mut self, trace: Option<&'a Trace>) -> Self {
        self.trace = trace;
        self
    }

    /// The box it folds into.
    pub fn space(&self) -> &ParamSpace {
        self.space
    }

    /// Surrogate evaluations so far (one per point).
    pub fn evaluations(&self) -> usize {
        self.evaluations.get()
    }

    fn folded(&self, us: &[Vec<f64>]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        us.iter().map(|u| self.space.fold_unit(u)).unzip()
    }

    /// Predicted log-losses of many points in one batch.
    pub fn values(&self, us: &[Vec<f64>]) -> Result<Vec<f64>> {
        self.evaluations.set(self.evaluations.get() + us.len());
        let (inside, _) = self.folded(us);
        let z = self
            .surrogate
            .predict_log(&inside)
            .map_err(|source| Error::Surrogate { source })?;
        if z.len() != us.len() {
            return Err(Error::Surrogate {
                source: format!("{} predictions for {} points", z.len(), us.len()).into(),
            });
        }
        Ok(z)
    }
}

impl Objective for SurrogateLoss<'_> {
    fn dim(&self) -> usize {
        self.surrogate.dim()
    }
    fn value(&self, u: &[f64]) -> Result<f64> {
        Ok(self.value_and_grad(u)?.0)
    }
    fn value_and_grad(&self, u: &[f64]) -> Result<(f64, Vec<f64>)> {
        self.evaluations.set(self.evaluations.get() + 1);
        let (inside, sign) = self.space.fold_unit(u);
        let (z, g) = self
            .surrogate
            .predict_log_with_grad(std::slice::from_ref(&inside))
            .map_err(|source| Error::Surrogate { source })?;
        let (Some(&z), Some(g)) = (z.first(), g.into_iter().next()) else {
            return Err(Error::Surrogate {
                source: "no prediction for one point".into(),
            });
        };
        trace_point(self.trace, "proxy", u, z);
        if !z.is_finite() || g.len() != u.len() {
            return Err(Error::NonFinite { u: u.to_vec() });
        }
        // dz/du = dz/du_in · du_in/du (±1 per coordinate).
        Ok((z, g.iter().zip(&sign).map(|(g, s)| g * s).collect()))
    }
}

/// A plain function of u with its gradient (tests, smoothed toy objectives).
pub struct FnObjective<F> {
    dim: usize,
    f: F,
    calls: Cell<usize>,
}

impl<F: Fn(&[f64]) -> (f64, Vec<f64>)> FnObjective<F> {
    /// Wraps `f(u) -> (value, gradient)` on a `dim`-dimensional u, with no calls counted yet.
    pub fn new(dim: usize, f: F) -> Self {
        FnObjective {
            dim,
            f,
            calls: Cell::new(0),
        }
    }
    /// Evaluations of `f` so far (each computes value and gradient).
    pub fn calls(&self) -> usize {
        self.calls.get()
    }
}

impl<F: Fn(&[f64]) -> (f64, Vec<f64>)> Objective for FnObjective<F> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn value(&self, u: &[f64]) -> Result<f64> {
        Ok(self.value_and_grad(u)?.0)
    }
    fn value_and_grad(&self, u: &[f64]) -> Result<(f64, Vec<f64>)> {
        self.calls.set(self.calls.get() + 1);
        let (v, g) = (self.f)(u);
        if !v.is_finite() {
            return Err(Error::NonFinite { u: u.to_vec() });
        }
        Ok((v, g))
    }
}
