//! `proxyland evaluate` and `proxyland select`.

mod inputs;
mod select;

pub use select::{SelectArgs, run_select};

use crate::args::library_of;
use crate::{output, progress};
use anyhow::{Result, bail};
use inputs::{
    budget_units_from, check_arguments, config_and_pool, inverse_guesses, load_models, methods_of,
    read_selection, targets_of,
};
use proxyland_optim::{
    Environment, EvaluateOptions, Family, LocalSettings, Method, Results, SurrogateModel,
    TargetSplit, evaluate, select_configuration,
};
use proxyland_proxy::Adaptation;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Experiment config (optional when --data is given: the pool carries its config).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Pool whose held-out targets are evaluated.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Which of the pool's held-out targets: `test` (reported numbers) or `validation` (where
    /// checkpoints are chosen; the results file then records the chosen configuration).
    #[arg(long, default_value = "test", value_parser = parse_split)]
    split: TargetSplit,
    /// Trained proxies; proxy methods run once per checkpoint.
    #[arg(long, num_args = 1..)]
    models: Vec<PathBuf>,
    /// Trained inverse networks (`proxyland train-inverse`): `inverse-net` refines each one's
    /// prediction.
    #[arg(long, num_args = 1..)]
    inverse_models: Vec<PathBuf>,
    /// Test-time training: each inverse network also trains this many epochs on the physics
    /// loss of the targets being solved (one call with gradient per target and epoch, charged
    /// to the target), as a second start labelled `[variant+tt]`. 0: off.
    #[arg(long, default_value_t = 0)]
    test_time_epochs: usize,
    /// Test-time training's learning rate, as a fraction of the network's supervised one.
    #[arg(long, default_value_t = 0.1)]
    test_time_learning_rate: f64,
    /// The headline configuration, chosen on validation targets (written by `proxyland
    /// select`): its runs are the headline, and set the baselines' budget unit.
    #[arg(long)]
    selection: Option<PathBuf>,
    /// Comma-separated method names, or `all` (every method but inverse-pool, which is named
    /// when wanted).
    #[arg(long, default_value = "all", value_delimiter = ',')]
    methods: Vec<String>,
    /// Draw this many targets with --seed instead of using the pool's.
    #[arg(long)]
    targets: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How refining methods refine on the true loss: bfgs (the paper's protocol), lm
    /// (Levenberg–Marquardt on the exact Jacobian) or bfgs+lm.
    #[arg(long, default_value = "bfgs")]
    refine: String,
    /// Multi-start refinements (pool-bfgs, proxy-multistart) stop at the first start that fits
    /// the target exactly, instead of refining all of them.
    #[arg(long)]
    stop_at_fit: bool,
    /// full (the paper's protocol: every frame from the start) or continuation (every
    /// refinement fits the first quarter of the observed frames, then half, then all, each
    /// stage from where the last ended).
    #[arg(long, default_value = "full")]
    horizon: String,
    /// Budgets of the baselines in simulator calls, as multiples of each proxy method's mean
    /// calls per target.
    #[arg(long, default_value = "1,10", value_delimiter = ',')]
    budgets: Vec<usize>,
    /// Budgets of the baselines in field solves too, as multiples of each proxy method's mean
    /// field solves per target (a call with gradient costs 1 + d solves, a value call 1);
    /// labelled `@Kx-solves(...)`. None unless given.
    #[arg(long, value_delimiter = ',')]
    solve_budgets: Vec<usize>,
    /// The baselines (multistart-bfgs, cmaes, de) that also run at the budgets above 1×; all
    /// of them unless given.
    #[arg(long, value_delimiter = ',')]
    large_budget_baselines: Option<Vec<String>>,
    /// Give the baselines the budget units of this earlier results file (its references' mean
    /// calls and field solves per target) instead of this run's own: for comparing two
    /// evaluations of the same targets that differ in one setting (`--refine`) at equal budgets.
    #[arg(long)]
    budget_units_from: Option<PathBuf>,
    /// Results JSON.
    #[arg(long)]
    out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    force: bool,
}

/// `--large-budget-baselines`, each a budgeted baseline's family.
fn large_budget_families(names: Option<&[String]>) -> Result<Option<Vec<Family>>> {
    let Some(names) = names else {
        return Ok(None);
    };
    names
        .iter()
        .map(|n| match Method::parse(n, 1) {
            Ok(m) if m.is_budgeted() => Ok(m.family()),
            _ => bail!(
                "--large-budget-baselines: `{n}` is not a budgeted baseline (expected some of \
                 multistart-bfgs, cmaes, de)"
            ),
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

fn parse_split(s: &str) -> std::result::Result<TargetSplit, String> {
    match s {
        "test" => Ok(TargetSplit::Test),
        "validation" => Ok(TargetSplit::Validation),
        other => Err(format!("`{other}`: expected test or validation")),
    }
}

/// Machine and libtorch: what can make numbers differ across machines (the evaluation fills in
/// its own thread count).
pub fn environment() -> Environment {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    Environment {
        machine: format!("{cores} cores, {cpu}"),
        threads: 0,
        notes: vec![proxyland_proxy::device::libtorch_description()],
    }
}

pub fn run_evaluate(args: Args) -> Result<()> {
    check_arguments(&args)?;
    let (config, pool) = config_and_pool(&args)?;
    let sim = config.simulator()?;
    let targets = targets_of(&args, pool.as_ref(), sim.as_ref())?;
    if targets.is_empty() {
        bail!(
            "--data {}: the pool holds no {} targets",
            args.data.as_deref().unwrap_or(Path::new("?")).display(),
            args.split.name()
        );
    }
    let (methods, parsed) = methods_of(&args, pool.as_ref())?;
    if args.budgets.is_empty() || args.budgets.contains(&0) {
        bail!("--budgets: give positive multiples, e.g. 1,10");
    }
    if args.solve_budgets.contains(&0) {
        bail!("--solve-budgets: give positive multiples, e.g. 1,10");
    }
    let selection = match &args.selection {
        Some(path) => Some(read_selection(path)?),
        None => None,
    };
    let models = load_models(&args.models, sim.as_ref())?;
    let surrogates: Vec<&dyn SurrogateModel> =
        models.iter().map(|m| m as &dyn SurrogateModel).collect();
    let library = match &pool {
        Some(p) if parsed.iter().any(Method::needs_library) => Some(library_of(p, sim.as_ref())?),
        _ => None,
    };
    // Networks are loaded only when their method runs: a results file lists only what ran.
    let guesses = if parsed.iter().any(Method::needs_inverse) {
        let adaptation = (args.test_time_epochs > 0).then_some(Adaptation {
            epochs: args.test_time_epochs,
            learning_rate: args.test_time_learning_rate,
        });
        inverse_guesses(&args.inverse_models, adaptation, sim.as_ref(), &targets)?
    } else {
        Vec::new()
    };
    let opts = EvaluateOptions {
        methods,
        split: args.split,
        seed: args.seed,
        settings: LocalSettings {
            max_iters: config.evaluation.max_iters,
            grad_tolerance: config.evaluation.grad_tolerance,
            refine: proxyland_optim::Refine::parse(&args.refine)
                .map_err(|e| anyhow::anyhow!("--refine: {e}"))?,
            stop_at_fit: args.stop_at_fit,
            continuation: crate::args::horizon_is_continuation(Some(&args.horizon), false)?,
            ..LocalSettings::default()
        },
        budget_multipliers: args.budgets.clone(),
        solve_budget_multipliers: args.solve_budgets.clone(),
        large_budget_families: large_budget_families(args.large_budget_baselines.as_deref())?,
        budget_units: budget_units_from(args.budget_units_from.as_deref(), &config.experiment)?,
        library,
        pool_simulations: pool.as_ref().map(|p| p.header.len()),
        selection,
        guesses,
        ..EvaluateOptions::new(&[], args.seed)
    };
    proxyland_proxy::device::set_threads(1);
    tracing::info!(
        experiment = %config.experiment,
        split = args.split.name(),
        targets = targets.len(),
        methods = ?opts.methods,
        "evaluating"
    );
    let bar = progress::bar(0, "evaluating");
    let mut results = evaluate(
        sim.as_ref(),
        &config.experiment,
        config.spec_version,
        &targets,
        &surrogates,
        &opts,
        &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )?;
    bar.finish_and_clear();
    results.environment = Environment {
        threads: results.environment.threads,
        ..environment()
    };
    if args.split == TargetSplit::Validation
        && results
            .methods
            .iter()
            .any(|s| s.id.family == Family::ProxyMultistart)
    {
        results.selection = Some(select_configuration(&[&results])?);
    }
    let json = serde_json::to_string_pretty(&results)?;
    output::write_atomically(&args.out, |w| Ok(w.write_all(json.as_bytes())?))?;
    print_summary(&args, &results)
}

/// The results on stdout: one line per method, the configuration chosen where validation
/// targets chose one, and the file written.
fn print_summary(args: &Args, results: &Results) -> Result<()> {
    say!(
        "{:<44} {:>8} {:>15} {:>12} {:>12} {:>10}",
        "method",
        "success",
        "95% interval",
        "resim loss",
        "param err",
        "sim calls"
    );
    for s in &results.methods {
        say!(
            "{:<44} {:>8.2} {:>15} {:>12.3e} {:>12.3e} {:>10.1}",
            s.label,
            s.success_rate,
            format!("[{:.2}, {:.2}]", s.success_interval.0, s.success_interval.1),
            s.median_resim_loss,
            s.median_param_error,
            s.mean_sim_calls,
        )
    }
    if let Some(sel) = &results.selection {
        say!(
            "chosen on the {} targets: σ = {}, λ = {} (proxy-multistart success {:.2})",
            args.split.name(),
            sel.noise,
            sel.penalty,
            sel.validation_success
        );
    }
    say!("wrote {}", args.out.display());
    Ok(())
}
