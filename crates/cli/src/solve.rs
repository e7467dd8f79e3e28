//! `proxyland solve`: the inverse problem for a user's observations: one, or many at once with
//! one loaded model, each answer with standard errors and a verdict.

use crate::evaluate::library_of;
use crate::output;
use crate::progress;
use crate::simulate::parse_params;
use anyhow::{Result, bail};
use proxyland_dataset::{ExperimentConfig, Pool, read_observations};
use proxyland_optim::{
    LocalSettings, Method, Problem, StopReason, SurrogateModel, TargetSplit, Trust, gauss_newton,
    is_success, run, start_of, verdict,
};
use proxyland_physics::rng::Stream;
use proxyland_physics::{Simulator, Trajectory};
use proxyland_proxy::Proxy;
use rayon::prelude::*;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct SolveArgs {
    /// Experiment (gramacy-lee, burgers, ks, billiards2d, billiards4d).
    #[arg(long)]
    experiment: String,
    /// Observations: CSV (frames × state), NumPy .npy (2-D, or 3-D for many) or HDF5 (see
    /// --dataset). Their shape must be the experiment's.
    #[arg(long, alias = "target-file", conflicts_with = "target")]
    observed: Option<PathBuf>,
    /// The HDF5 dataset holding the observations (default: /trajectory).
    #[arg(long, requires = "observed")]
    dataset: Option<String>,
    /// Synthetic test: simulate the observation from these true parameters, and report success.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    target: Vec<String>,
    /// Fold --target and --init into the box instead of refusing values outside it.
    #[arg(long)]
    fold: bool,
    /// Method (default: pool-bfgs with --data, else multistart-bfgs).
    #[arg(long)]
    method: Option<String>,
    /// Trained proxy (for proxy methods).
    #[arg(long)]
    model: Option<PathBuf>,
    /// A pool of the same experiment: pool-bfgs searches it, and its config sets the simulator.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Start point of single-start methods (default: a uniform draw from --seed).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    init: Vec<String>,
    /// Simulator-call budget for multistart-bfgs, cmaes and de.
    #[arg(long, default_value_t = 500)]
    budget: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Standard deviation of the observations' noise: answers whose residual RMS exceeds 1.5 ×
    /// it are flagged.
    #[arg(long, allow_hyphen_values = true)]
    noise_std: Option<f64>,
    /// Write every objective evaluation (true loss and proxy) to this CSV (one observation).
    #[arg(long)]
    iterates: Option<PathBuf>,
    /// Write the answers to this file (.csv or .json), one row per observation.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the answers as JSON.
    #[arg(long)]
    json: bool,
    /// Replace --out and --iterates if they exist.
    #[arg(long)]
    force: bool,
}

/// An answer's uncertainty, and why it could not be computed if it could not.
type Reported = (proxyland_optim::Uncertainty, Option<String>);

/// One observation's answer, as printed and written.
#[derive(Debug, Clone, Serialize)]
struct SolvedRow {
    observation: usize,
    method: String,
    x_hat: Vec<f64>,
    std_err: Vec<f64>,
    resim_loss: f64,
    residual_rms: f64,
    sim_calls: usize,
    surrogate_evals: usize,
    wall_s: f64,
    verdict: Trust,
    stopped: Option<StopReason>,
    x_star: Option<Vec<f64>>,
    success: Option<bool>,
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

pub fn run_solve(args: SolveArgs) -> Result<()> {
    let (sim, pool) = simulator(&args)?;
    let space = sim.param_space().clone();
    if let Some(sigma) = args.noise_std {
        if !(sigma > 0.0 && sigma.is_finite()) {
            bail!("--noise-std {sigma}: must be a positive number");
        }
    }
    // Outputs are checked before any work, against every input.
    let mut inputs: Vec<(&str, &std::path::Path)> = Vec::new();
    if let Some(p) = &args.observed {
        inputs.push(("--observed", p));
    }
    if let Some(p) = &args.model {
        inputs.push(("--model", p));
    }
    if let Some(p) = &args.data {
        inputs.push(("--data", p));
    }
    if let Some(out) = &args.out {
        if !matches!(
            out.extension().and_then(|e| e.to_str()),
            Some("csv" | "json")
        ) {
            bail!("--out {}: use a .csv or .json file", out.display());
        }
        output::check_output("--out", out, &inputs, args.force)?;
    }
    if let Some(it) = &args.iterates {
        if let Some(out) = &args.out {
            inputs.push(("--out", out));
        }
        output::check_output("--iterates", it, &inputs, args.force)?;
    }
    // The observations, and the truth where it is known.
    let (observations, truth): (Vec<Trajectory>, Vec<Option<Vec<f64>>>) =
        match (&args.observed, args.target.is_empty()) {
            (Some(f), _) => {
                let obs = read_observations(
                    f,
                    args.dataset.as_deref(),
                    sim.trajectory_shape(),
                    &sim.frame_times(),
                )?;
                // The truth a file carries counts only if it is one row of d values per
                // observation; anything else is not this experiment's truth.
                let truth_rows = obs
                    .truth
                    .as_ref()
                    .filter(|t| t.nrows() == obs.len() && t.ncols() == space.dim());
                let truth = (0..obs.len())
                    .map(|k| truth_rows.map(|t| t.row(k).to_vec()))
                    .collect();
                ((0..obs.len()).map(|k| obs.get(k)).collect(), truth)
            }
            (None, false) => {
                let x = parse_params(&args.target, "--target")?;
                if !args.fold {
                    crate::inside_box(sim.as_ref(), &x, "--target")?;
                }
                let y = sim.simulate(&x)?;
                (vec![y], vec![Some(space.fold(&x).0)])
            }
            (None, true) => bail!(
                "give --observed FILE (your data: .csv, .npy or .h5) or --target x1,x2,.. (a \
                 synthetic test)"
            ),
        };
    let k = observations.len();
    if args.iterates.is_some() && k > 1 {
        bail!("--iterates records one solve; --observed holds {k} observations");
    }
    let init = if args.init.is_empty() {
        None
    } else {
        let x0 = parse_params(&args.init, "--init")?;
        if !args.fold {
            crate::inside_box(sim.as_ref(), &x0, "--init")?;
        }
        Some(space.to_unit(&space.fold(&x0).0))
    };
    let method_name = match (&args.method, &args.data) {
        (Some(m), _) => m.clone(),
        (None, Some(_)) => "pool-bfgs".into(),
        (None, None) => "multistart-bfgs".into(),
    };
    let method = Method::parse(&method_name, args.budget)?;
    if method.needs_inverse() {
        bail!(
            "--method {method_name}: `solve` takes no inverse network; evaluate one with \
             `proxyland evaluate --methods inverse-net --inverse-models FILE`"
        );
    }
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
    proxyland_proxy::device::set_threads(1);
    let trace = proxyland_optim::Trace::default();
    let bar = progress::bar(k as u64, "solving");
    let done = std::sync::atomic::AtomicUsize::new(0);
    let started = std::time::Instant::now();
    // The answer's resimulation with tangents; if it fails (a blow-up at X̂), the answer is kept
    // with infinite errors and a failed verdict instead of aborting the batch.
    let uncertainty_of = |answer: &proxyland_optim::Answer, y: &Trajectory| -> Reported {
        match gauss_newton(sim.as_ref(), &answer.x_hat, y, args.noise_std) {
            Ok(u) => (u, None),
            Err(e) => (
                proxyland_optim::Uncertainty {
                    resim_loss: f64::INFINITY,
                    residual_rms: f64::INFINITY,
                    std_err: vec![f64::INFINITY; space.dim()],
                },
                Some(format!("the answer's resimulation failed: {e}")),
            ),
        }
    };
    let solve_one = |i: usize| -> Result<(proxyland_optim::Answer, Reported)> {
        let problem = Problem {
            sim: sim.as_ref(),
            target: &observations[i],
            u0: init
                .clone()
                .unwrap_or_else(|| start_of(args.seed, TargetSplit::Test, i, space.dim())),
            trace: None,
            library: library.as_ref(),
        };
        let mut stream = Stream::new(args.seed, 1 + i as u64);
        let answer = run(
            &method,
            &problem,
            proxy.as_ref().map(|p| p as &dyn SurrogateModel),
            LocalSettings::default(),
            &mut stream,
        )?;
        let uncertainty = uncertainty_of(&answer, &observations[i]);
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        bar.set_position(n as u64);
        Ok((answer, uncertainty))
    };
    let solved: Vec<(proxyland_optim::Answer, Reported)> = if k == 1 {
        // One observation: record the iterates if asked (the trace is not shared across threads).
        let problem = Problem {
            sim: sim.as_ref(),
            target: &observations[0],
            u0: init
                .clone()
                .unwrap_or_else(|| start_of(args.seed, TargetSplit::Test, 0, space.dim())),
            trace: args.iterates.as_ref().map(|_| &trace),
            library: library.as_ref(),
        };
        let answer = run(
            &method,
            &problem,
            proxy.as_ref().map(|p| p as &dyn SurrogateModel),
            LocalSettings::default(),
            &mut Stream::new(args.seed, 1),
        )?;
        let uncertainty = uncertainty_of(&answer, &observations[0]);
        vec![(answer, uncertainty)]
    } else {
        (0..k)
            .into_par_iter()
            .map(solve_one)
            .collect::<Result<Vec<_>>>()?
    };
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    // Verdicts: against the noise level if given, else against the batch's best residuals.
    let mut residuals: Vec<f64> = solved.iter().map(|(_, (u, _))| u.residual_rms).collect();
    residuals.sort_by(f64::total_cmp);
    let batch_best = (k >= 3).then(|| residuals[k / 4]);
    let rows: Vec<SolvedRow> = solved
        .into_iter()
        .enumerate()
        .map(|(i, (a, (u, resim_failure)))| {
            let data_rms = (observations[i].iter().map(|v| v * v).sum::<f64>()
                / observations[i].len() as f64)
                .sqrt();
            let failure = resim_failure.or_else(|| {
                a.stopped
                    .as_ref()
                    .filter(|s| s.is_failure())
                    .map(|s| s.to_string())
            });
            let trust = verdict(
                u.residual_rms,
                data_rms,
                args.noise_std,
                batch_best,
                failure.as_deref(),
            );
            let (success, x_star) = match &truth[i] {
                Some(x) => (
                    Some(is_success(sim.as_ref(), &a.x_hat, x).0),
                    Some(x.clone()),
                ),
                None => (None, None),
            };
            SolvedRow {
                observation: i,
                method: method_name.clone(),
                x_hat: a.x_hat,
                std_err: u.std_err,
                resim_loss: u.resim_loss,
                residual_rms: u.residual_rms,
                sim_calls: a.sim_calls,
                surrogate_evals: a.surrogate_evals,
                wall_s: a.wall_s,
                verdict: trust,
                stopped: a.stopped,
                x_star,
                success,
            }
        })
        .collect();
    if let Some(out) = &args.out {
        write_rows(out, &rows, &space.names)?;
    }
    if args.json {
        let json = if k == 1 {
            serde_json::to_string_pretty(&rows[0])?
        } else {
            serde_json::to_string_pretty(&rows)?
        };
        println!("{json}");
    } else if k == 1 {
        print_one(&rows[0], &space.names);
    } else {
        println!(
            "solved {k} observations with {method_name} in {seconds:.2} s ({:.1} per second)",
            k as f64 / seconds
        );
        // The answers are in --out; the ones not to trust are named here.
        for r in rows.iter().filter(|r| !r.verdict.is_ok()) {
            let (word, reason) = verdict_words(&r.verdict);
            println!("observation {}: {word}: {reason}", r.observation);
        }
    }
    if let Some(out) = &args.out {
        println!("wrote {} ({} answers)", out.display(), rows.len());
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
    let untrusted = rows.iter().filter(|r| !r.verdict.is_ok()).count();
    if untrusted > 0 {
        bail!(
            "{untrusted} of {k} answers did not pass their verdict (failed or suspect): see the \
             verdicts above{}",
            if args.noise_std.is_none() {
                "; for noisy data, give --noise-std"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// The verdict as printed: a word (upper case when it is a warning) and its reason.
fn verdict_words(t: &Trust) -> (&'static str, &str) {
    match t {
        Trust::Ok { reason } => ("ok", reason),
        Trust::Suspect { reason } => ("SUSPECT", reason),
        Trust::Failed { reason } => ("FAILED", reason),
    }
}

fn print_one(r: &SolvedRow, names: &[String]) {
    println!("method:          {}", r.method);
    println!("X̂:               {:?}  ({})", r.x_hat, names.join(", "));
    println!(
        "std. errors:     {:?}  (Gauss–Newton, exact Jacobian)",
        r.std_err
    );
    println!(
        "resim loss:      {:.6e}  (residual RMS {:.3e})",
        r.resim_loss, r.residual_rms
    );
    println!(
        "simulator calls: {} (proxy evaluations: {})",
        r.sim_calls, r.surrogate_evals
    );
    println!("wall time:       {:.3} s", r.wall_s);
    let (word, reason) = verdict_words(&r.verdict);
    println!("verdict:         {word}: {reason}");
    if let (Some(x), Some(ok)) = (&r.x_star, r.success) {
        println!("X*:              {x:?}; success: {ok}");
    }
    if let Some(reason) = &r.stopped {
        println!("stopped early:   {reason}");
    }
}

fn write_rows(path: &std::path::Path, rows: &[SolvedRow], names: &[String]) -> Result<()> {
    if path.extension().and_then(|e| e.to_str()) == Some("json") {
        let json = serde_json::to_string_pretty(rows)?;
        return output::write_atomically(path, |w| Ok(w.write_all(json.as_bytes())?));
    }
    output::write_atomically(path, |w| {
        let se: Vec<String> = names.iter().map(|n| format!("std_err_{n}")).collect();
        writeln!(
            w,
            "observation,{},{},resim_loss,residual_rms,sim_calls,verdict,success",
            names.join(","),
            se.join(",")
        )?;
        for r in rows {
            let x: Vec<String> = r.x_hat.iter().map(|v| format!("{v:.17e}")).collect();
            let e: Vec<String> = r.std_err.iter().map(|v| format!("{v:.6e}")).collect();
            let verdict = match r.verdict {
                Trust::Ok { .. } => "ok",
                Trust::Suspect { .. } => "suspect",
                Trust::Failed { .. } => "failed",
            };
            writeln!(
                w,
                "{},{},{},{:.6e},{:.6e},{},{verdict},{}",
                r.observation,
                x.join(","),
                e.join(","),
                r.resim_loss,
                r.residual_rms,
                r.sim_calls,
                r.success.map_or(String::new(), |s| s.to_string())
            )?;
        }
        Ok(())
    })
}
