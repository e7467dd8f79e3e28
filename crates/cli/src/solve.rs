//! `proxyland solve`: the inverse problem for a user's observations: one, or many at once with
//! one loaded model, each answer judged on its own (optim's `judge`) and written in one stable
//! shape (see `answers`).

use crate::answers::{self, AnswerRow};
use crate::args::{horizon_is_continuation, inside_box, library_of, parse_params};
use crate::{interrupt, output, progress};
use anyhow::{Context, Result, bail};
use proxyland_dataset::{ExperimentConfig, Pool, read_observations};
use proxyland_optim::{
    LocalSettings, Method, Noise, Problem, Refine, SurrogateModel, is_success, judge, run,
};
use proxyland_physics::rng::Stream;
use proxyland_physics::{Simulator, Trajectory};
use proxyland_proxy::Proxy;
use rayon::prelude::*;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The largest simulator budget `--budget` accepts: past it a solve runs for days.
const MAX_BUDGET: usize = 1_000_000;

#[derive(Debug, clap::Args)]
pub struct SolveArgs {
    /// Experiment: gramacy-lee, burgers, ks, billiards2d, billiards4d, or a scaling family
    /// member burgers-k{1,2,4,8}, ks-m{2,4,8,16}.
    #[arg(long)]
    experiment: String,
    /// Observations: CSV (frames × state), NumPy .npy (2-D, or 3-D for many) or HDF5 (see
    /// --dataset). Their shape must be the experiment's.
    #[arg(long, alias = "target-file", conflicts_with = "target")]
    observed: Option<PathBuf>,
    /// The HDF5 dataset holding the observations (default: /trajectory).
    #[arg(long, requires = "observed")]
    dataset: Option<String>,
    /// The separator of CSV observations (default: detected among `,`, `;`, tab and spaces).
    #[arg(long)]
    delimiter: Option<char>,
    /// Synthetic test: simulate the observation from these true parameters, and report success.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    target: Vec<String>,
    /// Fold --target and --init into the box instead of refusing values outside it.
    #[arg(long)]
    fold: bool,
    /// Method (default: inverse-pool with --data and --inverse-model, pool-bfgs with --data,
    /// inverse-net with --inverse-model, else multistart-bfgs).
    #[arg(long)]
    method: Option<String>,
    /// Trained proxy (for proxy methods).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Trained inverse network (`proxyland train-inverse`) for `--method inverse-net` and
    /// `inverse-pool`: its prediction for each observation is refined on the simulator
    /// (inverse-pool then refines the pool's nearest samples until one fits).
    #[arg(long)]
    inverse_model: Option<PathBuf>,
    /// A pool of the same experiment: pool-bfgs searches it, and its config sets the simulator.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Start point of single-start methods (default: a uniform draw from --seed).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    init: Vec<String>,
    /// How a refining method (not bfgs, lbfgs, gd, adam, proxy or multistart-bfgs) refines on
    /// the true loss: lm (Levenberg–Marquardt on the exact Jacobian; the default), bfgs or
    /// bfgs+lm. In results/scaling/REFINE.md LM under continuation solved at least as many
    /// targets as one-shot LM, BFGS or BFGS+LM on every member.
    #[arg(long)]
    refine: Option<String>,
    /// continuation (the default for pool-bfgs, inverse-net, inverse-pool and the proxy's
    /// two-stage methods: fit the first quarter of the observed frames, then half, then all,
    /// each stage from where the last ended) or full (every frame from the start).
    #[arg(long)]
    horizon: Option<String>,
    /// Multi-start methods (pool-bfgs, inverse-pool, proxy-multistart) stop at the first start
    /// that fits exactly: the refine study's cost (results/scaling/REFINE.md), but the verdict
    /// then sees no other minimum and cannot call an answer ambiguous.
    #[arg(long)]
    stop_at_fit: bool,
    /// Simulator-call budget of multistart-bfgs, cmaes and de (default 500).
    #[arg(long)]
    budget: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The observations' noise: a standard deviation, or a file (CSV, .npy, HDF5) of one per
    /// value shaped like an observation. The fit is judged by χ² against it; without it σ is
    /// estimated from the residual's frame-to-frame differences.
    #[arg(long, allow_hyphen_values = true)]
    noise_std: Option<String>,
    /// Write every objective evaluation (true loss and proxy) to this CSV (one observation);
    /// under horizon continuation, the first stages' evaluations on fewer frames are marked
    /// `true-horizon`.
    #[arg(long)]
    iterates: Option<PathBuf>,
    /// Write the answers to this file (.csv or .json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the answers as JSON (docs/answers.md).
    #[arg(long)]
    json: bool,
    /// Replace --out and --iterates if they exist; accept observations whose file names
    /// another experiment.
    #[arg(long)]
    force: bool,
}

/// The simulator: the pool's own config when one is given (its resolution and horizon), else
/// the experiment's spec settings.
fn simulator(args: &SolveArgs) -> Result<(Box<dyn Simulator>, Option<Pool>)> {
    match &args.data {
        Some(d) => {
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
            Ok((config.simulator()?, Some(pool)))
        }
        None => Ok((proxyland_physics::experiment(&args.experiment)?, None)),
    }
}

/// The method, with every flag it would ignore refused by name.
fn method_of(args: &SolveArgs) -> Result<(String, Method)> {
    // The defaults are what results/scaling/REFINE.md measured best at every d: the inverse
    // network's start ahead of the pool's where both are given, the pool's alone otherwise.
    let name = match (&args.method, &args.data, &args.inverse_model) {
        (Some(m), _, _) => m.clone(),
        (None, Some(_), Some(_)) => "inverse-pool".into(),
        (None, Some(_), None) => "pool-bfgs".into(),
        (None, None, Some(_)) => "inverse-net".into(),
        (None, None, None) => "multistart-bfgs".into(),
    };
    let budget = args.budget.unwrap_or(500);
    if budget == 0 || budget > MAX_BUDGET {
        bail!("--budget {budget}: give 1 to {MAX_BUDGET} simulator calls");
    }
    let method = Method::parse(&name, budget)?;
    if method.needs_inverse() && args.inverse_model.is_none() {
        bail!("--method {name} needs --inverse-model (a network from `proxyland train-inverse`)");
    }
    let unused = [
        (args.budget.is_some() && !method.is_budgeted(), "--budget"),
        // inverse-net starts from its network's prediction.
        (
            !args.init.is_empty() && (!method.uses_start() || method.needs_inverse()),
            "--init",
        ),
        (args.model.is_some() && !method.needs_surrogate(), "--model"),
        (
            args.inverse_model.is_some() && !method.needs_inverse(),
            "--inverse-model",
        ),
        (
            args.horizon.is_some() && !method.uses_continuation(),
            "--horizon",
        ),
        (args.refine.is_some() && !method.refines(), "--refine"),
        (
            args.stop_at_fit
                && !matches!(
                    method,
                    Method::PoolBfgs { .. }
                        | Method::InversePool { .. }
                        | Method::ProxyMultistart { .. }
                ),
            "--stop-at-fit",
        ),
    ];
    if let Some((_, flag)) = unused.iter().find(|(unused, _)| *unused) {
        bail!(
            "{flag} is not used by --method {name}; leave it out or choose a method that uses it"
        );
    }
    Ok((name, method))
}

/// The noise model of each observation (a file of σ per value: one for all, or one each).
fn noise_of(args: &SolveArgs, sim: &dyn Simulator, k: usize) -> Result<Vec<Noise>> {
    let Some(text) = &args.noise_std else {
        return Ok(vec![Noise::Estimate; k]);
    };
    if let Ok(sigma) = text.trim().parse::<f64>() {
        if !(sigma > 0.0 && sigma.is_finite()) {
            bail!("--noise-std {text}: must be a positive number, or a file of them");
        }
        return Ok(vec![Noise::Given(sigma); k]);
    }
    let path = Path::new(text);
    let sigmas = read_observations(
        path,
        None,
        args.delimiter,
        sim.trajectory_shape(),
        &sim.frame_times(),
    )
    .with_context(|| format!("--noise-std {text}: neither a number nor a readable file of σ"))?;
    if sigmas.len() != 1 && sigmas.len() != k {
        bail!(
            "--noise-std {text}: holds {} arrays of σ; give 1 (for every observation) or {k}",
            sigmas.len()
        );
    }
    if sigmas
        .trajectories
        .iter()
        .any(|s| !(*s > 0.0 && s.is_finite()))
    {
        bail!("--noise-std {text}: every σ must be positive and finite");
    }
    Ok((0..k)
        .map(|i| Noise::PerPoint(sigmas.get(if sigmas.len() == 1 { 0 } else { i })))
        .collect())
}

/// The observations, and the truth where it is known.
type Observed = (Vec<Trajectory>, Vec<Option<Vec<f64>>>);

fn observations(args: &SolveArgs, sim: &dyn Simulator) -> Result<Observed> {
    let space = sim.param_space();
    match (&args.observed, args.target.is_empty()) {
        (Some(f), _) => {
            let extension = extension_of(f);
            let is_hdf5 = matches!(extension.as_str(), "h5" | "hdf5");
            let is_csv = extension == "csv";
            if args.fold {
                bail!("--fold folds --target and --init; --observed data are not folded");
            }
            if args.dataset.is_some() && !is_hdf5 {
                bail!(
                    "--dataset names an HDF5 dataset; --observed {} is no HDF5 file",
                    f.display()
                );
            }
            if args.delimiter.is_some() && !is_csv {
                bail!(
                    "--delimiter is for CSV; --observed {} is no CSV file",
                    f.display()
                );
            }
            let obs = read_observations(
                f,
                args.dataset.as_deref(),
                args.delimiter,
                sim.trajectory_shape(),
                &sim.frame_times(),
            )?;
            if let Some(theirs) = obs.experiment.as_deref() {
                if theirs != args.experiment && !args.force {
                    bail!(
                        "--observed {} says it holds {theirs}, not --experiment {}; pass --force \
                         to solve it as {} anyway",
                        f.display(),
                        args.experiment,
                        args.experiment
                    );
                }
            }
            // The truth a file carries counts only if it is one row of d values per
            // observation; anything else is not this experiment's truth.
            let truth_rows = obs
                .truth
                .as_ref()
                .filter(|t| t.nrows() == obs.len() && t.ncols() == space.dim());
            let truth = (0..obs.len())
                .map(|k| truth_rows.map(|t| t.row(k).to_vec()))
                .collect();
            Ok(((0..obs.len()).map(|k| obs.get(k)).collect(), truth))
        }
        (None, false) => {
            if args.delimiter.is_some() {
                bail!("--delimiter is for CSV observations; --target simulates its own");
            }
            let x = parse_params(&args.target, "--target")?;
            if !args.fold {
                inside_box(sim, &x, "--target")?;
            }
            let y = sim.simulate(&x)?;
            Ok((vec![y], vec![Some(space.fold(&x).0)]))
        }
        (None, true) => bail!(
            "give --observed FILE (your data: .csv, .npy or .h5) or --target x1,x2,.. (a \
             synthetic test)"
        ),
    }
}

/// Checks every output before any work, against every input.
fn check_outputs(args: &SolveArgs) -> Result<()> {
    let mut inputs: Vec<(&str, &Path)> = Vec::new();
    for (flag, p) in [
        ("--observed", &args.observed),
        ("--model", &args.model),
        ("--inverse-model", &args.inverse_model),
        ("--data", &args.data),
    ] {
        if let Some(p) = p {
            inputs.push((flag, p));
        }
    }
    // A --noise-std that is no number names a file of σ: an input too.
    let noise_file = args
        .noise_std
        .as_deref()
        .filter(|t| t.trim().parse::<f64>().is_err())
        .map(Path::new);
    if let Some(p) = noise_file {
        inputs.push(("--noise-std", p));
    }
    let partial = args.out.as_deref().map(partial_sibling);
    if let Some(out) = &args.out {
        if !matches!(extension_of(out).as_str(), "csv" | "json") {
            bail!("--out {}: use a .csv or .json file", out.display());
        }
        output::check_output("--out", out, &inputs, args.force)?;
        // Where an interrupted batch would write: checked now, not after hours of work.
        if let Some(partial) = &partial {
            output::check_output("--out (its .partial sibling)", partial, &inputs, args.force)?;
        }
        inputs.push(("--out", out));
    }
    if let Some(it) = &args.iterates {
        output::check_output("--iterates", it, &inputs, args.force)?;
    }
    Ok(())
}

pub fn run_solve(args: SolveArgs) -> Result<()> {
    let (sim, pool) = simulator(&args)?;
    let space = sim.param_space().clone();
    let (method_name, method) = method_of(&args)?;
    check_outputs(&args)?;
    let (observations, truth) = observations(&args, sim.as_ref())?;
    let k = observations.len();
    let noise = noise_of(&args, sim.as_ref(), k)?;
    if args.iterates.is_some() && k > 1 {
        bail!("--iterates records one solve; --observed holds {k} observations");
    }
    let init = if args.init.is_empty() {
        None
    } else {
        let x0 = parse_params(&args.init, "--init")?;
        if !args.fold {
            inside_box(sim.as_ref(), &x0, "--init")?;
        }
        Some(space.to_unit(&space.fold(&x0).0))
    };
    // The inverse network's starts, one per observation, predicted in one batch.
    let predicted: Option<Vec<Vec<f64>>> = match &args.inverse_model {
        Some(p) => {
            let net = proxyland_proxy::InverseModel::load(p)
                .with_context(|| format!("--inverse-model {}", p.display()))?;
            net.check_compatible(sim.as_ref())?;
            Some(net.predict(&observations)?)
        }
        None => None,
    };
    let proxy = match (&args.model, method.needs_surrogate()) {
        (Some(p), _) => {
            let proxy = Proxy::load(p)?;
            proxy.check_compatible(sim.as_ref())?;
            Some(proxy)
        }
        (None, true) => bail!("--method {method_name} needs --model (a trained proxy)"),
        (None, false) => None,
    };
    let library = match (&pool, method.needs_library()) {
        (Some(p), true) => Some(library_of(p, sim.as_ref())?),
        (None, true) => bail!("--method {method_name} needs --data (a pool to search)"),
        (_, false) => None,
    };
    // No noise-level stop here: a solve converges fully, so its χ² and its other minima are
    // what the verdict judges (unless --stop-at-fit trades the other minima for calls).
    let settings = LocalSettings {
        refine: Refine::parse(args.refine.as_deref().unwrap_or("lm"))
            .map_err(|e| anyhow::anyhow!("--refine: {e}"))?,
        continuation: method.uses_continuation()
            && horizon_is_continuation(args.horizon.as_deref(), true)?,
        stop_at_fit: args.stop_at_fit,
        ..LocalSettings::default()
    };
    proxyland_proxy::device::set_threads(1);
    let trace = proxyland_optim::Trace::default();
    if k > 1 {
        interrupt::catch();
    }
    let bar = progress::bar(k as u64, "solving");
    let done = std::sync::atomic::AtomicUsize::new(0);
    let started = std::time::Instant::now();
    // One observation, judged on its own: its verdict never depends on the rest of a batch.
    let solve_one =
        |i: usize, trace: Option<&proxyland_optim::Trace>| -> Result<Option<AnswerRow>> {
            if interrupt::interrupted() {
                return Ok(None);
            }
            // Starts and draws come from the observation's own bytes, not its place in the
            // file: the same observation gets the same answer alone or in any batch.
            let key = content_key(&observations[i]);
            let u0 = match (&predicted, &init) {
                (Some(p), _) => p[i].clone(),
                (None, Some(u)) => u.clone(),
                (None, None) => {
                    let mut s = Stream::new(args.seed ^ START_DOMAIN, key);
                    (0..space.dim()).map(|_| s.uniform()).collect()
                }
            };
            let problem = Problem {
                sim: sim.as_ref(),
                target: &observations[i],
                u0: u0.clone(),
                trace,
                library: library.as_ref(),
            };
            let answer = run(
                &method,
                &problem,
                proxy.as_ref().map(|p| p as &dyn SurrogateModel),
                settings,
                &mut Stream::new(args.seed, key),
            )
            // One observation's failure is its own FAILED row, never the batch's end.
            .unwrap_or_else(|e| failed_answer(&space, &u0, &e.to_string()));
            let judged = judge(sim.as_ref(), &answer, &observations[i], &noise[i]);
            let truth = truth[i].as_ref().map(|x| {
                let (ok, _) = is_success(sim.as_ref(), &answer.x_hat, x);
                (x.clone(), ok)
            });
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            bar.set_position(n as u64);
            Ok(Some(AnswerRow::new(
                i,
                &args.experiment,
                &method_name,
                &space.names,
                answer,
                judged,
                truth,
            )))
        };
    // One observation records its iterates if asked (a trace is not shared across threads).
    let rows: Vec<AnswerRow> = if k == 1 {
        solve_one(0, args.iterates.as_ref().map(|_| &trace))?
            .into_iter()
            .collect()
    } else {
        (0..k)
            .into_par_iter()
            .map(|i| solve_one(i, None))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect()
    };
    bar.finish_and_clear();
    let complete = rows.len() == k;
    present(
        &args,
        &rows,
        k,
        complete,
        &space.names,
        started.elapsed().as_secs_f64(),
    )?;
    if let Some(path) = &args.iterates {
        write_iterates(path, trace, &space)?;
    }
    if !complete {
        return Err(interrupt::Interrupted {
            done: rows.len(),
            of: k,
        }
        .into());
    }
    let untrusted = rows.iter().filter(|r| !r.verdict.is_ok()).count();
    if untrusted > 0 {
        bail!(
            "{untrusted} of {k} answers did not pass their verdict (failed, suspect, at the box's \
             edge or ambiguous): see the verdicts above{}",
            if args.noise_std.is_none() {
                "; for noisy data, give --noise-std"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// Writes and prints the answers: --out (a `.partial` sibling when interrupted), JSON on
/// stdout with --json, else a report (one), a table (a batch on a terminal) or CSV (a batch
/// into a pipe or file), so nothing computed is thrown away.
fn present(
    args: &SolveArgs,
    rows: &[AnswerRow],
    k: usize,
    complete: bool,
    names: &[String],
    seconds: f64,
) -> Result<()> {
    let out = args.out.as_ref().map(|out| {
        if complete {
            out.clone()
        } else {
            partial_sibling(out)
        }
    });
    if let Some(out) = &out {
        if extension_of(out) == "json" {
            let json = answers::to_json(rows, k, complete)?;
            output::write_atomically(out, |w| Ok(w.write_all(json.as_bytes())?))?;
        } else {
            output::write_atomically(out, |w| answers::write_csv(w, rows, names))?;
        }
    }
    let mut text: Vec<u8> = Vec::new();
    if args.json {
        text.extend(answers::to_json(rows, k, complete)?.as_bytes());
        text.push(b'\n');
    } else if k == 1 && complete {
        answers::write_one(&mut text, &rows[0])?;
    } else {
        use std::io::Write;
        if out.is_none() {
            if std::io::stdout().is_terminal() {
                answers::write_table(&mut text, rows, names)?;
            } else {
                answers::write_csv(&mut text, rows, names)?;
            }
        }
        if std::io::stdout().is_terminal() || out.is_some() {
            writeln!(
                text,
                "solved {} of {k} observations with {} in {seconds:.2} s",
                rows.len(),
                rows.first().map_or("-", |r| r.method.as_str())
            )?;
            for r in rows.iter().filter(|r| !r.verdict.is_ok()) {
                writeln!(
                    text,
                    "observation {}: {}: {}",
                    r.observation,
                    r.verdict.word(),
                    r.verdict.reason()
                )?;
            }
        }
    }
    output::stdout_text(&String::from_utf8_lossy(&text))?;
    if let Some(out) = &out {
        eprintln!(
            "wrote {} ({} answers{})",
            out.display(),
            rows.len(),
            if complete {
                ""
            } else {
                ", partial: interrupted"
            }
        );
    }
    Ok(())
}

/// The stream domain of `solve`'s starts (the method's own draws use the plain seed).
const START_DOMAIN: u64 = 0x736f_6c76_655f_7530;

/// A 64-bit FNV-1a hash of an observation's values: its stream index.
fn content_key(y: &Trajectory) -> u64 {
    y.iter().fold(0xcbf2_9ce4_8422_2325, |h, v| {
        v.to_bits()
            .to_le_bytes()
            .iter()
            .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
    })
}

/// The answer of a method that could not run on one observation: its start, marked failed.
fn failed_answer(
    space: &proxyland_physics::ParamSpace,
    u0: &[f64],
    why: &str,
) -> proxyland_optim::Answer {
    proxyland_optim::Answer {
        x_hat: space.fold(&space.from_unit(u0)).0,
        resim_loss: f64::INFINITY,
        sim_calls: 0,
        surrogate_evals: 0,
        wall_s: 0.0,
        stopped: Some(proxyland_optim::StopReason::ObjectiveFailed {
            message: why.to_string(),
        }),
        rounds: None,
        minima: Vec::new(),
        local_runs: 0,
        field_solves: 0,
        refinement: None,
    }
}

/// A file's extension in lower case (`.CSV` is a CSV file).
fn extension_of(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// `answers.csv` → `answers.partial.csv`: an interrupted batch's answers never take the name
/// of a complete run's.
fn partial_sibling(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("answers");
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("csv");
    out.with_file_name(format!("{stem}.partial.{ext}"))
}

fn write_iterates(
    path: &Path,
    trace: proxyland_optim::Trace,
    space: &proxyland_physics::ParamSpace,
) -> Result<()> {
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
    eprintln!(
        "iterates:        {} evaluations in {}",
        points.len(),
        path.display()
    );
    Ok(())
}
