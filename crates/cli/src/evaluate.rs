//! `proxyland evaluate` and `proxyland select`.

use crate::args::{library_of, read_results};
use crate::output;
use crate::progress;
use anyhow::{Context, Result, bail};
use proxyland_dataset::{ExperimentConfig, Pool};
use proxyland_optim::{
    Environment, EvaluateOptions, Family, InverseGuesses, LocalSettings, METHOD_NAMES, Method,
    Results, Selection, SurrogateModel, Target, TargetSplit, evaluate, select_configuration,
};
use proxyland_physics::{Simulator, sample_target};
use proxyland_proxy::{Adaptation, InverseModel, Proxy};
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

/// The most synthetic targets one evaluation draws (each is a simulation kept in memory).
const MAX_TARGETS: usize = 100_000;

fn parse_split(s: &str) -> std::result::Result<TargetSplit, String> {
    match s {
        "test" => Ok(TargetSplit::Test),
        "validation" => Ok(TargetSplit::Validation),
        other => Err(format!("`{other}`: expected test or validation")),
    }
}

/// Loads trained proxies once; every thread of an evaluation shares them.
fn load_models(paths: &[PathBuf], sim: &dyn Simulator) -> Result<Vec<Proxy>> {
    paths
        .iter()
        .map(|p| {
            let proxy = Proxy::load(p)?;
            proxy.check_compatible(sim)?;
            Ok(proxy)
        })
        .collect()
}

/// The budget units recorded in `--budget-units-from`, refused when it has none.
fn budget_units_from(path: Option<&Path>) -> Result<Option<Vec<proxyland_optim::BudgetUnit>>> {
    let Some(path) = path else { return Ok(None) };
    let units = read_results(path)
        .with_context(|| format!("--budget-units-from {}", path.display()))?
        .budget_units;
    if units.is_empty() {
        bail!(
            "--budget-units-from {}: the file records no budget units (it ran no baseline \
             beside a proxy method)",
            path.display()
        );
    }
    Ok(Some(units))
}

/// A selection written by `proxyland select`.
fn read_selection(path: &Path) -> Result<Selection> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--selection {}: cannot read", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "--selection {}: not a selection file (write one with `proxyland select`)",
            path.display()
        )
    })
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
    let mut inputs: Vec<(&str, &Path)> = Vec::new();
    if let Some(c) = &args.config {
        inputs.push(("--config", c));
    }
    if let Some(d) = &args.data {
        inputs.push(("--data", d));
    }
    if let Some(s) = &args.selection {
        inputs.push(("--selection", s));
    }
    inputs.extend(args.models.iter().map(|m| ("--models", m.as_path())));
    inputs.extend(
        args.inverse_models
            .iter()
            .map(|m| ("--inverse-models", m.as_path())),
    );
    output::check_output("--out", &args.out, &inputs, args.force)?;
    if let Some(n) = args.targets {
        if n == 0 || n > MAX_TARGETS {
            bail!("--targets {n}: give 1 to {MAX_TARGETS} targets");
        }
    }
    let (config, pool) = match (&args.config, &args.data) {
        (_, Some(data)) => {
            let pool = Pool::open(data)?;
            let config = ExperimentConfig::parse(data, &pool.header.config_text)?;
            if let Some(c) = &args.config {
                let given = ExperimentConfig::load(c)?;
                if given.experiment != config.experiment {
                    bail!(
                        "--config {} is for {}, but --data {} holds {}",
                        c.display(),
                        given.experiment,
                        data.display(),
                        config.experiment
                    );
                }
            }
            (config, Some(pool))
        }
        (Some(c), None) => (ExperimentConfig::load(c)?, None),
        (None, None) => bail!("give --data (a pool with held-out targets) or --config"),
    };
    let sim = config.simulator()?;
    let targets: Vec<Target> = match (args.targets, &pool) {
        (None, Some(pool)) => {
            let (params, trajectories) = match args.split {
                TargetSplit::Test => (&pool.target_params, &pool.target_trajectories),
                TargetSplit::Validation => (&pool.validation_params, &pool.validation_trajectories),
            };
            (0..params.nrows())
                .map(|i| Target {
                    x: params.row(i).to_vec(),
                    y: trajectories.index_axis(ndarray::Axis(0), i).to_owned(),
                })
                .collect()
        }
        (n, _) => {
            let n = n.unwrap_or(50);
            let seed = match args.split {
                TargetSplit::Test => proxyland_dataset::target_seed(args.seed),
                TargetSplit::Validation => proxyland_dataset::validation_seed(args.seed),
            };
            (0..n as u64)
                .map(|j| {
                    let (x, y) = sample_target(sim.as_ref(), seed, j)?;
                    Ok(Target { x, y })
                })
                .collect::<Result<_>>()?
        }
    };
    if targets.is_empty() {
        bail!(
            "--data {}: the pool holds no {} targets",
            args.data.as_deref().unwrap_or(Path::new("?")).display(),
            args.split.name()
        );
    }
    let methods: Vec<String> = if args.methods.iter().any(|m| m == "all") {
        let mut all: Vec<String> = METHOD_NAMES.iter().map(|s| s.to_string()).collect();
        if args.models.is_empty() {
            all.retain(|m| !m.starts_with("proxy"));
        }
        // `all` is the paper's protocol and its baselines; inverse-pool, a study of the
        // refine profile, is asked for by name (and so no cached `all` run changes meaning).
        all.retain(|m| {
            m != "inverse-pool"
                && Method::parse(m, 0).is_ok_and(|method| {
                    !(method.needs_inverse() && args.inverse_models.is_empty()
                        || method.needs_library() && pool.is_none())
                })
        });
        all
    } else {
        args.methods.clone()
    };
    let parsed: Vec<Method> = methods
        .iter()
        .map(|m| Method::parse(m, 0))
        .collect::<Result<_, _>>()?;
    for (m, method) in methods.iter().zip(&parsed) {
        if method.needs_library() && pool.is_none() {
            bail!("--methods {m} searches the training pool: give --data");
        }
        if method.needs_surrogate() && args.models.is_empty() {
            bail!("--methods {m} needs trained proxies: give --models");
        }
        if method.needs_inverse() && args.inverse_models.is_empty() {
            bail!("--methods {m} needs trained inverse networks: give --inverse-models");
        }
    }
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
        budget_units: budget_units_from(args.budget_units_from.as_deref())?,
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

/// Each inverse network's prediction for every target (one batch each: a forward pass) and,
/// with test-time training, a second start per network from that training on the targets.
fn inverse_guesses(
    paths: &[PathBuf],
    adaptation: Option<Adaptation>,
    sim: &dyn Simulator,
    targets: &[Target],
) -> Result<Vec<InverseGuesses>> {
    let ys: Vec<_> = targets.iter().map(|t| t.y.clone()).collect();
    let mut all = Vec::new();
    for p in paths {
        let net =
            InverseModel::load(p).with_context(|| format!("--inverse-models {}", p.display()))?;
        net.check_compatible(sim)?;
        let meta = net.meta();
        let plain = InverseGuesses {
            variant: meta.variant.name().to_string(),
            path: p.clone(),
            u: net.predict(&ys)?,
            training_sim_calls: meta.training.sim_calls(),
            training_field_solves: meta.training.field_solves(sim.tangent_cost()),
            adaptation_calls: 0,
            adaptation_seconds: 0.0,
            training_seconds: meta.training.seconds,
        };
        all.push(plain.clone());
        if let Some(adaptation) = adaptation {
            let adapted = net
                .adapt(sim, &ys, adaptation)
                .with_context(|| format!("test-time training of {}", p.display()))?;
            all.push(InverseGuesses {
                variant: format!("{}+tt", plain.variant),
                u: adapted.u,
                adaptation_calls: adapted.calls_per_observation,
                adaptation_seconds: adapted.seconds / ys.len().max(1) as f64,
                ..plain
            });
        }
    }
    Ok(all)
}

#[derive(Debug, clap::Args)]
pub struct SelectArgs {
    /// Validation results (`evaluate --split validation`) of the same pool: a σ sweep, then a λ
    /// sweep, and so on. The choice is made over all of them.
    #[arg(long, num_args = 1.., required = true)]
    validation: Vec<PathBuf>,
    /// The selection JSON (σ, λ, the rule, the validation numbers).
    #[arg(long)]
    out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    force: bool,
}

/// `proxyland select`: the headline configuration, chosen on validation targets only.
pub fn run_select(args: SelectArgs) -> Result<()> {
    let inputs: Vec<(&str, &Path)> = args
        .validation
        .iter()
        .map(|p| ("--validation", p.as_path()))
        .collect();
    output::check_output("--out", &args.out, &inputs, args.force)?;
    let validations: Vec<Results> = args
        .validation
        .iter()
        .map(|p| read_results(p).with_context(|| format!("--validation {}", p.display())))
        .collect::<Result<_>>()?;
    let refs: Vec<&Results> = validations.iter().collect();
    let selection = select_configuration(&refs)?;
    let json = serde_json::to_string_pretty(&selection)?;
    output::write_atomically(&args.out, |w| Ok(w.write_all(json.as_bytes())?))?;
    say!(
        "chosen on {} validation targets: σ = {}, λ = {} (proxy-multistart success {:.2}, argmin error {:.3})",
        selection.validation_targets,
        selection.noise,
        selection.penalty,
        selection.validation_success,
        selection.validation_argmin_error
    );
    say!("wrote {}", args.out.display());
    Ok(())
}
