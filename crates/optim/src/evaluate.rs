//! The evaluation protocol (spec v2, with v3's budgets in field solves): every method on
//! held-out targets, with rules that cannot favour any method.
//!
//! - Targets come in two splits. Anything chosen (a surrogate's σ and λ) is chosen on the
//!   validation split ([`crate::select_configuration`]); the test split is scored once.
//! - Budgeted baselines run at multiples of what each surrogate method (proxy-bfgs and
//!   proxy-multistart, separately) measurably spent per target, in simulator calls and, when
//!   asked, in field solves, with the headline configuration setting the unit.
//! - Each surrogate's own quality is measured too (`quality.rs`).

use crate::error::{Error, Result};
use crate::library::SampleLibrary;
use crate::local::LocalSettings;
use crate::methods::{Answer, BUDGET_REFERENCES, Family, Method, Problem, is_success, run};
use crate::objective::SurrogateModel;
use crate::quality::surrogate_quality;
use crate::results::{
    Budget, BudgetUnit, Environment, InverseGuesses, MethodId, MethodSummary, Outcome, Protocol,
    RESULTS_FORMAT_VERSION, Results, Selection, SurrogateConfig, SurrogateReport, TargetSplit,
};
use crate::stats::{Z95, wilson_interval};
use proxyland_physics::rng::{Domain, Stream};
use proxyland_physics::{Simulator, Trajectory};
use rayon::prelude::*;

/// A held-out target: the truth X* (for scoring) and its trajectory Y*.
#[derive(Debug, Clone)]
pub struct Target {
    /// X*.
    pub x: Vec<f64>,
    /// Y* = P(Y0, X*).
    pub y: Trajectory,
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
    /// The baselines that also run at the multiples above 1 (`None`: all of them). At d = 16
    /// a 10× budget in field solves costs most of an evaluation; the scaling profile gives it
    /// to the strongest baseline alone.
    pub large_budget_families: Option<Vec<Family>>,
    /// The baselines' budget units fixed from outside (another evaluation's
    /// `Results::budget_units`) instead of this run's own spend: two evaluations of the same
    /// targets that differ in another setting (the refinement rule) then give their baselines
    /// the same budgets, so a paired comparison of the baselines isolates that setting.
    pub budget_units: Option<Vec<BudgetUnit>>,
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
            large_budget_families: None,
            budget_units: None,
            library: None,
            pool_simulations: None,
            selection: None,
            quality_grid: 16,
            quality_targets: 5,
            guesses: Vec::new(),
        }
    }
}

impl EvaluateOptions {
    /// Whether baseline `family` runs at budget multiple `k`.
    fn runs_multiple(&self, family: Family, k: usize) -> bool {
        k <= 1
            || self
                .large_budget_families
                .as_ref()
                .is_none_or(|f| f.contains(&family))
    }
}

/// The median, NaN for no values (a summary of no rows has no median).
pub(crate) fn median(v: Vec<f64>) -> f64 {
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
    let domain = match split {
        TargetSplit::Test => Domain::TestStart,
        TargetSplit::Validation => Domain::ValidationStart,
    };
    let mut s = domain.stream(seed, index as u64);
    (0..d).map(|_| s.uniform()).collect()
}

/// A stream for (method label, split, target), independent of the order methods run in.
pub(crate) fn method_stream(seed: u64, split: TargetSplit, label: &str, index: usize) -> Stream {
    let tag = label
        .bytes()
        .chain(split.name().bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    Domain::MethodDraws.stream(seed ^ tag, index as u64)
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
                let mut answer = run(&job.method, problem, model, opts.settings, &mut stream)?;
                if let Some(g) = job.guess {
                    // A start made by test-time training on this target cost calls of its own.
                    let g = &opts.guesses[g];
                    answer.sim_calls += g.adaptation_calls;
                    answer.field_solves += g.adaptation_calls * sim.tangent_cost();
                    answer.wall_s += g.adaptation_seconds;
                }
                let (success, param_error) = is_success(sim, &answer.x_hat, &targets[i].x);
                out.push(Outcome {
                    id: job.id.clone(),
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
    check_surrogates(sim, experiment, d, surrogates)?;
    check_selection(surrogates, opts)?;
    let methods = parse_methods(surrogates, opts)?;
    check_guesses(targets, d, opts)?;
    // Phase 1: everything without a budget.
    let jobs = unbudgeted_jobs(&methods, surrogates, opts);
    let budgeted: Vec<&Method> = methods.iter().filter(|m| m.is_budgeted()).collect();
    let references: Vec<Family> = BUDGET_REFERENCES
        .iter()
        .copied()
        .filter(|r| methods.iter().any(|m| m.family() == *r) && !surrogates.is_empty())
        .collect();
    let units = opts
        .budget_units
        .as_ref()
        .map_or(references.len(), Vec::len)
        .max(1);
    let budgeted_runs: usize = budgeted
        .iter()
        .map(|m| {
            opts.budget_multipliers
                .iter()
                .chain(&opts.solve_budget_multipliers)
                .filter(|&&k| opts.runs_multiple(m.family(), k))
                .count()
        })
        .sum();
    let total = targets.len() * (jobs.len() + budgeted_runs * units) + surrogates.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let tick = |n: usize| {
        let now = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
        progress(now, total);
    };
    let mut rows = run_jobs(sim, targets, &jobs, surrogates, opts, &tick)?;
    let qualities = surrogate_quality(sim, targets, surrogates, opts)?;
    tick(surrogates.len());

    let budget_units = budget_units(&jobs, &rows, opts, &references, &budgeted)?;
    // Phase 2: the baselines at multiples of each unit, in calls and in field solves.
    let jobs2 = budgeted_jobs(&budgeted, &budget_units, opts);
    rows.extend(run_jobs(sim, targets, &jobs2, surrogates, opts, &tick)?);

    let summaries = summaries(&jobs, &jobs2, &rows, opts);
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
        large_budget_baselines: opts.large_budget_families.clone(),
        protocol: Some(Protocol::of(&opts.settings)),
        methods: summaries,
        surrogates: surrogate_reports,
        inverse_networks: opts.guesses.clone(),
        rows,
    })
}

/// Refuses surrogates trained for another experiment, dimension or trajectory shape, and two
/// surrogates of one configuration (their rows would share a label).
fn check_surrogates(
    sim: &dyn Simulator,
    experiment: &str,
    d: usize,
    surrogates: &[&dyn SurrogateModel],
) -> Result<()> {
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
    Ok(())
}

/// Refuses a headline configuration that none of the surrogates has (it sets the budget unit).
fn check_selection(surrogates: &[&dyn SurrogateModel], opts: &EvaluateOptions) -> Result<()> {
    if let Some(s) = &opts.selection {
        if !surrogates.is_empty()
            && !surrogates
                .iter()
                .any(|m| SurrogateConfig::of(m.info()).is_setting_of(s))
        {
            return Err(Error::invalid(
                "selection",
                format!(
                    "the chosen configuration σ = {}, λ = {} (other regularizers: {}) is not \
                     among the surrogates given",
                    s.noise,
                    s.penalty,
                    s.regularizers.describe()
                ),
            ));
        }
    }
    Ok(())
}

/// The methods of `opts`, parsed; an error names the first whose surrogate, sample library or
/// inverse network's predictions were not given.
fn parse_methods(
    surrogates: &[&dyn SurrogateModel],
    opts: &EvaluateOptions,
) -> Result<Vec<Method>> {
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
    Ok(methods)
}

/// Refuses two inverse networks of one variant (their rows would share a label) and a set of
/// predictions that is not one start of dimension `d` per target.
fn check_guesses(targets: &[Target], d: usize, opts: &EvaluateOptions) -> Result<()> {
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
    Ok(())
}

/// Whether a surrogate configuration is the headline one (chosen on validation targets).
fn in_headline(opts: &EvaluateOptions, c: &SurrogateConfig) -> bool {
    opts.selection.as_ref().is_some_and(|s| c.is_setting_of(s))
}

/// Phase 1's jobs: every method without a budget, a surrogate method once per surrogate and
/// an inverse-network method once per network, in the order of `methods`.
fn unbudgeted_jobs(
    methods: &[Method],
    surrogates: &[&dyn SurrogateModel],
    opts: &EvaluateOptions,
) -> Vec<Job> {
    let mut jobs = Vec::new();
    for m in methods.iter().filter(|m| !m.is_budgeted()) {
        if m.needs_surrogate() {
            for (c, s) in surrogates.iter().enumerate() {
                jobs.push(Job {
                    id: MethodId {
                        surrogate: Some(SurrogateConfig::of(s.info())),
                        ..MethodId::plain(m.family())
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
                        ..MethodId::plain(m.family())
                    },
                    method: m.clone(),
                    surrogate: None,
                    guess: Some(g),
                });
            }
        } else {
            jobs.push(Job {
                id: MethodId::plain(m.family()),
                method: m.clone(),
                surrogate: None,
                guess: None,
            });
        }
    }
    jobs
}

/// The mean per-target `spend` of `family`'s phase-1 rows, over the headline configuration's
/// surrogates (all surrogates when none was chosen); None when the family has no rows.
fn mean_spend(
    jobs: &[Job],
    rows: &[Outcome],
    opts: &EvaluateOptions,
    family: Family,
    spend: fn(&Answer) -> usize,
) -> Option<f64> {
    let spent: Vec<f64> = jobs
        .iter()
        .filter(|j| j.id.family == family)
        .filter(|j| match &j.id.surrogate {
            Some(c) => opts.selection.is_none() || in_headline(opts, c),
            None => true,
        })
        .flat_map(|j| {
            rows.iter()
                .filter(move |o| o.id == j.id)
                .map(|o| spend(&o.answer) as f64)
        })
        .collect();
    (!spent.is_empty()).then(|| spent.iter().sum::<f64>() / spent.len() as f64)
}

/// `family`'s budget unit: its mean spend per target in calls and in field solves (None when
/// it has no rows).
fn unit_of(
    jobs: &[Job],
    rows: &[Outcome],
    opts: &EvaluateOptions,
    family: Family,
) -> Option<BudgetUnit> {
    Some(BudgetUnit {
        reference: family,
        calls_per_target: mean_spend(jobs, rows, opts, family, |a| a.sim_calls)?,
        field_solves_per_target: mean_spend(jobs, rows, opts, family, |a| a.field_solves)?,
    })
}

/// The budget units: what each surrogate method spent per target, over the headline
/// configuration's surrogates (all surrogates when none was chosen), or the units fixed in
/// `opts`. An error when baselines are to run and no unit can be had.
fn budget_units(
    jobs: &[Job],
    rows: &[Outcome],
    opts: &EvaluateOptions,
    references: &[Family],
    budgeted: &[&Method],
) -> Result<Vec<BudgetUnit>> {
    let mut budget_units: Vec<BudgetUnit> = match &opts.budget_units {
        Some(fixed) => fixed.clone(),
        None => references
            .iter()
            .filter_map(|r| unit_of(jobs, rows, opts, *r))
            .collect(),
    };
    if budget_units.is_empty() && !budgeted.is_empty() {
        // Without a surrogate method, the baselines get single-start BFGS's spend.
        budget_units.push(
            unit_of(jobs, rows, opts, Family::Bfgs).ok_or(Error::Missing {
                method: budgeted[0].name().into(),
                what: "a budget unit: run proxy-bfgs, proxy-multistart or bfgs beside it",
            })?,
        );
    }
    Ok(budget_units)
}

/// Phase 2's jobs: each budgeted baseline at every multiple of every unit, first in calls,
/// then in field solves.
fn budgeted_jobs(
    budgeted: &[&Method],
    budget_units: &[BudgetUnit],
    opts: &EvaluateOptions,
) -> Vec<Job> {
    let mut jobs2 = Vec::new();
    for m in budgeted {
        for unit in budget_units {
            let scaled =
                |per_target: f64, k: usize| ((per_target * k as f64).ceil() as usize).max(1);
            let in_calls = opts.budget_multipliers.iter().map(|&k| Budget {
                multiple: k,
                reference: unit.reference,
                calls: Some(scaled(unit.calls_per_target, k)),
                field_solves: None,
            });
            let in_solves = opts.solve_budget_multipliers.iter().map(|&k| Budget {
                multiple: k,
                reference: unit.reference,
                calls: None,
                field_solves: Some(scaled(unit.field_solves_per_target, k)),
            });
            let kept = in_calls
                .chain(in_solves)
                .filter(|b| opts.runs_multiple(m.family(), b.multiple));
            for budget in kept {
                jobs2.push(Job {
                    method: (*m).clone().with_budget(budget.spend()),
                    id: MethodId {
                        budget: Some(budget),
                        ..MethodId::plain(m.family())
                    },
                    surrogate: None,
                    guess: None,
                });
            }
        }
    }
    jobs2
}

/// One summary per job of both phases, in job order, the headline configuration's marked.
fn summaries(
    jobs: &[Job],
    jobs2: &[Job],
    rows: &[Outcome],
    opts: &EvaluateOptions,
) -> Vec<MethodSummary> {
    jobs.iter()
        .chain(jobs2)
        .map(|job| {
            let these: Vec<&Outcome> = rows.iter().filter(|o| o.id == job.id).collect();
            let headline = job
                .id
                .surrogate
                .as_ref()
                .is_some_and(|c| in_headline(opts, c));
            summarize(&job.id, &these, headline)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{
        BudgetUnit, EvaluateOptions, Family, Method, TargetSplit, budgeted_jobs, median,
        method_stream, start_of,
    };

    #[test]
    fn large_budgets_go_only_to_the_named_baselines() {
        let methods: Vec<Method> = ["multistart-bfgs", "cmaes", "de"]
            .iter()
            .map(|m| Method::parse(m, 1).unwrap())
            .collect();
        let budgeted: Vec<&Method> = methods.iter().collect();
        let units = [BudgetUnit {
            reference: Family::ProxyMultistart,
            calls_per_target: 20.0,
            field_solves_per_target: 100.0,
        }];
        let mut opts = EvaluateOptions::new(&[], 0);
        opts.budget_multipliers = vec![1];
        opts.solve_budget_multipliers = vec![1, 10];
        // (family, multiple, in field solves) of every job.
        let runs = |opts: &EvaluateOptions| -> Vec<(Family, usize, bool)> {
            budgeted_jobs(&budgeted, &units, opts)
                .iter()
                .map(|j| {
                    let b = j.id.budget.as_ref().unwrap();
                    (j.id.family, b.multiple, b.in_field_solves())
                })
                .collect()
        };
        assert_eq!(
            runs(&opts).len(),
            9,
            "all three at 1x calls, 1x and 10x solves"
        );
        opts.large_budget_families = Some(vec![Family::De]);
        let kept = runs(&opts);
        assert_eq!(kept.len(), 7);
        assert!(kept.contains(&(Family::De, 10, true)));
        for f in [Family::MultistartBfgs, Family::Cmaes] {
            assert!(kept.contains(&(f, 1, false)) && kept.contains(&(f, 1, true)));
            assert!(
                !kept.iter().any(|r| r.0 == f && r.1 > 1),
                "{f:?} ran above 1x"
            );
        }
    }

    #[test]
    fn starts_are_fixed_per_target_and_apart_between_splits() {
        let a = start_of(3, TargetSplit::Test, 5, 4);
        assert_eq!(a, start_of(3, TargetSplit::Test, 5, 4), "deterministic");
        assert!(a.iter().all(|u| (0.0..1.0).contains(u)), "{a:?}");
        // The same target index of the other split, or the next target, starts elsewhere.
        assert_ne!(a, start_of(3, TargetSplit::Validation, 5, 4));
        assert_ne!(a, start_of(3, TargetSplit::Test, 6, 4));
        // Every single-start method shares the start: it does not depend on d beyond its length.
        assert_eq!(start_of(3, TargetSplit::Test, 5, 2), a[..2]);
    }

    #[test]
    fn a_method_stream_depends_on_label_split_and_target_not_on_call_order() {
        let mut first = method_stream(1, TargetSplit::Test, "de@1x(proxy-bfgs)", 2);
        let _other = method_stream(1, TargetSplit::Test, "cmaes@1x(proxy-bfgs)", 2).uniform();
        let mut again = method_stream(1, TargetSplit::Test, "de@1x(proxy-bfgs)", 2);
        let draw = first.uniform();
        assert_eq!(draw, again.uniform());
        for mut s in [
            method_stream(1, TargetSplit::Test, "cmaes@1x(proxy-bfgs)", 2),
            method_stream(1, TargetSplit::Validation, "de@1x(proxy-bfgs)", 2),
            method_stream(1, TargetSplit::Test, "de@1x(proxy-bfgs)", 3),
        ] {
            assert_ne!(s.uniform(), draw);
        }
    }

    #[test]
    fn the_median_of_no_rows_is_nan_and_of_an_even_count_the_midpoint() {
        assert!(median(Vec::new()).is_nan());
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![5.0, 1.0, 3.0]), 3.0);
    }
}
