//! Objectives in normalized coordinates u ∈ [0,1]^d, with exact accounting of what they cost.

use crate::error::{Error, Result};
use proxyland_physics::{ParamSpace, Simulator, Trajectory};
use proxyland_proxy::BoundProxy;
use std::cell::{Cell, RefCell};

/// One evaluation seen by an objective: which objective, where (u), and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct TracePoint {
    /// `true` (the simulator) or `proxy` (the proxy's log-loss).
    pub objective: &'static str,
    pub u: Vec<f64>,
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
    calls: Cell<usize>,
    /// The best (value, u) seen: what a method returns if it is stopped early.
    best: RefCell<Option<(f64, Vec<f64>)>>,
    trace: Option<&'a Trace>,
}

impl<'a> TrueLoss<'a> {
    pub fn new(sim: &'a dyn Simulator, target: &'a Trajectory) -> Self {
        TrueLoss {
            sim,
            target,
            budget: None,
            calls: Cell::new(0),
            best: RefCell::new(None),
            trace: None,
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

    /// Simulator calls made so far.
    pub fn calls(&self) -> usize {
        self.calls.get()
    }

    /// Calls left before the budget is spent (unbounded: `usize::MAX`).
    pub fn remaining(&self) -> usize {
        self.budget
            .map_or(usize::MAX, |b| b.saturating_sub(self.calls.get()))
    }

    /// The lowest loss seen and where.
    pub fn best(&self) -> Option<(f64, Vec<f64>)> {
        self.best.borrow().clone()
    }

    pub fn space(&self) -> &ParamSpace {
        self.sim.param_space()
    }

    fn charge(&self) -> Result<()> {
        if let Some(b) = self.budget {
            if self.calls.get() >= b {
                return Err(Error::BudgetExhausted(b));
            }
        }
        self.calls.set(self.calls.get() + 1);
        Ok(())
    }

    fn record(&self, value: f64, u: &[f64]) -> Result<()> {
        trace_point(self.trace, "true", u, value);
        if !value.is_finite() {
            return Err(Error::NonFinite { u: u.to_vec() });
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
        self.charge()?;
        let x = self.space().from_unit(u);
        let v = self.sim.loss(&x, self.target)?;
        self.record(v, u)?;
        Ok(v)
    }

    fn value_and_grad(&self, u: &[f64]) -> Result<(f64, Vec<f64>)> {
        self.charge()?;
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

/// The proxy's predicted log-loss log(L̂ + ε) for one target: free of simulator calls.
pub struct ProxyLoss<'a, 'p> {
    proxy: &'a BoundProxy<'p>,
    dim: usize,
    evaluations: Cell<usize>,
    trace: Option<&'a Trace>,
}

impl<'a, 'p> ProxyLoss<'a, 'p> {
    pub fn new(proxy: &'a BoundProxy<'p>, dim: usize) -> Self {
        ProxyLoss {
            proxy,
            dim,
            evaluations: Cell::new(0),
            trace: None,
        }
    }

    /// Appends every single-point evaluation to `trace`.
    pub fn with_trace(mut self, trace: Option<&'a Trace>) -> Self {
        self.trace = trace;
        self
    }

    /// Network evaluations so far.
    pub fn evaluations(&self) -> usize {
        self.evaluations.get()
    }

    /// Predicted log-losses of many points in one forward pass.
    pub fn values(&self, us: &[Vec<f64>]) -> Result<Vec<f64>> {
        self.evaluations.set(self.evaluations.get() + us.len());
        Ok(self.proxy.predict_log_with_grad(us)?.0)
    }
}

impl Objective for ProxyLoss<'_, '_> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn value(&self, u: &[f64]) -> Result<f64> {
        Ok(self.values(&[u.to_vec()])?[0])
    }
    fn value_and_grad(&self, u: &[f64]) -> Result<(f64, Vec<f64>)> {
        self.evaluations.set(self.evaluations.get() + 1);
        let (v, g) = self.proxy.predict_log_with_grad(&[u.to_vec()])?;
        trace_point(self.trace, "proxy", u, v[0]);
        if !v[0].is_finite() {
            return Err(Error::NonFinite { u: u.to_vec() });
        }
        Ok((v[0], g.into_iter().next().expect("one row")))
    }
}

/// A plain function of u with its gradient (tests, smoothed toy objectives).
pub struct FnObjective<F> {
    dim: usize,
    f: F,
    calls: Cell<usize>,
}

impl<F: Fn(&[f64]) -> (f64, Vec<f64>)> FnObjective<F> {
    pub fn new(dim: usize, f: F) -> Self {
        FnObjective {
            dim,
            f,
            calls: Cell::new(0),
        }
    }
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
