//! `proxyland simulate`: one forward run, written where the user can plot or compare it.

use crate::args::parse_params;
use crate::output;
use anyhow::{Context, Result, bail};
use proxyland_dataset::TrajectoryFile;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Experiment: gramacy-lee, burgers, ks, ks-kt, billiards2d, billiards4d, or a scaling
    /// family member burgers-k{1,2,4,8}, ks-m{2,4,8,16}.
    #[arg(long)]
    experiment: String,
    /// Control parameters X, comma-separated (ks-kt takes none).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    params: Vec<String>,
    /// Output file: `.csv` or `.h5`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace --out if it exists.
    #[arg(long)]
    force: bool,
    /// Fold parameters outside the box into it (periodic wrap, mirror) instead of refusing them.
    #[arg(long)]
    fold: bool,
}

pub fn run(args: Args) -> Result<()> {
    let sim = proxyland_physics::experiment(&args.experiment)?;
    let x = parse_params(&args.params, "--params")?;
    if !args.fold {
        crate::args::inside_box(sim.as_ref(), &x, "--params")?;
    }
    if let Some(path) = &args.out {
        output::check_output("--out", path, &[], args.force)?;
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("csv" | "h5")
        ) {
            bail!(
                "--out {}: unsupported extension {:?}; use .csv or .h5",
                path.display(),
                path.extension().and_then(|e| e.to_str()).unwrap_or("")
            );
        }
    }
    let y = sim
        .simulate(&x)
        .with_context(|| format!("simulating {} at X = {x:?}", args.experiment))?;
    tracing::info!(
        experiment = %args.experiment,
        frames = y.nrows(),
        components = y.ncols(),
        "simulated"
    );
    match &args.out {
        Some(path) => {
            match path.extension().and_then(|e| e.to_str()) {
                Some("csv") => output::write_trajectory_csv(path, sim.as_ref(), &x, &y)?,
                Some("h5") => {
                    let (x_in, _) = sim.param_space().fold(&x);
                    TrajectoryFile {
                        experiment: sim.name().to_string(),
                        param_names: sim.param_space().names.clone(),
                        params: x_in,
                        time: sim.frame_times().into(),
                        state_axis: sim.state_axis().into(),
                        trajectory: y.clone(),
                    }
                    .write(path)?
                }
                other => bail!(
                    "--out {}: unsupported extension {:?}; use .csv or .h5",
                    path.display(),
                    other.unwrap_or("")
                ),
            }
            say!(
                "wrote {} ({} frames × {} components)",
                path.display(),
                y.nrows(),
                y.ncols()
            );
        }
        None => {
            let (x_in, _) = sim.param_space().fold(&x);
            say!(
                "{} at X = {x_in:?}: {} frames × {} components",
                sim.name(),
                y.nrows(),
                y.ncols()
            );
            let last = y.row(y.nrows() - 1);
            let max = last.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            say!(
                "last frame (t = {}): max |y| = {max:.6}",
                sim.frame_times()[y.nrows() - 1]
            );
        }
    }
    Ok(())
}
