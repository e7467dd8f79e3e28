//! Every method of the spec, run on one target with honest accounting.

use crate::error::{Error, Result};
use crate::global::{cma_es, differential_evolution, multistart_bfgs};
use crate::library::SampleLibrary;
use crate::local::{LocalMethod, LocalSettings, minimize};
use crate::objective::{ProxyLoss, TrueLoss};
use proxyland_physics::rng::Stream;
use proxyland_physics::{Simulator, Trajectory};
use proxyland_proxy::Proxy;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// A method to run on a target.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// BFGS on the true loss from the target's start.
    Bfgs,
    Lbfgs,
    /// Steepest descent with More–Thuente line search.
    Gd,
    Adam,
    /// BFGS on the proxy only (no simulator call until the final resimulation).
    Proxy,
    /// The paper's two stages: BFGS on the proxy, then BFGS on the true loss from there.
    ProxyBfgs,
    /// Many starts on the proxy (free), the best `refine` by proxy value refined on the true loss.
    ProxyMultistart {
        starts: usize,
        refine: usize,
    },
    /// The training pool without a network: the `refine` samples whose stored trajectories are
    /// nearest to Y* (free), each refined by BFGS on the true loss.
    PoolBfgs {
        refine: usize,
    },
    /// True-loss baselines under a per-target simulator-call budget.
    MultistartBfgs {
        budget: usize,
    },
    Cmaes {
        budget: usize,
    },
    De {
        budget: usize,
    },
}

/// Method names of the command line.
pub const METHOD_NAMES: [&str; 11] = [
    "bfgs",
    "lbfgs",
    "gd",
    "adam",
    "proxy",
    "proxy-bfgs",
    "proxy-multistart",
    "pool-bfgs",
    "multistart-bfgs",
    "cmaes",
    "de",
];

impl Method {
    /// Parses a method name; budgeted baselines get `budget`.
    pub fn parse(name: &str, budget: usize) -> Result<Method> {
        Ok(match name {
            "bfgs" => Method::Bfgs,
            "lbfgs" => Method::Lbfgs,
            "gd" => Method::Gd,
            "adam" => Method::Adam,
            "proxy" => Method::Proxy,
            "proxy-bfgs" => Method::ProxyBfgs,
            "proxy-multistart" => Method::ProxyMultistart {
                starts: 256,
                refine: 3,
            },
            "pool-bfgs" => Method::PoolBfgs { refine: 3 },
            "multistart-bfgs" => Method::MultistartBfgs { budget },
            "cmaes" => Method::Cmaes { budget },
            "de" => Method::De { budget },
            other => return Err(Error::UnknownMethod(other.into(), METHOD_NAMES.join(", "))),
        })
    }

    /// Whether the method needs a trained proxy.
    pub fn needs_proxy(&self) -> bool {
        matches!(
            self,
            Method::Proxy | Method::ProxyBfgs | Method::ProxyMultistart { .. }
        )
    }

    /// Whether the method needs the library of simulated samples (the training pool).
    pub fn needs_library(&self) -> bool {
        matches!(self, Method::PoolBfgs { .. })
    }

    /// The base name (`de`, `proxy-bfgs`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Method::Bfgs => "bfgs",
            Method::Lbfgs => "lbfgs",
            Method::Gd => "gd",
            Method::Adam => "adam",
            Method::Proxy => "proxy",
            Method::ProxyBfgs => "proxy-bfgs",
            Method::ProxyMultistart { .. } => "proxy-multistart",
            Method::PoolBfgs { .. } => "pool-bfgs",
            Method::MultistartBfgs { .. } => "multistart-bfgs",
            Method::Cmaes { .. } => "cmaes",
            Method::De { .. } => "de",
        }
    }
}

/// One method on one target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub method: String,
    pub target: usize,
    /// The answer X̂ (folded into the box).
    pub x_hat: Vec<f64>,
    pub success: bool,
    /// L(Y*, X̂) by one extra simulation (not charged to the method).
    pub resim_loss: f64,
    /// max_j |X̂_j − X*_j| / (hi_j − lo_j), periodic distance where periodic.
    pub param_error: f64,
    /// Simulator calls the method spent (forward solves, with or without gradient).
    pub sim_calls: usize,
    /// Proxy network evaluations (free of simulator calls).
    pub proxy_evals: usize,
    pub wall_s: f64,
    /// Why the method stopped early, if it did (a blow-up, the budget...).
    pub stopped: Option<String>,
}

/// Tolerance of the spec's success criterion, as a fraction of each box width.
pub const SUCCESS_TOLERANCE: f64 = 0.01;

/// Success: every coordinate within 1% of its box width of the truth (periodic distance).
pub fn is_success(sim: &dyn Simulator, x_hat: &[f64], x_star: &[f64]) -> (bool, f64) {
    let dist = sim.param_space().normalized_distance(x_hat, x_star);
    let worst = dist.iter().cloned().fold(0.0, f64::max);
    (dist.iter().all(|&d| d <= SUCCESS_TOLERANCE), worst)
}

/// One inverse problem: its simulator, observed trajectory, true X* (for scoring only) and
/// the start u0 every single-start method uses.
pub struct Problem<'a> {
    pub sim: &'a dyn Simulator,
    pub target: &'a Trajectory,
    pub x_star: &'a [f64],
    pub u0: Vec<f64>,
    pub index: usize,
    /// Record every objective evaluation here (single-start and proxy methods).
    pub trace: Option<&'a crate::objective::Trace>,
    /// Already simulated samples (the training pool), for `pool-bfgs`.
    pub library: Option<&'a SampleLibrary>,
}

/// Runs `method` on `problem`. Never fails as a whole: a failing simulation ends the method
/// early and is recorded in [`Outcome::stopped`].
pub fn run(
    method: &Method,
    problem: &Problem,
    proxy: Option<&Proxy>,
    settings: LocalSettings,
    stream: &mut Stream,
) -> Result<Outcome> {
    let started = Instant::now();
    let truth = TrueLoss::new(problem.sim, problem.target).with_trace(problem.trace);
    let mut proxy_evals = 0;
    let (u_hat, stopped) = match method {
        Method::Bfgs | Method::Lbfgs | Method::Gd | Method::Adam => {
            let local = match method {
                Method::Bfgs => LocalMethod::Bfgs,
                Method::Lbfgs => LocalMethod::Lbfgs,
                Method::Gd => LocalMethod::SteepestDescent,
                _ => LocalMethod::Adam,
            };
            let r = minimize(local, &truth, &problem.u0, settings);
            (r.u, r.stopped)
        }
        Method::Proxy | Method::ProxyBfgs | Method::ProxyMultistart { .. } => {
            let proxy = proxy
                .ok_or_else(|| Error::Input(format!("{} needs a checkpoint", method.name())))?;
            let bound = proxy.bind(problem.target)?;
            let surrogate = ProxyLoss::new(&bound, problem.u0.len()).with_trace(problem.trace);
            let result = match method {
                Method::ProxyMultistart { starts, refine } => proxy_multistart(
                    &surrogate, &truth, problem, *starts, *refine, settings, stream,
                )?,
                _ => {
                    let stage1 = minimize(LocalMethod::Bfgs, &surrogate, &problem.u0, settings);
                    if *method == Method::Proxy {
                        (stage1.u, stage1.stopped)
                    } else {
                        let stage2 = minimize(LocalMethod::Bfgs, &truth, &stage1.u, settings);
                        (stage2.u, stage2.stopped)
                    }
                }
            };
            proxy_evals = surrogate.evaluations();
            result
        }
        Method::PoolBfgs { refine } => {
            let library = problem
                .library
                .ok_or_else(|| Error::Input("pool-bfgs needs the training pool (--data)".into()))?;
            let nearest = library.nearest(problem.target, (*refine).max(1))?;
            refine_on_truth(
                &truth,
                nearest.into_iter().map(|(_, u)| u),
                problem,
                settings,
            )
        }
        Method::MultistartBfgs { budget } | Method::Cmaes { budget } | Method::De { budget } => {
            let limited = TrueLoss::new(problem.sim, problem.target).with_budget((*budget).max(1));
            let r = match method {
                Method::MultistartBfgs { .. } => multistart_bfgs(&limited, settings, stream),
                Method::Cmaes { .. } => cma_es(&limited, stream),
                _ => differential_evolution(&limited, stream),
            };
            let wall_s = started.elapsed().as_secs_f64();
            return score(method, problem, r.u, limited.calls(), 0, wall_s, None);
        }
    };
    let wall_s = started.elapsed().as_secs_f64();
    score(
        method,
        problem,
        u_hat,
        truth.calls(),
        proxy_evals,
        wall_s,
        stopped,
    )
}

/// The best of many proxy starts: a batch of random points scored in one pass, BFGS on the
/// proxy from the best few, then the `refine` best by proxy value refined on the true loss.
fn proxy_multistart(
    surrogate: &ProxyLoss,
    truth: &TrueLoss,
    problem: &Problem,
    starts: usize,
    refine: usize,
    settings: LocalSettings,
    stream: &mut Stream,
) -> Result<(Vec<f64>, Option<String>)> {
    let d = problem.u0.len();
    let mut candidates: Vec<Vec<f64>> = vec![problem.u0.clone()];
    candidates.extend((1..starts.max(1)).map(|_| (0..d).map(|_| stream.uniform()).collect()));
    let scores = surrogate.values(&candidates)?;
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut polished: Vec<(f64, Vec<f64>)> = order
        .iter()
        .take((4 * refine).max(1))
        .map(|&i| {
            let r = minimize(LocalMethod::Bfgs, surrogate, &candidates[i], settings);
            (r.value, r.u)
        })
        .collect();
    polished.sort_by(|a, b| a.0.total_cmp(&b.0));
    let chosen = polished.into_iter().take(refine.max(1)).map(|(_, u)| u);
    Ok(refine_on_truth(truth, chosen, problem, settings))
}

/// BFGS on the true loss from each start; the answer is the lowest true loss reached (the
/// problem's own start when there are none).
fn refine_on_truth(
    truth: &TrueLoss,
    starts: impl Iterator<Item = Vec<f64>>,
    problem: &Problem,
    settings: LocalSettings,
) -> (Vec<f64>, Option<String>) {
    let mut best: Option<(f64, Vec<f64>)> = None;
    let mut stopped = None;
    for u in starts {
        let r = minimize(LocalMethod::Bfgs, truth, &u, settings);
        if r.stopped.is_some() {
            stopped = r.stopped.clone();
        }
        if best.as_ref().is_none_or(|(b, _)| r.value < *b) {
            best = Some((r.value, r.u));
        }
    }
    (
        best.map(|b| b.1).unwrap_or_else(|| problem.u0.clone()),
        stopped,
    )
}

fn score(
    method: &Method,
    problem: &Problem,
    u_hat: Vec<f64>,
    sim_calls: usize,
    proxy_evals: usize,
    wall_s: f64,
    stopped: Option<String>,
) -> Result<Outcome> {
    let space = problem.sim.param_space();
    let (x_hat, _) = space.fold(&space.from_unit(&u_hat));
    let (success, param_error) = is_success(problem.sim, &x_hat, problem.x_star);
    let resim_loss = problem
        .sim
        .loss(&x_hat, problem.target)
        .unwrap_or(f64::INFINITY);
    Ok(Outcome {
        method: method.name().to_string(),
        target: problem.index,
        x_hat,
        success,
        resim_loss,
        param_error,
        sim_calls,
        proxy_evals,
        wall_s,
        stopped,
    })
}
