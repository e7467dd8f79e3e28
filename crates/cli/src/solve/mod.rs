//! `proxyland solve`: the inverse problem for a user's observations: one, or many at once with
//! one loaded model, each answer judged on its own (optim's `judge`) and written in one stable
//! shape (see `answers`).

mod input;
mod present;
mod wiring;

use crate::answers::AnswerRow;
use crate::args::library_of;
use crate::{interrupt, progress};
use anyhow::{Result, bail};
use input::{noise_of, observations};
use present::{check_outputs, finish, present, write_iterates};
use proxyland_optim::{Observation, SurrogateModel, solve_observation};
use rayon::prelude::*;
use std::path::PathBuf;
use wiring::{init_start, method_of, predicted_starts, proxy_of, settings_of, simulator};

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
    let init = init_start(&args, sim.as_ref())?;
    let predicted = predicted_starts(&args, sim.as_ref(), &observations)?;
    let proxy = proxy_of(&args, sim.as_ref(), &method, &method_name)?;
    let library = match (&pool, method.needs_library()) {
        (Some(p), true) => Some(library_of(p, sim.as_ref())?),
        (None, true) => bail!("--method {method_name} needs --data (a pool to search)"),
        (_, false) => None,
    };
    let settings = settings_of(&args, &method)?;
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
            let observation = Observation {
                target: &observations[i],
                noise: &noise[i],
                start: match (&predicted, &init) {
                    (Some(p), _) => Some(p[i].clone()),
                    (None, init) => init.clone(),
                },
                truth: truth[i].as_deref(),
            };
            let solved = solve_observation(
                sim.as_ref(),
                &observation,
                &method,
                proxy.as_ref().map(|p| p as &dyn SurrogateModel),
                library.as_ref(),
                settings,
                args.seed,
                trace,
            );
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            bar.set_position(n as u64);
            Ok(Some(AnswerRow::new(
                i,
                &args.experiment,
                &method_name,
                &space.names,
                solved,
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
    finish(&args, &rows, k, complete)
}
