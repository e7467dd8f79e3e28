//! Running every method on held-out targets and summarizing them honestly: the equal-budget
//! baselines take their budget from what the proxy method measurably spent.

use crate::error::{Error, Result};
use crate::library::SampleLibrary;
use crate::local::LocalSettings;
use crate::methods::{Method, Outcome, Problem, run};
use proxyland_physics::rng::Stream;
use proxyland_physics::{Simulator, Trajectory};
use proxyland_proxy::Proxy;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A held-out target: the truth X* (for scoring) and its trajectory Y*.
#[derive(Debug, Clone)]
pub struct Target {
    pub x: Vec<f64>,
    pub y: Trajectory,
}

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    /// Method names (see [`crate::METHOD_NAMES`]).
    pub methods: Vec<String>,
    /// Trained proxies; proxy methods run once per checkpoint.
    pub checkpoints: Vec<PathBuf>,
    pub seed: u64,
    pub settings: LocalSettings,
    /// Budgets of the baselines, as multiples of the proxy method's per-target spend.
    pub budget_multipliers: Vec<usize>,
    /// The training pool as a lookup table, for `pool-bfgs`.
    pub library: Option<SampleLibrary>,
}

/// One method (one checkpoint, one budget) summarized over all targets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MethodSummary {
    pub method: String,
    pub success_rate: f64,
    pub median_resim_loss: f64,
    pub median_param_error: f64,
    pub mean_sim_calls: f64,
    /// Mean wall-clock seconds per target.
    pub wall_s: f64,
    /// Runs stopped early (blow-up, non-finite value).
    pub stopped_runs: usize,
    pub checkpoint: Option<PathBuf>,
    pub noise: Option<f64>,
    pub penalty: Option<f64>,
    /// Per-target simulator budget (budgeted baselines only).
    pub budget: Option<usize>,
}

/// A proxy's one-off cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProxyCost {
    pub checkpoint: PathBuf,
    pub noise: f64,
    pub penalty: f64,
    /// Simulations that made its training pool.
    pub dataset_simulations: usize,
    pub training_seconds: f64,
}

/// The results file (DESIGN.md's format, plus per-target rows and costs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub experiment: String,
    pub spec_version: u32,
    pub seed: u64,
    pub targets: usize,
    pub proxyland_version: String,
    /// The budget unit: mean simulator calls per target of the reference method.
    pub budget_unit: f64,
    /// Which method set the budget unit.
    pub budget_reference: String,
    pub methods: BTreeMap<String, MethodSummary>,
    pub proxy_cost: Vec<ProxyCost>,
    pub rows: Vec<Outcome>,
}

/// A label for a proxy method with a given checkpoint: `proxy-bfgs[s=0.05]`,
/// `proxy-bfgs[s=0,l=0.1]`.
pub fn proxy_label(method: &str, noise: f64, penalty: f64) -> String {
    if penalty > 0.0 {
        format!("{method}[s={noise},l={penalty}]")
    } else {
        format!("{method}[s={noise}]")
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn summarize(label: &str, rows: &[&Outcome]) -> MethodSummary {
    let n = rows.len().max(1) as f64;
    MethodSummary {
        method: label.to_string(),
        success_rate: rows.iter().filter(|r| r.success).count() as f64 / n,
        median_resim_loss: median(rows.iter().map(|r| r.resim_loss).collect()),
        median_param_error: median(rows.iter().map(|r| r.param_error).collect()),
        mean_sim_calls: rows.iter().map(|r| r.sim_calls as f64).sum::<f64>() / n,
        wall_s: rows.iter().map(|r| r.wall_s).sum::<f64>() / n,
        stopped_runs: rows.iter().filter(|r| r.stopped.is_some()).count(),
        checkpoint: None,
        noise: None,
        penalty: None,
        budget: None,
    }
}

/// The start u0 of target `i`: the same for every single-start method.
pub fn start_of(seed: u64, index: usize, d: usize) -> Vec<f64> {
    let mut s = Stream::new(seed, index as u64);
    (0..d).map(|_| s.uniform()).collect()
}

/// A stream for (method label, target), independent of the order methods run in.
fn method_stream(seed: u64, label: &str, index: usize) -> Stream {
    let tag = label.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    Stream::new(seed ^ tag, index as u64)
}

struct Job {
    label: String,
    method: Method,
    checkpoint: Option<usize>,
}

/// Runs the jobs on every target in parallel (proxies are loaded per task: tch tensors are not
/// shareable across threads).
fn run_jobs(
    sim: &dyn Simulator,
    experiment: &str,
    targets: &[Target],
    jobs: &[Job],
    opts: &EvaluateOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<(String, Outcome)>> {
    let d = sim.param_space().dim();
    let shape = sim.trajectory_shape();
    let results: Vec<Result<Vec<(String, Outcome)>>> = (0..targets.len())
        .into_par_iter()
        .map(|i| {
            let proxies: Vec<Proxy> = opts
                .checkpoints
                .iter()
                .map(|p| {
                    let proxy = Proxy::load(p)?;
                    proxy.check_compatible(experiment, d, shape)?;
                    Ok(proxy)
                })
                .collect::<Result<_>>()?;
            let problem = Problem {
                sim,
                target: &targets[i].y,
                x_star: &targets[i].x,
                u0: start_of(opts.seed, i, d),
                index: i,
                trace: None,
                library: opts.library.as_ref(),
            };
            let mut out = Vec::with_capacity(jobs.len());
            for job in jobs {
                let mut stream = method_stream(opts.seed, &job.label, i);
                let proxy = job.checkpoint.map(|c| &proxies[c]);
                let o = run(&job.method, &problem, proxy, opts.settings, &mut stream)?;
                out.push((job.label.clone(), o));
                progress(1);
            }
            Ok(out)
        })
        .collect();
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

/// Evaluates `opts.methods` on `targets`. `progress(runs_done, runs_total)` is called as
/// method runs finish.
pub fn evaluate(
    sim: &dyn Simulator,
    experiment: &str,
    spec_version: u32,
    targets: &[Target],
    opts: &EvaluateOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Results> {
    if targets.is_empty() {
        return Err(Error::Input("no targets to evaluate".into()));
    }
    let methods: Vec<Method> = opts
        .methods
        .iter()
        .map(|m| Method::parse(m, 0))
        .collect::<Result<_>>()?;
    let metas: Vec<proxyland_proxy::CheckpointMeta> = opts
        .checkpoints
        .iter()
        .map(|p| Ok(Proxy::load(p)?.meta().clone()))
        .collect::<Result<_>>()?;
    if methods.iter().any(Method::needs_proxy) && metas.is_empty() {
        return Err(Error::Input(
            "proxy methods need at least one checkpoint (--models)".into(),
        ));
    }
    if methods.iter().any(Method::needs_library) && opts.library.is_none() {
        return Err(Error::Input(
            "pool-bfgs needs the training pool (--data)".into(),
        ));
    }
    // Phase 1: everything without a budget.
    let mut jobs = Vec::new();
    for m in methods.iter().filter(|m| {
        !matches!(
            m,
            Method::MultistartBfgs { .. } | Method::Cmaes { .. } | Method::De { .. }
        )
    }) {
        if m.needs_proxy() {
            for (c, meta) in metas.iter().enumerate() {
                jobs.push(Job {
                    label: proxy_label(m.name(), meta.noise, meta.penalty),
                    method: m.clone(),
                    checkpoint: Some(c),
                });
            }
        } else {
            jobs.push(Job {
                label: m.name().to_string(),
                method: m.clone(),
                checkpoint: None,
            });
        }
    }
    let budgeted: Vec<&Method> = methods
        .iter()
        .filter(|m| {
            matches!(
                m,
                Method::MultistartBfgs { .. } | Method::Cmaes { .. } | Method::De { .. }
            )
        })
        .collect();
    let total = targets.len() * (jobs.len() + budgeted.len() * opts.budget_multipliers.len());
    let done = std::sync::atomic::AtomicUsize::new(0);
    let tick = |n: usize| {
        let now = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
        progress(now, total);
    };
    let mut rows = run_jobs(sim, experiment, targets, &jobs, opts, &tick)?;

    // The budget unit: what the paper's method (proxy-bfgs) spent per target, over all
    // checkpoints; without proxies, what single-start BFGS spent.
    let mean_calls = |prefix: &str| {
        let calls: Vec<f64> = rows
            .iter()
            .filter(|(l, _)| l.starts_with(prefix))
            .map(|(_, o)| o.sim_calls as f64)
            .collect();
        (!calls.is_empty()).then(|| calls.iter().sum::<f64>() / calls.len() as f64)
    };
    let (budget_unit, budget_reference) = match mean_calls("proxy-bfgs[") {
        Some(b) => (b, "proxy-bfgs".to_string()),
        None => (mean_calls("bfgs").unwrap_or(100.0), "bfgs".to_string()),
    };
    // Phase 2: the baselines at multiples of that budget.
    let mut budget_of = BTreeMap::new();
    let mut jobs2 = Vec::new();
    for m in &budgeted {
        for &k in &opts.budget_multipliers {
            let budget = ((budget_unit * k as f64).ceil() as usize).max(1);
            let label = format!("{}@{k}x", m.name());
            budget_of.insert(label.clone(), budget);
            jobs2.push(Job {
                label,
                method: Method::parse(m.name(), budget)?,
                checkpoint: None,
            });
        }
    }
    rows.extend(run_jobs(sim, experiment, targets, &jobs2, opts, &tick)?);

    let mut methods_out = BTreeMap::new();
    let labels: Vec<String> = jobs.iter().chain(&jobs2).map(|j| j.label.clone()).collect();
    for (label, job) in labels.iter().zip(jobs.iter().chain(&jobs2)) {
        let these: Vec<&Outcome> = rows
            .iter()
            .filter(|(l, _)| l == label)
            .map(|(_, o)| o)
            .collect();
        let mut s = summarize(label, &these);
        if let Some(c) = job.checkpoint {
            s.checkpoint = Some(opts.checkpoints[c].clone());
            s.noise = Some(metas[c].noise);
            s.penalty = Some(metas[c].penalty);
        }
        s.budget = budget_of.get(label).copied();
        methods_out.insert(label.clone(), s);
    }
    let proxy_cost = metas
        .iter()
        .zip(&opts.checkpoints)
        .map(|(m, p)| ProxyCost {
            checkpoint: p.clone(),
            noise: m.noise,
            penalty: m.penalty,
            dataset_simulations: m.dataset.samples,
            training_seconds: m.training.seconds,
        })
        .collect();
    Ok(Results {
        experiment: experiment.to_string(),
        spec_version,
        seed: opts.seed,
        targets: targets.len(),
        proxyland_version: env!("CARGO_PKG_VERSION").to_string(),
        budget_unit,
        budget_reference,
        methods: methods_out,
        proxy_cost,
        rows: rows
            .into_iter()
            .map(|(label, mut o)| {
                o.method = label;
                o
            })
            .collect(),
    })
}

/// After how many targets a proxy's one-off cost (`dataset_simulations`) is repaid, when each
/// target costs `proxy_calls` with the proxy and `baseline_calls` with a baseline:
/// N* = K / (c_baseline − c_proxy). `None` when the proxy never catches up.
///
/// ```
/// assert_eq!(proxyland_optim::break_even_targets(1000, 50.0, 250.0), Some(5.0));
/// assert_eq!(proxyland_optim::break_even_targets(1000, 50.0, 40.0), None);
/// ```
pub fn break_even_targets(
    dataset_simulations: usize,
    proxy_calls: f64,
    baseline_calls: f64,
) -> Option<f64> {
    (baseline_calls > proxy_calls)
        .then(|| dataset_simulations as f64 / (baseline_calls - proxy_calls))
}
