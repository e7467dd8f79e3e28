//! `proxyland evaluate` and `proxyland solve`.

use crate::output;
use crate::progress;
use crate::simulate::parse_params;
use anyhow::{Context, Result, bail};
use proxyland_dataset::{ExperimentConfig, Pool, TrajectoryFile};
use proxyland_optim::{
    EvaluateOptions, LocalSettings, METHOD_NAMES, Method, Problem, SampleLibrary, Target, evaluate,
    run, start_of,
};
use proxyland_physics::rng::Stream;
use proxyland_physics::{Simulator, sample_target};
use proxyland_proxy::Proxy;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Experiment config (optional when --data is given: the pool carries its config).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Pool whose held-out targets are evaluated.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Trained proxies; proxy methods run once per checkpoint.
    #[arg(long, num_args = 1..)]
    models: Vec<PathBuf>,
    /// Comma-separated method names, or `all`.
    #[arg(long, default_value = "all", value_delimiter = ',')]
    methods: Vec<String>,
    /// Draw this many targets with --seed instead of using the pool's.
    #[arg(long)]
    targets: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Budgets of the baselines as multiples of the proxy method's spend.
    #[arg(long, default_value = "1,10", value_delimiter = ',')]
    budgets: Vec<usize>,
    /// Results JSON.
    #[arg(long)]
    out: PathBuf,
}

pub fn run_evaluate(args: Args) -> Result<()> {
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
        (None, Some(pool)) => (0..pool.target_params.nrows())
            .map(|i| Target {
                x: pool.target_params.row(i).to_vec(),
                y: pool
                    .target_trajectories
                    .index_axis(ndarray::Axis(0), i)
                    .to_owned(),
            })
            .collect(),
        (n, _) => {
            let n = n.unwrap_or(50);
            let seed = proxyland_dataset::target_seed(args.seed);
            (0..n as u64)
                .map(|j| {
                    let (x, y) = sample_target(sim.as_ref(), seed, j)?;
                    Ok(Target { x, y })
                })
                .collect::<Result<_>>()?
        }
    };
    let methods: Vec<String> = if args.methods.iter().any(|m| m == "all") {
        let mut all: Vec<String> = METHOD_NAMES.iter().map(|s| s.to_string()).collect();
        if args.models.is_empty() {
            all.retain(|m| !m.starts_with("proxy"));
        }
        if pool.is_none() {
            all.retain(|m| m != "pool-bfgs");
        }
        all
    } else {
        args.methods.clone()
    };
    for m in &methods {
        if Method::parse(m, 0)?.needs_library() && pool.is_none() {
            bail!("--methods {m} searches the training pool: give --data");
        }
    }
    if args.budgets.is_empty() || args.budgets.contains(&0) {
        bail!("--budgets: give positive multiples, e.g. 1,10");
    }
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            bail!(
                "--out {}: folder {} does not exist",
                args.out.display(),
                dir.display()
            );
        }
    }
    let library = match &pool {
        Some(p) if methods.iter().any(|m| m == "pool-bfgs") => Some(library_of(p, sim.as_ref())?),
        _ => None,
    };
    let opts = EvaluateOptions {
        methods,
        checkpoints: args.models.clone(),
        seed: args.seed,
        settings: LocalSettings {
            max_iters: config.evaluation.max_iters,
            grad_tolerance: config.evaluation.grad_tolerance,
        },
        budget_multipliers: args.budgets.clone(),
        library,
    };
    proxyland_proxy::device::set_threads(1);
    tracing::info!(experiment = %config.experiment, targets = targets.len(), methods = ?opts.methods, "evaluating");
    let bar = progress::bar(0, "evaluating");
    let results = evaluate(
        sim.as_ref(),
        &config.experiment,
        config.spec_version,
        &targets,
        &opts,
        &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )?;
    bar.finish_and_clear();
    let json = serde_json::to_string_pretty(&results)?;
    output::write_atomically(&args.out, |w| Ok(w.write_all(json.as_bytes())?))?;
    println!(
        "{:<28} {:>8} {:>12} {:>12} {:>10} {:>8}",
        "method", "success", "resim loss", "param err", "sim calls", "wall s"
    );
    for s in results.methods.values() {
        println!(
            "{:<28} {:>8.2} {:>12.3e} {:>12.3e} {:>10.1} {:>8.3}",
            s.method,
            s.success_rate,
            s.median_resim_loss,
            s.median_param_error,
            s.mean_sim_calls,
            s.wall_s
        );
    }
    println!("wrote {}", args.out.display());
    Ok(())
}

/// The pool's valid samples as a lookup table for `pool-bfgs`.
fn library_of(pool: &Pool, sim: &dyn Simulator) -> Result<SampleLibrary> {
    let valid = pool.valid();
    let space = sim.param_space();
    let unit = ndarray::Array2::from_shape_fn((valid.len(), space.dim()), |(r, j)| {
        space.to_unit(&pool.params.row(valid[r]).to_vec())[j]
    });
    let trajectories = pool.trajectories.select(ndarray::Axis(0), &valid);
    SampleLibrary::new(unit, trajectories)
        .with_context(|| format!("{}: no usable samples for pool-bfgs", pool.path.display()))
}

#[derive(Debug, clap::Args)]
pub struct SolveArgs {
    /// Experiment (gramacy-lee, burgers, ks, billiards2d, billiards4d).
    #[arg(long)]
    experiment: String,
    /// True parameters to simulate the target from (or use --target-file).
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        conflicts_with = "target_file"
    )]
    target: Vec<String>,
    /// A trajectory file written by `proxyland simulate --out x.h5`.
    #[arg(long)]
    target_file: Option<PathBuf>,
    /// Method name.
    #[arg(long, default_value = "bfgs")]
    method: String,
    /// Trained proxy (for proxy methods).
    #[arg(long)]
    model: Option<PathBuf>,
    /// A pool of the same experiment (for pool-bfgs, which searches its samples).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Start point (default: a uniform draw from --seed).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    init: Vec<String>,
    /// Simulator-call budget for multistart-bfgs, cmaes and de.
    #[arg(long, default_value_t = 500)]
    budget: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write every objective evaluation (true loss and proxy) to this CSV.
    #[arg(long)]
    iterates: Option<PathBuf>,
}

pub fn run_solve(args: SolveArgs) -> Result<()> {
    let sim: Box<dyn Simulator> = proxyland_physics::experiment(&args.experiment)?;
    let space = sim.param_space().clone();
    let (x_star, y) = match (&args.target_file, args.target.is_empty()) {
        (Some(f), _) => {
            let t = TrajectoryFile::read(f)?;
            if t.experiment != args.experiment {
                bail!(
                    "--target-file {} holds {}, not {}",
                    f.display(),
                    t.experiment,
                    args.experiment
                );
            }
            (t.params.clone(), t.trajectory)
        }
        (None, false) => {
            let x = parse_params(&args.target).context("--target")?;
            let y = sim.simulate(&x)?;
            (space.fold(&x).0, y)
        }
        (None, true) => bail!("give --target x1,x2,.. or --target-file traj.h5"),
    };
    let u0 = if args.init.is_empty() {
        start_of(args.seed, 0, space.dim())
    } else {
        let x0 = parse_params(&args.init).context("--init")?;
        space.check(sim.name(), &x0)?;
        space.to_unit(&x0)
    };
    let method = Method::parse(&args.method, args.budget)?;
    let proxy = match (&args.model, method.needs_proxy()) {
        (Some(p), _) => {
            let proxy = Proxy::load(p)?;
            proxy.check_compatible(sim.name(), space.dim(), sim.trajectory_shape())?;
            Some(proxy)
        }
        (None, true) => bail!("--method {} needs --model", args.method),
        (None, false) => None,
    };
    let library = match (&args.data, method.needs_library()) {
        (Some(d), true) => {
            let pool = Pool::open(d)?;
            let config = ExperimentConfig::parse(d, &pool.header.config_text)?;
            if config.experiment != args.experiment {
                bail!(
                    "--data {} holds {}, not {}",
                    d.display(),
                    config.experiment,
                    args.experiment
                );
            }
            Some(library_of(&pool, sim.as_ref())?)
        }
        (None, true) => bail!("--method {} needs --data (a pool to search)", args.method),
        (_, false) => None,
    };
    let trace = proxyland_optim::Trace::default();
    let problem = Problem {
        sim: sim.as_ref(),
        target: &y,
        x_star: &x_star,
        u0,
        index: 0,
        trace: args.iterates.as_ref().map(|_| &trace),
        library: library.as_ref(),
    };
    let mut stream = Stream::new(args.seed, 1);
    let o = run(
        &method,
        &problem,
        proxy.as_ref(),
        LocalSettings::default(),
        &mut stream,
    )?;
    println!("method:          {}", o.method);
    println!(
        "X̂:               {:?}  ({})",
        o.x_hat,
        space.names.join(", ")
    );
    println!("resim loss:      {:.6e}", o.resim_loss);
    println!(
        "simulator calls: {} (proxy evaluations: {})",
        o.sim_calls, o.proxy_evals
    );
    println!("wall time:       {:.3} s", o.wall_s);
    if !args.target.is_empty() {
        println!(
            "X*:              {x_star:?}; success: {} (max error {:.2e} of the box)",
            o.success, o.param_error
        );
    }
    if let Some(reason) = o.stopped {
        println!("stopped early:   {reason}");
    }
    if let Some(path) = &args.iterates {
        let points = trace.into_inner();
        output::write_atomically(path, |w| {
            writeln!(w, "evaluation,objective,{},value", space.names.join(","))?;
            for (i, p) in points.iter().enumerate() {
                let (x, _) = space.fold(&space.from_unit(&p.u));
                let x: Vec<String> = x.iter().map(|v| format!("{v:.17e}")).collect();
                writeln!(w, "{i},{},{},{:.17e}", p.objective, x.join(","), p.value)?;
            }
            Ok(())
        })?;
        println!(
            "iterates:        {} evaluations in {}",
            points.len(),
            path.display()
        );
    }
    Ok(())
}
