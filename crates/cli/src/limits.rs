//! `proxyland limits`: what limits success on a pool's test targets: the Jacobian's
//! conditioning at the truth, the basin's size, and how near the pool comes
//! (`proxyland_optim::limits`). The refine profile runs it on every member it studies.

use crate::args::library_of;
use crate::{output, progress};
use anyhow::{Result, bail};
use proxyland_dataset::{ExperimentConfig, Pool};
use proxyland_optim::Target;
use proxyland_optim::limits::probe_member;
use std::path::PathBuf;

/// The most probe starts per radius and target.
const MAX_TRIALS: usize = 64;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A pool with held-out test targets (`proxyland generate`); its samples are the data
    /// whose nearness is measured.
    #[arg(long)]
    data: PathBuf,
    /// Probe starts per radius and target.
    #[arg(long, default_value_t = 2)]
    trials: usize,
    /// Seeds the probes' directions.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The limits JSON.
    #[arg(long)]
    out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<()> {
    if args.trials == 0 || args.trials > MAX_TRIALS {
        bail!("--trials {}: give 1 to {MAX_TRIALS}", args.trials);
    }
    output::check_output("--out", &args.out, &[("--data", &args.data)], args.force)?;
    let pool = Pool::open(&args.data)?;
    let config = ExperimentConfig::parse(&args.data, &pool.header.config_text)?;
    let sim = config.simulator()?;
    let targets: Vec<Target> = (0..pool.target_params.nrows())
        .map(|i| Target {
            x: pool.target_params.row(i).to_vec(),
            y: pool
                .target_trajectories
                .index_axis(ndarray::Axis(0), i)
                .to_owned(),
        })
        .collect();
    if targets.is_empty() {
        bail!(
            "--data {}: the pool holds no test targets",
            args.data.display()
        );
    }
    let library = library_of(&pool, sim.as_ref())?;
    let bar = progress::bar(targets.len() as u64, "probing");
    let done = std::sync::atomic::AtomicUsize::new(0);
    let tick = || {
        let now = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        bar.set_position(now as u64);
    };
    let limits = probe_member(
        sim.as_ref(),
        &targets,
        Some(&library),
        args.trials,
        args.seed,
        &tick,
    )?;
    bar.finish_and_clear();
    let json = serde_json::to_string_pretty(&limits)?;
    output::write_atomically(&args.out, |w| Ok(w.write_all(json.as_bytes())?))?;
    tracing::info!(targets = targets.len(), out = %args.out.display(), "limits written");
    Ok(())
}
