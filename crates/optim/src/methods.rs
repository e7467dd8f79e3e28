//! Every method of the spec, run on one inverse problem with honest accounting.

use crate::error::{Error, Result};
use crate::global::{cma_es, differential_evolution, multistart_bfgs};
use crate::library::SampleLibrary;
use crate::local::{LocalMethod, LocalSettings, Refine, StopReason, minimize};
use crate::objective::{SurrogateLoss, SurrogateModel, Trace, TrueLoss};
use crate::refine::{Refinement, refine};
use crate::uncertainty::EXACT_FIT;
use proxyland_physics::rng::Stream;
use proxyland_physics::{Simulator, Trajectory};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// A method to run on an inverse problem.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// BFGS on the true loss from the problem's start.
    Bfgs,
    /// L-BFGS on the true loss.
    Lbfgs,
    /// Steepest descent with More–Thuente line search.
    Gd,
    /// Adam with step 0.01 in u.
    Adam,
    /// BFGS on the surrogate only (no simulator call until the final resimulation).
    Proxy,
    /// The paper's two stages: BFGS on the surrogate, then BFGS on the true loss from there.
    ProxyBfgs,
    /// Many starts on the surrogate (free), the best `refine` by surrogate value refined on the
    /// true loss.
    ProxyMultistart {
        /// Random starts scored on the surrogate in one batch.
        starts: usize,
        /// Surrogate minima refined on the true loss.
        refine: usize,
    },
    /// The training pool without a network: the `refine` samples whose stored trajectories are
    /// nearest to Y* (free), each refined by BFGS on the true loss.
    PoolBfgs {
        /// Nearest samples refined.
        refine: usize,
    },
    /// The amortized direct inverse (Holl & Thuerey, arXiv 2408.08119): a network's prediction
    /// u = net(Y*), refined by BFGS on the true loss. The prediction is the problem's start
    /// (the evaluation puts it there); the network's one-off cost is reported beside it.
    InverseNet,
    /// Learned multi-start (spec v3): the inverse network's prediction, then the `refine`
    /// pool samples nearest to Y*, each refined in turn; the lowest residual is the answer.
    /// With [`LocalSettings::stop_at_fit`] the run stops at the first start that fits (as
    /// `pool-bfgs` does); without it every start is refined, so a verdict sees every minimum.
    /// The network's start is the problem's start, as for `inverse-net`.
    InversePool {
        /// Nearest pool samples behind the network's start.
        refine: usize,
    },
    /// BFGS from random starts until the budget is spent.
    MultistartBfgs {
        /// Spend per problem.
        budget: SimBudget,
    },
    /// IPOP-CMA-ES with a BFGS polish.
    Cmaes {
        /// Spend per problem.
        budget: SimBudget,
    },
    /// Differential evolution sized to the budget, with a BFGS polish.
    De {
        /// Spend per problem.
        budget: SimBudget,
    },
}

/// What a budgeted baseline may spend on one problem, and in which unit (spec v3: budgets are
/// matched in simulator calls and in field solves). A call with gradient costs one call but
/// [`proxyland_physics::Simulator::tangent_cost`] field solves (1 + d by default), a value
/// call one of each; at d = 16 the two units differ by up to 17×.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimBudget {
    /// Simulator calls, with or without gradient.
    Calls(usize),
    /// Field solves: 1 per value call, the simulator's tangent cost per gradient call.
    FieldSolves(usize),
}

impl SimBudget {
    /// The amount, in its own unit.
    pub fn amount(self) -> usize {
        match self {
            SimBudget::Calls(n) | SimBudget::FieldSolves(n) => n,
        }
    }

    /// The unit's name in labels and reports: `calls` or `field solves`.
    pub fn unit(self) -> &'static str {
        match self {
            SimBudget::Calls(_) => "calls",
            SimBudget::FieldSolves(_) => "field solves",
        }
    }

    /// `truth` limited to this budget (at least 1 of its unit).
    pub fn limit<'a>(self, truth: TrueLoss<'a>) -> TrueLoss<'a> {
        match self {
            SimBudget::Calls(n) => truth.with_budget(n.max(1)),
            SimBudget::FieldSolves(n) => truth.with_solve_budget(n.max(1)),
        }
    }
}

/// Method names of the command line.
pub const METHOD_NAMES: [&str; 13] = [
    "bfgs",
    "lbfgs",
    "gd",
    "adam",
    "proxy",
    "proxy-bfgs",
    "proxy-multistart",
    "pool-bfgs",
    "inverse-net",
    "inverse-pool",
    "multistart-bfgs",
    "cmaes",
    "de",
];

/// The method families whose spend sets the baselines' budgets.
pub const BUDGET_REFERENCES: [Family; 2] = [Family::ProxyBfgs, Family::ProxyMultistart];

/// A method family: what identifies a method in results, whatever its settings (budget,
/// surrogate, network). Written as its command-line name.
///
/// ```
/// use proxyland_optim::{Family, Method};
/// assert_eq!(Method::parse("proxy-multistart", 0)?.family(), Family::ProxyMultistart);
/// assert_eq!(Family::ProxyMultistart.name(), "proxy-multistart");
/// assert_eq!(serde_json::to_string(&Family::MultistartBfgs).unwrap(), "\"multistart-bfgs\"");
/// # Ok::<(), proxyland_optim::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// `bfgs`.
    Bfgs,
    /// `lbfgs`.
    Lbfgs,
    /// `gd`.
    Gd,
    /// `adam`.
    Adam,
    /// `proxy`.
    Proxy,
    /// `proxy-bfgs`.
    ProxyBfgs,
    /// `proxy-multistart`.
    ProxyMultistart,
    /// `pool-bfgs`.
    PoolBfgs,
    /// `inverse-net`.
    InverseNet,
    /// `inverse-pool`.
    InversePool,
    /// `multistart-bfgs`.
    MultistartBfgs,
    /// `cmaes`.
    Cmaes,
    /// `de`.
    De,
}

impl Family {
    /// Every family, in the order of [`METHOD_NAMES`].
    pub const ALL: [Family; 13] = [
        Family::Bfgs,
        Family::Lbfgs,
        Family::Gd,
        Family::Adam,
        Family::Proxy,
        Family::ProxyBfgs,
        Family::ProxyMultistart,
        Family::PoolBfgs,
        Family::InverseNet,
        Family::InversePool,
        Family::MultistartBfgs,
        Family::Cmaes,
        Family::De,
    ];

    /// The family of a command-line name.
    pub fn parse(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Family::Bfgs => "bfgs",
            Family::Lbfgs => "lbfgs",
            Family::Gd => "gd",
            Family::Adam => "adam",
            Family::Proxy => "proxy",
            Family::ProxyBfgs => "proxy-bfgs",
            Family::ProxyMultistart => "proxy-multistart",
            Family::PoolBfgs => "pool-bfgs",
            Family::InverseNet => "inverse-net",
            Family::InversePool => "inverse-pool",
            Family::MultistartBfgs => "multistart-bfgs",
            Family::Cmaes => "cmaes",
            Family::De => "de",
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Method {
    /// Parses a method name; budgeted baselines get a budget of `budget` simulator calls
    /// ([`Method::with_budget`] sets one in field solves).
    ///
    /// ```
    /// use proxyland_optim::{Method, SimBudget};
    /// assert_eq!(Method::parse("de", 500)?, Method::De { budget: SimBudget::Calls(500) });
    /// assert!(Method::parse("newton", 0).is_err());
    /// # Ok::<(), proxyland_optim::Error>(())
    /// ```
    pub fn parse(name: &str, budget: usize) -> Result<Method> {
        let (starts, refine) = (SURROGATE_STARTS, STARTS_REFINED);
        Ok(match name {
            "bfgs" => Method::Bfgs,
            "lbfgs" => Method::Lbfgs,
            "gd" => Method::Gd,
            "adam" => Method::Adam,
            "proxy" => Method::Proxy,
            "proxy-bfgs" => Method::ProxyBfgs,
            "proxy-multistart" => Method::ProxyMultistart { starts, refine },
            "pool-bfgs" => Method::PoolBfgs { refine },
            "inverse-net" => Method::InverseNet,
            "inverse-pool" => Method::InversePool { refine },
            "multistart-bfgs" => Method::MultistartBfgs {
                budget: SimBudget::Calls(budget),
            },
            "cmaes" => Method::Cmaes {
                budget: SimBudget::Calls(budget),
            },
            "de" => Method::De {
                budget: SimBudget::Calls(budget),
            },
            other => return Err(Error::UnknownMethod(other.into(), METHOD_NAMES.join(", "))),
        })
    }

    /// The method with `budget` in place of its own; methods without a budget are returned
    /// as they are.
    ///
    /// ```
    /// use proxyland_optim::{Method, SimBudget};
    /// let de = Method::parse("de", 0)?.with_budget(SimBudget::FieldSolves(1700));
    /// assert_eq!(de.budget(), Some(SimBudget::FieldSolves(1700)));
    /// assert_eq!(Method::parse("bfgs", 0)?.with_budget(SimBudget::Calls(5)).budget(), None);
    /// # Ok::<(), proxyland_optim::Error>(())
    /// ```
    pub fn with_budget(self, budget: SimBudget) -> Method {
        match self {
            Method::MultistartBfgs { .. } => Method::MultistartBfgs { budget },
            Method::Cmaes { .. } => Method::Cmaes { budget },
            Method::De { .. } => Method::De { budget },
            other => other,
        }
    }

    /// The budget of a budgeted baseline.
    pub fn budget(&self) -> Option<SimBudget> {
        match self {
            Method::MultistartBfgs { budget }
            | Method::Cmaes { budget }
            | Method::De { budget } => Some(*budget),
            _ => None,
        }
    }

    /// Whether the method needs a trained surrogate.
    pub fn needs_surrogate(&self) -> bool {
        matches!(
            self,
            Method::Proxy | Method::ProxyBfgs | Method::ProxyMultistart { .. }
        )
    }

    /// Whether the method needs the library of simulated samples (the training pool).
    pub fn needs_library(&self) -> bool {
        matches!(self, Method::PoolBfgs { .. } | Method::InversePool { .. })
    }

    /// Whether the method starts from a trained inverse network's prediction.
    pub fn needs_inverse(&self) -> bool {
        matches!(self, Method::InverseNet | Method::InversePool { .. })
    }

    /// Whether the method starts from the problem's start u0 (single-start methods, and the
    /// surrogate searches, whose first candidate it is); the others draw their own starts.
    pub fn uses_start(&self) -> bool {
        !(self.is_budgeted() || matches!(self, Method::PoolBfgs { .. }))
    }

    /// Whether the method ends by the refinement rule ([`LocalSettings::refine`], and with it
    /// horizon continuation); the plain local solvers, the surrogate alone and multi-start
    /// BFGS do not.
    pub fn refines(&self) -> bool {
        !matches!(
            self,
            Method::Bfgs
                | Method::Lbfgs
                | Method::Gd
                | Method::Adam
                | Method::Proxy
                | Method::MultistartBfgs { .. }
        )
    }

    /// Whether the method's refinements run under horizon continuation when asked
    /// ([`LocalSettings::continuation`]): every refining method but the DE/CMA-ES polish, which
    /// starts from the search's best point and fits every frame.
    pub fn uses_continuation(&self) -> bool {
        self.refines() && !self.is_budgeted()
    }

    /// Whether the method runs until a simulator budget is spent.
    pub fn is_budgeted(&self) -> bool {
        matches!(
            self,
            Method::MultistartBfgs { .. } | Method::Cmaes { .. } | Method::De { .. }
        )
    }

    /// The method's family: its identity in results, whatever its settings.
    pub fn family(&self) -> Family {
        match self {
            Method::Bfgs => Family::Bfgs,
            Method::Lbfgs => Family::Lbfgs,
            Method::Gd => Family::Gd,
            Method::Adam => Family::Adam,
            Method::Proxy => Family::Proxy,
            Method::ProxyBfgs => Family::ProxyBfgs,
            Method::ProxyMultistart { .. } => Family::ProxyMultistart,
            Method::PoolBfgs { .. } => Family::PoolBfgs,
            Method::InverseNet => Family::InverseNet,
            Method::InversePool { .. } => Family::InversePool,
            Method::MultistartBfgs { .. } => Family::MultistartBfgs,
            Method::Cmaes { .. } => Family::Cmaes,
            Method::De { .. } => Family::De,
        }
    }

    /// The family name (`de`, `proxy-bfgs`, ...).
    pub fn name(&self) -> &'static str {
        self.family().name()
    }
}

/// What one method answered on one problem.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    /// The answer X̂, folded into the box.
    pub x_hat: Vec<f64>,
    /// L(Y*, X̂) by one extra simulation (not charged to the method); ∞ for a failed run.
    #[serde(with = "crate::nonfinite")]
    pub resim_loss: f64,
    /// Simulator calls the method spent (forward solves, with or without gradient).
    pub sim_calls: usize,
    /// Surrogate evaluations (free of simulator calls).
    pub surrogate_evals: usize,
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// Why the method stopped early, if it did (a blow-up, the budget, ...).
    pub stopped: Option<StopReason>,
    /// Global methods: generations (DE, CMA-ES over all restarts) or local runs
    /// (multi-start BFGS) completed.
    pub rounds: Option<usize>,
    /// The distinct local minima the method's refinements ended in (the answer's own first),
    /// best first, at most [`MAX_MINIMA`]: a multi-start method that found two equally good
    /// answers says so, and the verdict calls the answer ambiguous.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub minima: Vec<Minimum>,
    /// Local runs on the true loss whose ends `minima` was drawn from: 1 for a single start;
    /// more when the method looked for other minima.
    #[serde(default)]
    pub local_runs: usize,
    /// Field solves the method spent: 1 per value call, [`Simulator::tangent_cost`] per call
    /// with gradient or Jacobian (spec v3: budgets are matched in both units).
    #[serde(default)]
    pub field_solves: usize,
    /// How the refinement behind the answer ended (iterations, convergence, stop), where the
    /// method refines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refinement: Option<Refinement>,
}

/// A local minimum of the true loss that a method's refinement ended in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Minimum {
    /// Where, folded into the box (units of X).
    pub x: Vec<f64>,
    /// L(Y*, X) there.
    pub loss: f64,
}

/// The most local minima an [`Answer`] keeps.
pub const MAX_MINIMA: usize = 8;

impl Answer {
    /// Whether the answer rests on a failed evaluation (or its resimulation failed).
    pub fn failed(&self) -> bool {
        !self.resim_loss.is_finite() || self.stopped.as_ref().is_some_and(StopReason::is_failure)
    }
}

/// Tolerance of the spec's success criterion, as a fraction of each box width.
pub const SUCCESS_TOLERANCE: f64 = 0.01;

/// Success: every coordinate within 1% of its box width of the truth (periodic distance).
/// Returns (success, worst normalized error).
pub fn is_success(sim: &dyn Simulator, x_hat: &[f64], x_star: &[f64]) -> (bool, f64) {
    let space = sim.param_space();
    let worst = space.worst_distance(x_hat, x_star);
    (worst <= SUCCESS_TOLERANCE, worst)
}

/// Free starts of `proxy-multistart`'s search on the proxy.
pub const SURROGATE_STARTS: usize = 256;

/// Starts a multi-start method refines on the simulator: `proxy-multistart`'s best minima,
/// `pool-bfgs`'s nearest pool samples, `inverse-pool`'s nearest samples after the network's.
pub const STARTS_REFINED: usize = 3;

/// One inverse problem: its simulator, the observed trajectory Y* and the start u0 that every
/// single-start method uses.
#[derive(Clone)]
pub struct Problem<'a> {
    /// The forward model.
    pub sim: &'a dyn Simulator,
    /// The observation Y*.
    pub target: &'a Trajectory,
    /// The start of single-start methods (normalized coordinates).
    pub u0: Vec<f64>,
    /// Record every objective evaluation here (single-start and surrogate methods).
    pub trace: Option<&'a Trace>,
    /// Already simulated samples (the training pool), for `pool-bfgs`.
    pub library: Option<&'a SampleLibrary>,
}

/// Runs `method` on `problem`. A failing simulation does not fail the call: it ends the method
/// early and is recorded in [`Answer::stopped`].
pub fn run(
    method: &Method,
    problem: &Problem,
    surrogate: Option<&dyn SurrogateModel>,
    settings: LocalSettings,
    stream: &mut Stream,
) -> Result<Answer> {
    let started = Instant::now();
    let space = problem.sim.param_space();
    let truth = TrueLoss::new(problem.sim, problem.target).with_trace(problem.trace);
    let mut surrogate_evals = 0;
    let refinement;
    // Each arm gives the answer, why it stopped early, and where its local refinements ended.
    let (u_hat, stopped, local_minima) = match method {
        Method::InverseNet => {
            // The network's prediction, refined by the rule.
            let (r, report) = refine(&truth, &problem.u0, settings);
            refinement = Some(report);
            let ends = vec![(r.value, r.u.clone())];
            (r.u, r.stopped, ends)
        }
        Method::Bfgs | Method::Lbfgs | Method::Gd | Method::Adam => {
            let (u, stopped, ends, report) = local_baseline(method, &truth, &problem.u0, settings);
            refinement = report;
            (u, stopped, ends)
        }
        Method::Proxy | Method::ProxyBfgs | Method::ProxyMultistart { .. } => {
            let ((u, stopped, ends, report), evaluations) =
                surrogate_search(method, &truth, problem, surrogate, settings, stream)?;
            refinement = report;
            surrogate_evals = evaluations;
            (u, stopped, ends)
        }
        Method::PoolBfgs { refine } => {
            let library = problem.library.ok_or_else(|| Error::Missing {
                method: method.name().into(),
                what: "the training pool as a sample library",
            })?;
            let nearest = library.nearest(problem.target, (*refine).max(1))?;
            let (u, stopped, ends, report) = refine_on_truth(
                &truth,
                nearest.into_iter().map(|(_, u)| u),
                problem,
                settings,
            );
            refinement = report;
            (u, stopped, ends)
        }
        Method::InversePool { refine } => {
            let library = problem.library.ok_or_else(|| Error::Missing {
                method: method.name().into(),
                what: "the training pool as a sample library",
            })?;
            let nearest = library.nearest(problem.target, *refine)?;
            let starts =
                std::iter::once(problem.u0.clone()).chain(nearest.into_iter().map(|(_, u)| u));
            let (u, stopped, ends, report) = refine_on_truth(&truth, starts, problem, settings);
            refinement = report;
            (u, stopped, ends)
        }
        Method::MultistartBfgs { budget } | Method::Cmaes { budget } | Method::De { budget } => {
            return budgeted_baseline(method, *budget, problem, settings, stream, started);
        }
    };
    let mut a = answer(
        problem,
        u_hat,
        truth.calls(),
        surrogate_evals,
        started,
        stopped,
    );
    a.local_runs = local_minima.len();
    a.minima = distinct_minima(space, local_minima, &a);
    a.field_solves = truth.field_solves();
    a.refinement = refinement;
    Ok(a)
}

/// What a search gave before its accounting: the answer in u, why it stopped early, where its
/// local runs on the true loss ended, and the refinement behind the answer.
type Searched = (Vec<f64>, Option<StopReason>, LocalEnds, Option<Refinement>);

/// A plain local solver (BFGS, L-BFGS, GD, Adam) on the true loss from `u0`.
fn local_baseline(
    method: &Method,
    truth: &TrueLoss,
    u0: &[f64],
    settings: LocalSettings,
) -> Searched {
    let local = match method {
        Method::Bfgs => LocalMethod::Bfgs,
        Method::Lbfgs => LocalMethod::Lbfgs,
        Method::Gd => LocalMethod::SteepestDescent,
        _ => LocalMethod::Adam,
    };
    let r = minimize(local, truth, u0, settings);
    // Only BFGS is a refinement the rule could have chosen; L-BFGS, GD and Adam are
    // baselines of their own and report none.
    let refinement = (local == LocalMethod::Bfgs).then(|| Refinement {
        method: Refine::Bfgs,
        iterations: r.iterations,
        converged: r.converged,
        stop: r.stopped.as_ref().map_or_else(
            || {
                if r.converged {
                    "gradient"
                } else {
                    "iterations"
                }
                .to_string()
            },
            |s| s.to_string(),
        ),
        horizons: Vec::new(),
    });
    let ends = vec![(r.value, r.u.clone())];
    (r.u, r.stopped, ends, refinement)
}

/// The surrogate methods (proxy, proxy-bfgs, proxy-multistart): the search on the surrogate
/// bound to Y*, then (but for `proxy`) the refinement on the true loss; beside it, the
/// surrogate evaluations it spent.
fn surrogate_search(
    method: &Method,
    truth: &TrueLoss,
    problem: &Problem,
    surrogate: Option<&dyn SurrogateModel>,
    settings: LocalSettings,
    stream: &mut Stream,
) -> Result<(Searched, usize)> {
    let space = problem.sim.param_space();
    let model = surrogate.ok_or_else(|| Error::Missing {
        method: method.name().into(),
        what: "a trained surrogate",
    })?;
    let bound = model
        .bind(problem.target)
        .map_err(|source| Error::Surrogate { source })?;
    let landscape = SurrogateLoss::new(bound.as_ref(), space).with_trace(problem.trace);
    let result = match method {
        Method::ProxyMultistart { starts, refine } => {
            match surrogate_minima(
                &landscape,
                &problem.u0,
                *starts,
                (4 * refine).max(1),
                settings,
                stream,
            ) {
                Ok(minima) => {
                    let chosen = distinct(minima, (*refine).max(1));
                    refine_on_truth(truth, chosen.into_iter(), problem, settings)
                }
                // A surrogate that fails is this method's failure, recorded like a
                // blown-up simulation, not the whole evaluation's.
                Err(e) => (
                    problem.u0.clone(),
                    Some(StopReason::from_error(&e)),
                    Vec::new(),
                    None,
                ),
            }
        }
        _ => {
            let stage1 = minimize(LocalMethod::Bfgs, &landscape, &problem.u0, settings);
            if stage1.stopped.as_ref().is_some_and(StopReason::is_failure)
                || *method == Method::Proxy
            {
                // The surrogate's minimum is no minimum of the true loss.
                (stage1.u, stage1.stopped, Vec::new(), None)
            } else {
                let (inside, _) = space.fold_unit(&stage1.u);
                let (stage2, report) = refine(truth, &inside, settings);
                let ends = vec![(stage2.value, stage2.u.clone())];
                (stage2.u, stage2.stopped, ends, Some(report))
            }
        }
    };
    Ok((result, landscape.evaluations()))
}

/// The budgeted baselines (multi-start BFGS, CMA-ES, DE) on the true loss limited to
/// `budget`: they count their own spend and rounds, so they give the whole answer.
fn budgeted_baseline(
    method: &Method,
    budget: SimBudget,
    problem: &Problem,
    settings: LocalSettings,
    stream: &mut Stream,
    started: Instant,
) -> Result<Answer> {
    let space = problem.sim.param_space();
    let limited = budget
        .limit(TrueLoss::new(problem.sim, problem.target))
        .with_trace(problem.trace);
    let r = match method {
        Method::MultistartBfgs { .. } => multistart_bfgs(&limited, settings, stream)?,
        Method::Cmaes { .. } => cma_es(&limited, settings, stream)?,
        _ => differential_evolution(&limited, settings, stream)?,
    };
    // The budget running out is how these methods end; anything else is reported.
    let stopped = r.stopped.filter(|s| !s.is_budget());
    let mut a = answer(problem, r.u, limited.calls(), 0, started, stopped);
    a.field_solves = limited.field_solves();
    a.rounds = Some(r.rounds);
    a.refinement = r.refinement;
    a.local_runs = r.local_minima.len().max(1);
    a.minima = distinct_minima(space, r.local_minima, &a);
    Ok(a)
}

/// The distinct minima among the local runs' ends `(loss, u)`: folded into the box, best first,
/// one per basin (points closer than half the success tolerance in every coordinate are one),
/// at most [`MAX_MINIMA`]. The answer itself always leads the list.
fn distinct_minima(
    space: &proxyland_physics::ParamSpace,
    ends: Vec<(f64, Vec<f64>)>,
    answer: &Answer,
) -> Vec<Minimum> {
    let mut all: Vec<Minimum> = ends
        .into_iter()
        .filter(|(loss, _)| loss.is_finite())
        .map(|(loss, u)| Minimum {
            x: space.fold(&space.from_unit(&u)).0,
            loss,
        })
        .collect();
    all.sort_by(|a, b| a.loss.total_cmp(&b.loss));
    let mut kept = vec![Minimum {
        x: answer.x_hat.clone(),
        loss: answer.resim_loss,
    }];
    for m in all {
        let same_basin = kept.iter().any(|k| {
            space
                .normalized_distance(&k.x, &m.x)
                .iter()
                .all(|&d| d <= SUCCESS_TOLERANCE / 2.0)
        });
        if !same_basin {
            kept.push(m);
        }
        if kept.len() == MAX_MINIMA {
            break;
        }
    }
    kept
}

/// The first `n` points of `minima` (best first) that lie at least half the success tolerance
/// apart in max-norm: refining one basin twice wastes simulator calls.
fn distinct(minima: Vec<(f64, Vec<f64>)>, n: usize) -> Vec<Vec<f64>> {
    let mut kept: Vec<Vec<f64>> = Vec::with_capacity(n);
    for (_, u) in minima {
        let far = kept.iter().all(|k| {
            k.iter()
                .zip(&u)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
                > SUCCESS_TOLERANCE / 2.0
        });
        if far {
            kept.push(u);
        }
        if kept.len() == n {
            break;
        }
    }
    kept
}

/// Minima of a surrogate landscape: `starts` points (the first is `u0`, the rest uniform) scored
/// in one batch, BFGS on the surrogate from the best `polish` of them, returned best first as
/// (surrogate value, u inside the box). No simulator call.
pub fn surrogate_minima(
    landscape: &SurrogateLoss,
    u0: &[f64],
    starts: usize,
    polish: usize,
    settings: LocalSettings,
    stream: &mut Stream,
) -> Result<Vec<(f64, Vec<f64>)>> {
    let d = u0.len();
    let mut candidates: Vec<Vec<f64>> = vec![u0.to_vec()];
    candidates.extend((1..starts.max(1)).map(|_| (0..d).map(|_| stream.uniform()).collect()));
    let scores = landscape.values(&candidates)?;
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut polished = Vec::with_capacity(polish);
    for &i in order.iter().take(polish.max(1)) {
        let r = minimize(LocalMethod::Bfgs, landscape, &candidates[i], settings);
        if let Some(reason) = r.stopped.as_ref().filter(|s| s.is_failure()) {
            return Err(Error::Surrogate {
                source: reason.to_string().into(),
            });
        }
        polished.push((r.value, landscape_point(landscape, &r.u)));
    }
    polished.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(polished)
}

fn landscape_point(landscape: &SurrogateLoss, u: &[f64]) -> Vec<f64> {
    landscape.space().fold_unit(u).0
}

/// Whether a loss (mean squared residual) fits `target`: χ²/N ≤ 1 + 3√(2/N) with a noise σ,
/// else an exact fit (RMS residual below [`EXACT_FIT`] of the data's spread).
fn fits(target: &Trajectory, noise_std: Option<f64>, loss: f64) -> bool {
    let n = target.len().max(1) as f64;
    match noise_std {
        Some(s) => loss / (s * s) <= 1.0 + 3.0 * (2.0 / n).sqrt(),
        None => {
            let mean = target.iter().sum::<f64>() / n;
            let spread = (target.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
            loss.sqrt() <= EXACT_FIT * spread
        }
    }
}

/// Where local runs ended, as (true loss, u).
type LocalEnds = Vec<(f64, Vec<f64>)>;

/// BFGS on the true loss from each start; the answer is the lowest true loss reached (the
/// problem's own start when there are none), beside every refinement's end as (loss, u).
fn refine_on_truth(
    truth: &TrueLoss,
    starts: impl Iterator<Item = Vec<f64>>,
    problem: &Problem,
    settings: LocalSettings,
) -> (Vec<f64>, Option<StopReason>, LocalEnds, Option<Refinement>) {
    // The answer's stop reason is that of the refinement it comes from: a blow-up in another
    // start does not make a sound answer untrustworthy.
    let mut best: Option<(f64, Vec<f64>, Option<StopReason>, Refinement)> = None;
    let mut ends = Vec::new();
    for u in starts {
        let (r, report) = refine(truth, &u, settings);
        ends.push((r.value, r.u.clone()));
        if best.as_ref().is_none_or(|(b, ..)| r.value < *b) {
            best = Some((r.value, r.u, r.stopped, report));
        }
        // A start that fits is the answer: the rest would spend calls on a settled question.
        if settings.stop_at_fit && fits(problem.target, settings.noise_std, r.value) {
            break;
        }
    }
    match best {
        Some((_, u, stopped, report)) => (u, stopped, ends, Some(report)),
        None => (problem.u0.clone(), None, ends, None),
    }
}

fn answer(
    problem: &Problem,
    u_hat: Vec<f64>,
    sim_calls: usize,
    surrogate_evals: usize,
    started: Instant,
    stopped: Option<StopReason>,
) -> Answer {
    let wall_s = started.elapsed().as_secs_f64();
    let space = problem.sim.param_space();
    let (x_hat, _) = space.fold(&space.from_unit(&u_hat));
    let resim_loss = problem
        .sim
        .loss(&x_hat, problem.target)
        .unwrap_or(f64::INFINITY);
    Answer {
        x_hat,
        resim_loss,
        sim_calls,
        surrogate_evals,
        wall_s,
        stopped,
        rounds: None,
        minima: Vec::new(),
        local_runs: 0,
        field_solves: 0,
        refinement: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A results file names a method by its family's serde name; the command line by
    /// `METHOD_NAMES`; both must be the same word, and every method must map to its own family.
    #[test]
    fn every_family_is_written_and_parsed_by_its_command_line_name() {
        for (family, name) in Family::ALL.into_iter().zip(METHOD_NAMES) {
            assert_eq!(family.name(), name);
            assert_eq!(Family::parse(name), Some(family));
            assert_eq!(
                serde_json::to_string(&family).unwrap(),
                format!("\"{name}\"")
            );
            assert_eq!(Method::parse(name, 1).unwrap().family(), family);
        }
        assert_eq!(Family::parse("newton"), None);
    }
}
