//! The evaluation protocol (spec v2): every method on held-out targets, with rules that cannot
//! favour any method.
//!
//! - Targets come in two splits. Anything chosen (a surrogate's σ and λ) is chosen on the
//!   validation split ([`select_configuration`]); the test split is scored once.
//! - Budgeted baselines run at multiples of what each surrogate method (proxy-bfgs and
//!   proxy-multistart, separately) measurably spent per target, with the headline configuration
//!   setting the unit.
//! - Method identity is typed ([`MethodId`]); labels are for display and are never parsed.
//! - Each surrogate's own quality is measured too ([`SurrogateQuality`]): where its argmin lies,
//!   and how well it ranks the true loss.

use crate::error::{Error, Result};
use crate::library::SampleLibrary;
use crate::local::{LocalSettings, StopReason};
use crate::methods::{
    Answer, BUDGET_REFERENCES, Method, Problem, SimBudget, is_success, run, surrogate_minima,
};
use crate::objective::{SurrogateInfo, SurrogateLoss, SurrogateModel};
use crate::stats::{PairedComparison, Z95, spearman, wilson_interval};
use proxyland_physics::rng::Stream;
use proxyland_physics::{Simulator, Trajectory};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A held-out target: the truth X* (for scoring) and its trajectory Y*.
#[derive(Debug, Clone)]
pub struct Target {
    /// X*.
    pub x: Vec<f64>,
    /// Y* = P(Y0, X*).
    pub y: Trajectory,
}

/// Which held-out targets: validation (where every choice is made) or test (scored once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetSplit {
    /// Targets for choices: checkpoints, σ and λ.
    Validation,
    /// Targets for the reported numbers.
    Test,
}

impl TargetSplit {
    /// The split's name in files and messages.
    pub fn name(self) -> &'static str {
        match self {
            TargetSplit::Validation => "validation",
            TargetSplit::Test => "test",
        }
    }
}

/// A trained surrogate's setting: the regularization it was trained with and its seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SurrogateConfig {
    /// Noise-injection σ.
    pub noise: f64,
    /// Gradient-penalty λ.
    pub penalty: f64,
    /// Training seed.
    pub seed: u64,
}

impl SurrogateConfig {
    /// The configuration of a loaded surrogate.
    pub fn of(info: &SurrogateInfo) -> Self {
        SurrogateConfig {
            noise: info.noise,
            penalty: info.penalty,
            seed: info.seed,
        }
    }

    /// Whether two surrogates share σ and λ (seeds may differ).
    pub fn same_setting(&self, noise: f64, penalty: f64) -> bool {
        self.noise == noise && self.penalty == penalty
    }
}

/// A budgeted baseline's budget: `multiple` × what `reference` spent per target, in simulator
/// calls or in field solves (exactly one of the two is set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// The multiple (1, 10, ...).
    pub multiple: usize,
    /// The method family whose spend is the unit (`proxy-multistart`, `proxy-bfgs`, or `bfgs`
    /// when no surrogate ran).
    pub reference: String,
    /// Simulator calls per target, for a budget in calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<usize>,
    /// Field solves per target, for a budget in field solves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_solves: Option<usize>,
}

impl Budget {
    /// The spend it allows per target.
    pub fn spend(&self) -> SimBudget {
        match (self.calls, self.field_solves) {
            (_, Some(n)) => SimBudget::FieldSolves(n),
            (Some(n), None) => SimBudget::Calls(n),
            (None, None) => SimBudget::Calls(0),
        }
    }

    /// Whether it is counted in field solves.
    pub fn in_field_solves(&self) -> bool {
        self.field_solves.is_some()
    }
}

/// Which method a summary or a row belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodId {
    /// The method family (`bfgs`, `proxy-multistart`, `de`, ...).
    pub family: String,
    /// Surrogate methods: which trained surrogate.
    pub surrogate: Option<SurrogateConfig>,
    /// Budgeted baselines: the budget.
    pub budget: Option<Budget>,
    /// Inverse networks: which variant (`supervised`, `physics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl MethodId {
    /// A method without surrogate or budget.
    pub fn plain(family: &str) -> Self {
        MethodId {
            family: family.to_string(),
            surrogate: None,
            budget: None,
            variant: None,
        }
    }

    /// A display label: `proxy-multistart[s=0.05,l=0,seed=0]`, `de@10x(proxy-multistart)`
    /// (a budget in calls), `de@10x-solves(proxy-multistart)` (in field solves),
    /// `inverse-net[physics]`.
    pub fn label(&self) -> String {
        let mut label = self.family.clone();
        if let Some(v) = &self.variant {
            label.push_str(&format!("[{v}]"));
        }
        if let Some(c) = &self.surrogate {
            label.push_str(&format!("[s={},l={},seed={}]", c.noise, c.penalty, c.seed));
        }
        if let Some(b) = &self.budget {
            let unit = if b.in_field_solves() { "-solves" } else { "" };
            label.push_str(&format!("@{}x{unit}({})", b.multiple, b.reference));
        }
        label
    }
}

/// The headline surrogate configuration and how it was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// The chosen σ.
    pub noise: f64,
    /// The chosen λ.
    pub penalty: f64,
    /// The rule, in words.
    pub rule: String,
    /// Validation targets it was chosen on.
    pub validation_targets: usize,
    /// Its proxy-multistart success on them.
    pub validation_success: f64,
    /// Its surrogate's median argmin error on them.
    pub validation_argmin_error: f64,
    /// Every (σ, λ) it was chosen among, with its mean validation success (empty in files
    /// from before candidates were recorded).
    #[serde(default)]
    pub candidates: Vec<Candidate>,
}

/// One configuration a [`Selection`] was chosen among.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// σ.
    pub noise: f64,
    /// λ.
    pub penalty: f64,
    /// Mean proxy-multistart success on the validation targets over its seeds.
    pub validation_success: f64,
}

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    /// Method names (see [`crate::METHOD_NAMES`]).
    pub methods: Vec<String>,
    /// Which targets these are (sets the starts' random stream).
    pub split: TargetSplit,
    /// The seed of starts and of every method's random stream.
    pub seed: u64,
    /// Local-solver rules (the spec's protocol by default).
    pub settings: LocalSettings,
    /// Budgets of the baselines in simulator calls, as multiples of each surrogate method's
    /// per-target spend in calls.
    pub budget_multipliers: Vec<usize>,
    /// Budgets of the baselines in field solves, as multiples of each surrogate method's
    /// per-target spend in field solves (none by default; spec v3's scaling study runs both).
    pub solve_budget_multipliers: Vec<usize>,
    /// The training pool as a lookup table, for `pool-bfgs`.
    pub library: Option<SampleLibrary>,
    /// Simulations that made the pool (the one-off cost of pool-bfgs and of the surrogates).
    pub pool_simulations: Option<usize>,
    /// The headline configuration (chosen on validation targets); it sets the budget unit.
    pub selection: Option<Selection>,
    /// Surrogate quality: grid points per axis of the rank-correlation slice (0: skip it) and
    /// how many targets it is measured on.
    pub quality_grid: usize,
    /// Targets (the first ones) of the rank correlation.
    pub quality_targets: usize,
    /// Inverse networks' predictions for these targets, one set per network: the starts of
    /// `inverse-net`.
    pub guesses: Vec<InverseGuesses>,
}

/// What one trained inverse network predicted for every target of an evaluation, and what it
/// cost to make (the method's one-off cost, reported beside its per-target spend).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InverseGuesses {
    /// Which variant (`supervised`, `physics`): the method label's suffix.
    pub variant: String,
    /// The checkpoint it came from.
    pub path: std::path::PathBuf,
    /// One prediction per target, in normalized coordinates u ∈ [0, 1]^d.
    #[serde(skip)]
    pub u: Vec<Vec<f64>>,
    /// Simulator calls spent in training (physics fine-tuning); the pool's are not counted here.
    pub training_sim_calls: usize,
    /// Wall-clock seconds of training.
    pub training_seconds: f64,
}

impl EvaluateOptions {
    /// The spec's protocol for `methods` on the test split, baselines at 1× and 10×.
    pub fn new(methods: &[&str], seed: u64) -> Self {
        EvaluateOptions {
            methods: methods.iter().map(|m| m.to_string()).collect(),
            split: TargetSplit::Test,
            seed,
            settings: LocalSettings::default(),
            budget_multipliers: vec![1, 10],
            solve_budget_multipliers: Vec::new(),
            library: None,
            pool_simulations: None,
            selection: None,
            quality_grid: 16,
            quality_targets: 5,
            guesses: Vec::new(),
        }
    }
}

/// One method on one target, scored against the truth.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    /// The method's display label (its [`MethodId::label`]).
    pub method: String,
    /// The target's index in its split.
    pub target: usize,
    /// What the method answered.
    #[serde(flatten)]
    pub answer: Answer,
    /// Every coordinate within 1% of the box of X*.
    pub success: bool,
    /// max_j |X̂_j − X*_j| / (hi_j − lo_j), periodic distance where periodic.
    pub param_error: f64,
}

/// One method (one surrogate, one budget) summarized over all targets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MethodSummary {
    /// Which method.
    pub id: MethodId,
    /// Its display label.
    pub label: String,
    /// Targets.
    pub n: usize,
    /// Targets solved.
    pub successes: usize,
    /// successes / n.
    pub success_rate: f64,
    /// The 95% Wilson interval of the success rate.
    pub success_interval: (f64, f64),
    /// Median L(Y*, X̂).
    pub median_resim_loss: f64,
    /// Median worst normalized parameter error.
    pub median_param_error: f64,
    /// Mean simulator calls per target.
    pub mean_sim_calls: f64,
    /// Mean field solves per target (a value call 1, a call with gradient or Jacobian 1 + d).
    #[serde(default)]
    pub mean_field_solves: f64,
    /// Runs whose refinement ended at its iteration cap (not by a convergence test).
    #[serde(default)]
    pub refinements_capped: usize,
    /// Mean wall-clock seconds per target.
    pub wall_s: f64,
    /// Runs whose answer rests on a failed evaluation (blow-up, non-finite value).
    pub failed_runs: usize,
    /// Global methods: mean generations (DE, CMA-ES) or local runs (multi-start) per target.
    pub mean_rounds: Option<f64>,
    /// Whether this is a run of the headline surrogate configuration.
    pub headline: bool,
}

/// How good a surrogate is on its own, before any simulator call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SurrogateQuality {
    /// Per target: the worst normalized error of the surrogate's own argmin (256 starts, BFGS on
    /// the surrogate from the best 4), against X*.
    pub argmin_errors: Vec<f64>,
    /// Their median.
    pub median_argmin_error: f64,
    /// Share of targets whose surrogate argmin is within 2% of the box of X*.
    pub argmin_within_2pct: f64,
    /// Mean Spearman rank correlation of predicted against true loss on a grid through X*
    /// (the landscape slice), over the first targets; None when not measured.
    pub rank_correlation: Option<f64>,
}

/// A surrogate that took part, with its quality on these targets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SurrogateReport {
    /// What it is (path, regularization, one-off cost).
    pub info: SurrogateInfo,
    /// How good it is alone.
    pub quality: SurrogateQuality,
}

/// How the refining methods of an evaluation refined: what a report needs to describe the
/// numbers without being told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    /// The refinement rule (`bfgs`, `lm`, `bfgs+lm`).
    pub refine: String,
    /// Whether refinements fitted a quarter, then half, then all of the frames.
    pub continuation: bool,
    /// Whether multi-start refinements stopped at the first start that fits.
    pub stop_at_fit: bool,
    /// Local-solver iteration cap.
    pub max_iters: u64,
}

impl Protocol {
    /// The protocol of these settings.
    pub fn of(settings: &LocalSettings) -> Self {
        Protocol {
            refine: settings.refine.name().to_string(),
            continuation: settings.continuation,
            stop_at_fit: settings.stop_at_fit,
            max_iters: settings.max_iters,
        }
    }

    /// In words: "LM refinement, horizon continuation, multi-starts stop at a fit".
    pub fn describe(&self) -> String {
        let mut words = vec![format!("{} refinement", self.refine.to_uppercase())];
        words.push(if self.continuation {
            "horizon continuation (¼, ½, all frames)".into()
        } else {
            "every frame from the start".into()
        });
        if self.stop_at_fit {
            words.push("multi-starts stop at the first start that fits".into());
        }
        words.join(", ")
    }
}

/// The budget unit one surrogate method set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BudgetUnit {
    /// The method family whose spend it is.
    pub reference: String,
    /// Its mean simulator calls per target (over the headline configuration's surrogates).
    pub calls_per_target: f64,
    /// Its mean field solves per target (0 in files from before field solves were counted).
    #[serde(default)]
    pub field_solves_per_target: f64,
}

/// Where and how an evaluation ran (filled by the caller that knows: threads, libtorch).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Environment {
    /// CPU model and core count.
    pub machine: String,
    /// Worker threads of the evaluation (rayon).
    pub threads: usize,
    /// Anything else that can change results across machines (libtorch build, its threads).
    pub notes: Vec<String>,
}

/// The results file (DESIGN.md's format, spec v2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// The layout of this file ([`RESULTS_FORMAT_VERSION`] when written by this build; files
    /// from before the field existed read as 1).
    #[serde(default = "format_one")]
    pub format_version: u32,
    /// The experiment.
    pub experiment: String,
    /// The spec version of the experiment's config.
    pub spec_version: u32,
    /// Which targets.
    pub split: TargetSplit,
    /// The seed of starts and method streams.
    pub seed: u64,
    /// Number of targets.
    pub targets: usize,
    /// The proxyland version that wrote it.
    pub proxyland_version: String,
    /// Machine and threads.
    pub environment: Environment,
    /// Simulations that made the pool, if one was used.
    pub pool_simulations: Option<usize>,
    /// The headline configuration, if one was chosen on validation targets.
    pub selection: Option<Selection>,
    /// The units of the baselines' budgets.
    pub budget_units: Vec<BudgetUnit>,
    /// How refining methods refined (absent in files from before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// One summary per method, surrogate and budget.
    pub methods: Vec<MethodSummary>,
    /// Every surrogate that took part.
    pub surrogates: Vec<SurrogateReport>,
    /// Every inverse network that took part (`inverse-net`), with its one-off cost.
    #[serde(default)]
    pub inverse_networks: Vec<InverseGuesses>,
    /// One row per method and target.
    pub rows: Vec<Outcome>,
}

/// The results layout this build writes. 3: budgets may be in field solves (a budget holds
/// `calls` or `field_solves`), units carry field solves per target. 2: rows carry field solves, local runs, minima and
/// the refinement (with its horizons); summaries carry mean field solves and capped
/// refinements. 1: everything before (read with those fields empty).
pub const RESULTS_FORMAT_VERSION: u32 = 3;

fn format_one() -> u32 {
    1
}

/// The median, NaN for no values (a summary of no rows has no median).
fn median(v: Vec<f64>) -> f64 {
    crate::stats::median(v).unwrap_or(f64::NAN)
}

fn summarize(id: &MethodId, rows: &[&Outcome], headline: bool) -> MethodSummary {
    let n = rows.len();
    let successes = rows.iter().filter(|r| r.success).count();
    let nf = n.max(1) as f64;
    MethodSummary {
        id: id.clone(),
        label: id.label(),
        n,
        successes,
        success_rate: successes as f64 / nf,
        success_interval: wilson_interval(successes, n, Z95),
        median_resim_loss: median(rows.iter().map(|r| r.answer.resim_loss).collect()),
        median_param_error: median(rows.iter().map(|r| r.param_error).collect()),
        mean_sim_calls: rows.iter().map(|r| r.answer.sim_calls as f64).sum::<f64>() / nf,
        mean_field_solves: rows
            .iter()
            .map(|r| r.answer.field_solves as f64)
            .sum::<f64>()
            / nf,
        refinements_capped: rows
            .iter()
            .filter(|r| {
                r.answer
                    .refinement
                    .as_ref()
                    .is_some_and(|f| f.stop == "iterations")
            })
            .count(),
        wall_s: rows.iter().map(|r| r.answer.wall_s).sum::<f64>() / nf,
        failed_runs: rows.iter().filter(|r| r.answer.failed()).count(),
        mean_rounds: rows
            .iter()
            .map(|r| r.answer.rounds.map(|k| k as f64))
            .sum::<Option<f64>>()
            .map(|total| total / nf),
        headline,
    }
}

/// The start u0 of target `index` of a split: the same for every single-start method.
pub fn start_of(seed: u64, split: TargetSplit, index: usize, d: usize) -> Vec<f64> {
    let stream_seed = match split {
        TargetSplit::Test => seed,
        // A stream of its own, so validation starts are not the test starts.
        TargetSplit::Validation => seed ^ 0x7661_6c69_6461_7465,
    };
    let mut s = Stream::new(stream_seed, index as u64);
    (0..d).map(|_| s.uniform()).collect()
}

/// A stream for (method label, split, target), independent of the order methods run in.
fn method_stream(seed: u64, split: TargetSplit, label: &str, index: usize) -> Stream {
    let tag = label
        .bytes()
        .chain(split.name().bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    Stream::new(seed ^ tag, index as u64)
}

struct Job {
    id: MethodId,
    method: Method,
    surrogate: Option<usize>,
    /// Inverse networks: which of `EvaluateOptions::guesses` is the start.
    guess: Option<usize>,
}

/// Runs the jobs on every target in parallel; rows come back in (target, job) order.
fn run_jobs(
    sim: &dyn Simulator,
    targets: &[Target],
    jobs: &[Job],
    surrogates: &[&dyn SurrogateModel],
    opts: &EvaluateOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Outcome>> {
    let d = sim.param_space().dim();
    let per_target: Vec<Result<Vec<Outcome>>> = (0..targets.len())
        .into_par_iter()
        .map(|i| {
            let problem = Problem {
                sim,
                target: &targets[i].y,
                u0: start_of(opts.seed, opts.split, i, d),
                trace: None,
                library: opts.library.as_ref(),
            };
            let mut out = Vec::with_capacity(jobs.len());
            for job in jobs {
                let label = job.id.label();
                let mut stream = method_stream(opts.seed, opts.split, &label, i);
                let model = job.surrogate.map(|c| surrogates[c]);
                let from_guess;
                let problem = match job.guess {
                    Some(g) => {
                        from_guess = Problem {
                            u0: opts.guesses[g].u[i].clone(),
                            ..problem.clone()
                        };
                        &from_guess
                    }
                    None => &problem,
                };
                let answer = run(&job.method, problem, model, opts.settings, &mut stream)?;
                let (success, param_error) = is_success(sim, &answer.x_hat, &targets[i].x);
                out.push(Outcome {
                    method: label,
                    target: i,
                    answer,
                    success,
                    param_error,
                });
                progress(1);
            }
            Ok(out)
        })
        .collect();
    let mut all = Vec::new();
    for r in per_target {
        all.extend(r?);
    }
    Ok(all)
}

/// Points of the landscape slice through `x_star` (the last two coordinates vary over the
/// box, the others stay), in normalized coordinates.
fn slice_points(d: usize, u_star: &[f64], n: usize) -> Vec<Vec<f64>> {
    let axes: Vec<usize> = if d == 1 { vec![0] } else { vec![d - 2, d - 1] };
    let cols = if axes.len() > 1 { n } else { 1 };
    let mut points = Vec::with_capacity(n * cols);
    for i in 0..n {
        for j in 0..cols {
            let mut u = u_star.to_vec();
            u[axes[0]] = (i as f64 + 0.5) / n as f64;
            if axes.len() > 1 {
                u[axes[1]] = (j as f64 + 0.5) / n as f64;
            }
            points.push(u);
        }
    }
    points
}

/// Each surrogate's quality on `targets`: its own argmin against X*, and its rank correlation
/// with the true loss on the landscape slice through X* of the first targets.
fn surrogate_quality(
    sim: &dyn Simulator,
    targets: &[Target],
    surrogates: &[&dyn SurrogateModel],
    opts: &EvaluateOptions,
) -> Result<Vec<SurrogateQuality>> {
    let space = sim.param_space();
    let d = space.dim();
    let graded = targets.len().min(opts.quality_targets);
    // The true loss on each slice, shared by all surrogates.
    let true_slices: Vec<Vec<f64>> = if opts.quality_grid >= 2 {
        (0..graded)
            .into_par_iter()
            .map(|i| {
                slice_points(d, &space.to_unit(&targets[i].x), opts.quality_grid)
                    .iter()
                    .map(|u| Ok(sim.loss(&space.from_unit(u), &targets[i].y)?))
                    .collect::<Result<Vec<f64>>>()
            })
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    surrogates
        .iter()
        .map(|model| {
            let per_target: Vec<Result<(f64, Option<f64>)>> = (0..targets.len())
                .into_par_iter()
                .map(|i| {
                    let bound = model
                        .bind(&targets[i].y)
                        .map_err(|source| Error::Surrogate { source })?;
                    let landscape = SurrogateLoss::new(bound.as_ref(), space);
                    let mut stream = method_stream(opts.seed, opts.split, "surrogate-argmin", i);
                    let u0 = start_of(opts.seed, opts.split, i, d);
                    let minima =
                        surrogate_minima(&landscape, &u0, 256, 4, opts.settings, &mut stream)?;
                    let u_hat = &minima[0].1;
                    let (_, error) = is_success(sim, &space.from_unit(u_hat), &targets[i].x);
                    let rho = match true_slices.get(i) {
                        Some(truth) => {
                            let points =
                                slice_points(d, &space.to_unit(&targets[i].x), opts.quality_grid);
                            let predicted = landscape.values(&points)?;
                            Some(spearman(&predicted, truth))
                        }
                        None => None,
                    };
                    Ok((error, rho))
                })
                .collect();
            let per_target = per_target.into_iter().collect::<Result<Vec<_>>>()?;
            let argmin_errors: Vec<f64> = per_target.iter().map(|(e, _)| *e).collect();
            let rhos: Vec<f64> = per_target.iter().filter_map(|(_, r)| *r).collect();
            let n = argmin_errors.len().max(1) as f64;
            Ok(SurrogateQuality {
                median_argmin_error: median(argmin_errors.clone()),
                argmin_within_2pct: argmin_errors.iter().filter(|e| **e <= 0.02).count() as f64 / n,
                argmin_errors,
                rank_correlation: (!rhos.is_empty())
                    .then(|| rhos.iter().sum::<f64>() / rhos.len() as f64),
            })
        })
        .collect()
}

/// Evaluates `opts.methods` on `targets`. Surrogate methods run once per surrogate.
/// `progress(runs_done, runs_total)` is called as method runs finish.
pub fn evaluate(
    sim: &dyn Simulator,
    experiment: &str,
    spec_version: u32,
    targets: &[Target],
    surrogates: &[&dyn SurrogateModel],
    opts: &EvaluateOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Results> {
    if targets.is_empty() {
        return Err(Error::invalid("targets", "no targets to evaluate"));
    }
    let d = sim.param_space().dim();
    for s in surrogates {
        let info = s.info();
        if info.experiment != experiment
            || info.dim != d
            || info.trajectory_shape != sim.trajectory_shape()
        {
            return Err(Error::invalid(
                "surrogate",
                format!(
                    "{} is for {} (d = {}, trajectories {:?}); this evaluation is {experiment} \
                     (d = {d}, trajectories {:?})",
                    info.path.display(),
                    info.experiment,
                    info.dim,
                    info.trajectory_shape,
                    sim.trajectory_shape()
                ),
            ));
        }
    }
    for (i, a) in surrogates.iter().enumerate() {
        if let Some(b) = surrogates[..i]
            .iter()
            .find(|b| SurrogateConfig::of(b.info()) == SurrogateConfig::of(a.info()))
        {
            return Err(Error::invalid(
                "surrogate",
                format!(
                    "{} and {} share σ, λ and seed; their rows could not be told apart",
                    b.info().path.display(),
                    a.info().path.display()
                ),
            ));
        }
    }
    if let Some(s) = &opts.selection {
        if !surrogates.is_empty()
            && !surrogates
                .iter()
                .any(|m| SurrogateConfig::of(m.info()).same_setting(s.noise, s.penalty))
        {
            return Err(Error::invalid(
                "selection",
                format!(
                    "the chosen configuration σ = {}, λ = {} is not among the surrogates given",
                    s.noise, s.penalty
                ),
            ));
        }
    }
    let methods: Vec<Method> = opts
        .methods
        .iter()
        .map(|m| Method::parse(m, 0))
        .collect::<Result<_>>()?;
    if let Some(m) = methods.iter().find(|m| m.needs_surrogate()) {
        if surrogates.is_empty() {
            return Err(Error::Missing {
                method: m.name().into(),
                what: "at least one trained surrogate",
            });
        }
    }
    if let Some(m) = methods.iter().find(|m| m.needs_library()) {
        if opts.library.is_none() {
            return Err(Error::Missing {
                method: m.name().into(),
                what: "the training pool as a sample library",
            });
        }
    }
    if let Some(m) = methods.iter().find(|m| m.needs_inverse()) {
        if opts.guesses.is_empty() {
            return Err(Error::Missing {
                method: m.name().into(),
                what: "at least one trained inverse network's predictions",
            });
        }
    }
    for (i, g) in opts.guesses.iter().enumerate() {
        if opts.guesses[..i].iter().any(|h| h.variant == g.variant) {
            return Err(Error::invalid(
                "guesses",
                format!(
                    "two inverse networks are both `{}`; their rows could not be told apart",
                    g.variant
                ),
            ));
        }
        if g.u.len() != targets.len() || g.u.iter().any(|u| u.len() != d) {
            return Err(Error::invalid(
                "guesses",
                format!(
                    "{} holds {} predictions for {} targets of d = {d}",
                    g.path.display(),
                    g.u.len(),
                    targets.len()
                ),
            ));
        }
    }
    let in_headline = |c: &SurrogateConfig| {
        opts.selection
            .as_ref()
            .is_some_and(|s| c.same_setting(s.noise, s.penalty))
    };
    // Phase 1: everything without a budget.
    let mut jobs = Vec::new();
    for m in methods.iter().filter(|m| !m.is_budgeted()) {
        if m.needs_surrogate() {
            for (c, s) in surrogates.iter().enumerate() {
                jobs.push(Job {
                    id: MethodId {
                        surrogate: Some(SurrogateConfig::of(s.info())),
                        ..MethodId::plain(m.name())
                    },
                    method: m.clone(),
                    surrogate: Some(c),
                    guess: None,
                });
            }
        } else if m.needs_inverse() {
            for (g, guesses) in opts.guesses.iter().enumerate() {
                jobs.push(Job {
                    id: MethodId {
                        variant: Some(guesses.variant.clone()),
                        ..MethodId::plain(m.name())
                    },
                    method: m.clone(),
                    surrogate: None,
                    guess: Some(g),
                });
            }
        } else {
            jobs.push(Job {
                id: MethodId::plain(m.name()),
                method: m.clone(),
                surrogate: None,
                guess: None,
            });
        }
    }
    let budgeted: Vec<&Method> = methods.iter().filter(|m| m.is_budgeted()).collect();
    let references: Vec<&str> = BUDGET_REFERENCES
        .iter()
        .copied()
        .filter(|r| methods.iter().any(|m| m.name() == *r) && !surrogates.is_empty())
        .collect();
    let units = references.len().max(1);
    let multiples = opts.budget_multipliers.len() + opts.solve_budget_multipliers.len();
    let total =
        targets.len() * (jobs.len() + budgeted.len() * multiples * units) + surrogates.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let tick = |n: usize| {
        let now = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
        progress(now, total);
    };
    let mut rows = run_jobs(sim, targets, &jobs, surrogates, opts, &tick)?;
    let qualities = surrogate_quality(sim, targets, surrogates, opts)?;
    tick(surrogates.len());

    // The budget units: what each surrogate method spent per target, over the headline
    // configuration's surrogates (all surrogates when none was chosen).
    let mean_spend = |family: &str, spend: fn(&Answer) -> usize| {
        let spent: Vec<f64> = jobs
            .iter()
            .filter(|j| j.id.family == family)
            .filter(|j| match &j.id.surrogate {
                Some(c) => opts.selection.is_none() || in_headline(c),
                None => true,
            })
            .flat_map(|j| {
                let label = j.id.label();
                rows.iter()
                    .filter(move |o| o.method == label)
                    .map(|o| spend(&o.answer) as f64)
            })
            .collect();
        (!spent.is_empty()).then(|| spent.iter().sum::<f64>() / spent.len() as f64)
    };
    let unit_of = |family: &str| {
        Some(BudgetUnit {
            reference: family.to_string(),
            calls_per_target: mean_spend(family, |a| a.sim_calls)?,
            field_solves_per_target: mean_spend(family, |a| a.field_solves)?,
        })
    };
    let mut budget_units: Vec<BudgetUnit> = references.iter().filter_map(|r| unit_of(r)).collect();
    if budget_units.is_empty() && !budgeted.is_empty() {
        // Without a surrogate method, the baselines get single-start BFGS's spend.
        budget_units.push(unit_of("bfgs").ok_or(Error::Missing {
            method: budgeted[0].name().into(),
            what: "a budget unit: run proxy-bfgs, proxy-multistart or bfgs beside it",
        })?);
    }
    // Phase 2: the baselines at multiples of each unit, in calls and in field solves.
    let mut jobs2 = Vec::new();
    for m in &budgeted {
        for unit in &budget_units {
            let scaled =
                |per_target: f64, k: usize| ((per_target * k as f64).ceil() as usize).max(1);
            let in_calls = opts.budget_multipliers.iter().map(|&k| Budget {
                multiple: k,
                reference: unit.reference.clone(),
                calls: Some(scaled(unit.calls_per_target, k)),
                field_solves: None,
            });
            let in_solves = opts.solve_budget_multipliers.iter().map(|&k| Budget {
                multiple: k,
                reference: unit.reference.clone(),
                calls: None,
                field_solves: Some(scaled(unit.field_solves_per_target, k)),
            });
            for budget in in_calls.chain(in_solves) {
                jobs2.push(Job {
                    method: (*m).clone().with_budget(budget.spend()),
                    id: MethodId {
                        budget: Some(budget),
                        ..MethodId::plain(m.name())
                    },
                    surrogate: None,
                    guess: None,
                });
            }
        }
    }
    rows.extend(run_jobs(sim, targets, &jobs2, surrogates, opts, &tick)?);

    let summaries = jobs
        .iter()
        .chain(&jobs2)
        .map(|job| {
            let label = job.id.label();
            let these: Vec<&Outcome> = rows.iter().filter(|o| o.method == label).collect();
            let headline = job.id.surrogate.as_ref().is_some_and(in_headline);
            summarize(&job.id, &these, headline)
        })
        .collect();
    let surrogate_reports = surrogates
        .iter()
        .zip(qualities)
        .map(|(s, quality)| SurrogateReport {
            info: s.info().clone(),
            quality,
        })
        .collect();
    Ok(Results {
        format_version: RESULTS_FORMAT_VERSION,
        experiment: experiment.to_string(),
        spec_version,
        split: opts.split,
        seed: opts.seed,
        targets: targets.len(),
        proxyland_version: env!("CARGO_PKG_VERSION").to_string(),
        environment: Environment {
            threads: rayon::current_num_threads(),
            ..Environment::default()
        },
        pool_simulations: opts.pool_simulations,
        selection: opts.selection.clone(),
        budget_units,
        protocol: Some(Protocol::of(&opts.settings)),
        methods: summaries,
        surrogates: surrogate_reports,
        inverse_networks: opts.guesses.clone(),
        rows,
    })
}

/// The rule [`select_configuration`] applies, in words (it goes into every results file).
pub const SELECTION_RULE: &str = "highest proxy-multistart success on the validation targets \
    (mean over seeds); ties broken by the lower median argmin error of the surrogate alone, \
    then by the smaller σ and λ";

/// Chooses the headline surrogate configuration (σ, λ) on validation evaluations: one file, or
/// several of the same targets (a σ sweep, then a λ sweep at the chosen σ).
///
/// ```no_run
/// # let validation: proxyland_optim::Results = unimplemented!();
/// let choice = proxyland_optim::select_configuration(&[&validation])?;
/// println!("σ = {}, λ = {}", choice.noise, choice.penalty);
/// # Ok::<(), proxyland_optim::Error>(())
/// ```
pub fn select_configuration(validations: &[&Results]) -> Result<Selection> {
    let Some(first) = validations.first() else {
        return Err(Error::invalid("validation", "no validation results given"));
    };
    for v in validations {
        if v.split != TargetSplit::Validation {
            return Err(Error::invalid(
                "split",
                format!(
                    "configurations are chosen on validation targets; this evaluation is of the {} split",
                    v.split.name()
                ),
            ));
        }
        if v.experiment != first.experiment || v.targets != first.targets || v.seed != first.seed {
            return Err(Error::invalid(
                "validation",
                format!(
                    "results of different evaluations ({} with {} targets and seed {}, {} with {} and {}) cannot be compared",
                    first.experiment, first.targets, first.seed, v.experiment, v.targets, v.seed
                ),
            ));
        }
    }
    // (σ, λ) → (success rates over seeds, argmin errors over seeds); a surrogate evaluated in
    // two files counts once.
    let mut seen: Vec<SurrogateConfig> = Vec::new();
    type Setting = ((f64, f64), Vec<f64>, Vec<f64>);
    let mut settings: Vec<Setting> = Vec::new();
    for v in validations {
        for s in v
            .methods
            .iter()
            .filter(|s| s.id.family == "proxy-multistart")
        {
            let Some(c) = s.id.surrogate else { continue };
            if seen.contains(&c) {
                continue;
            }
            seen.push(c);
            let argmin = v
                .surrogates
                .iter()
                .find(|r| SurrogateConfig::of(&r.info) == c)
                .map_or(f64::INFINITY, |r| r.quality.median_argmin_error);
            match settings
                .iter_mut()
                .find(|(k, _, _)| *k == (c.noise, c.penalty))
            {
                Some((_, rates, errors)) => {
                    rates.push(s.success_rate);
                    errors.push(argmin);
                }
                None => settings.push(((c.noise, c.penalty), vec![s.success_rate], vec![argmin])),
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let best = settings
        .iter()
        .max_by(|a, b| {
            mean(&a.1)
                .total_cmp(&mean(&b.1))
                .then(mean(&b.2).total_cmp(&mean(&a.2)))
                .then(b.0.0.total_cmp(&a.0.0))
                .then(b.0.1.total_cmp(&a.0.1))
        })
        .ok_or(Error::Missing {
            method: "select_configuration".into(),
            what: "proxy-multistart results of at least one surrogate",
        })?;
    Ok(Selection {
        noise: best.0.0,
        penalty: best.0.1,
        rule: SELECTION_RULE.to_string(),
        validation_targets: first.targets,
        validation_success: mean(&best.1),
        validation_argmin_error: mean(&best.2),
        candidates: settings
            .iter()
            .map(|((noise, penalty), rates, _)| Candidate {
                noise: *noise,
                penalty: *penalty,
                validation_success: mean(rates),
            })
            .collect(),
    })
}

/// The headline of one surrogate method: its runs with the chosen configuration, one per seed.
#[derive(Debug, Clone)]
pub struct Headline<'a> {
    /// The runs, one per training seed, in seed order.
    pub runs: Vec<&'a MethodSummary>,
    /// Mean success over seeds.
    pub mean_success: f64,
    /// Lowest and highest success over seeds.
    pub success_range: (f64, f64),
    /// Mean simulator calls per target over seeds.
    pub mean_calls: f64,
}

impl Results {
    /// Reads a results file's `text` (from `path`, which errors name): refuses a layout newer
    /// than this build's and anything that is not a results file.
    ///
    /// ```
    /// use proxyland_optim::Results;
    /// let path = std::path::Path::new("eval.json");
    /// let newer = r#"{"format_version": 99}"#;
    /// assert!(Results::from_json(path, newer).unwrap_err().to_string().contains("eval.json"));
    /// assert!(Results::from_json(path, "[1, 2]").is_err());
    /// ```
    pub fn from_json(path: &std::path::Path, text: &str) -> Result<Results> {
        let invalid = |what: String| Error::invalid(&path.display().to_string(), what);
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| invalid(format!("not a proxyland results file: not JSON ({e})")))?;
        let version = match value.get("format_version") {
            None => 1,
            Some(v) => v
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| invalid(format!("format_version {v} is not a version number")))?,
        };
        if version > RESULTS_FORMAT_VERSION {
            return Err(invalid(format!(
                "results format {version}, written by a newer proxyland; this build reads up \
                 to {RESULTS_FORMAT_VERSION}"
            )));
        }
        serde_json::from_value(value)
            .map_err(|e| invalid(format!("not a proxyland results file ({e})")))
    }

    /// The summary with this label.
    pub fn method(&self, label: &str) -> Option<&MethodSummary> {
        self.methods.iter().find(|s| s.label == label)
    }

    /// Success of `label` on each target, in target order.
    pub fn successes(&self, label: &str) -> Option<Vec<bool>> {
        let mut rows: Vec<&Outcome> = self.rows.iter().filter(|o| o.method == label).collect();
        if rows.is_empty() {
            return None;
        }
        rows.sort_by_key(|o| o.target);
        Some(rows.iter().map(|o| o.success).collect())
    }

    /// The exact paired test of `a` against `b` on the same targets.
    pub fn compare(&self, a: &str, b: &str) -> Option<PairedComparison> {
        let (sa, sb) = (self.successes(a)?, self.successes(b)?);
        (sa.len() == sb.len()).then(|| PairedComparison::new(&sa, &sb))
    }

    /// The headline runs of a surrogate method family (the chosen configuration, every seed).
    pub fn headline(&self, family: &str) -> Option<Headline<'_>> {
        let mut runs: Vec<&MethodSummary> = self
            .methods
            .iter()
            .filter(|s| s.headline && s.id.family == family)
            .collect();
        if runs.is_empty() {
            return None;
        }
        runs.sort_by_key(|s| s.id.surrogate.map_or(0, |c| c.seed));
        let rates: Vec<f64> = runs.iter().map(|s| s.success_rate).collect();
        let n = rates.len() as f64;
        Some(Headline {
            mean_success: rates.iter().sum::<f64>() / n,
            success_range: (
                rates.iter().cloned().fold(f64::INFINITY, f64::min),
                rates.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            ),
            mean_calls: runs.iter().map(|s| s.mean_sim_calls).sum::<f64>() / n,
            runs,
        })
    }

    /// The budgeted baseline with the highest success (then the fewest calls).
    pub fn strongest_baseline(&self) -> Option<&MethodSummary> {
        self.methods
            .iter()
            .filter(|s| s.id.budget.is_some())
            .max_by(|a, b| {
                a.success_rate
                    .total_cmp(&b.success_rate)
                    .then(b.mean_sim_calls.total_cmp(&a.mean_sim_calls))
            })
    }

    /// Why a run ended, for each failed row (blow-ups, non-finite values).
    pub fn failures(&self) -> impl Iterator<Item = (&Outcome, &StopReason)> {
        self.rows
            .iter()
            .filter_map(|o| Some((o, o.answer.stopped.as_ref().filter(|s| s.is_failure())?)))
    }
}

/// Simulator calls to solve `solved` targets with a method that has a one-off cost of
/// `one_off` simulations and spends `calls` per target with success rate `success`:
/// one_off + solved · calls / success (∞ when it never succeeds).
///
/// ```
/// assert_eq!(proxyland_optim::cumulative_calls(1000, 50.0, 0.5, 10.0), 2000.0);
/// ```
pub fn cumulative_calls(one_off: usize, calls: f64, success: f64, solved: f64) -> f64 {
    if success <= 0.0 {
        return f64::INFINITY;
    }
    one_off as f64 + solved * calls / success
}

/// After how many solved targets method A (one-off cost `a.0`, calls per solved target `a.1`)
/// becomes cheaper in simulator calls than method B; `None` if it never does, `Some(0.0)` if it
/// is never dearer.
///
/// ```
/// use proxyland_optim::crossover;
/// assert_eq!(crossover((1000, 50.0), (0, 250.0)), Some(5.0));
/// assert_eq!(crossover((1000, 50.0), (0, 40.0)), None);
/// ```
pub fn crossover(a: (usize, f64), b: (usize, f64)) -> Option<f64> {
    let (ka, ra) = (a.0 as f64, a.1);
    let (kb, rb) = (b.0 as f64, b.1);
    if ka <= kb && ra <= rb {
        return Some(0.0);
    }
    if ra >= rb || !ra.is_finite() {
        return None;
    }
    if !rb.is_finite() {
        return Some(0.0);
    }
    Some(((ka - kb) / (rb - ra)).max(0.0))
}
