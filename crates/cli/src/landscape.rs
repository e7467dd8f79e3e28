//! `proxyland landscape`: one heat map of log L through a target.

use crate::figures::{Marker, draw_landscape};
use crate::simulate::parse_params;
use anyhow::{Result, bail};
use plotters::style::RGBColor;
use proxyland_optim::{proxy_landscape, true_landscape};
use proxyland_proxy::Proxy;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    experiment: String,
    /// The target's parameters X* (or use --data and --target-index).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    target: Vec<String>,
    /// Take the target from this pool's held-out targets.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Which held-out target of --data.
    #[arg(long, default_value_t = 0)]
    target_index: usize,
    /// Draw this proxy's predicted landscape instead of the true loss.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Grid points per axis.
    #[arg(long, default_value_t = 80)]
    grid: usize,
    /// Output PNG.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let sim = proxyland_physics::experiment(&args.experiment)?;
    let x = match &args.data {
        Some(data) => {
            let pool = proxyland_dataset::Pool::open(data)?;
            if pool.header.experiment != args.experiment {
                bail!(
                    "--data {} holds {}, not {}",
                    data.display(),
                    pool.header.experiment,
                    args.experiment
                );
            }
            if args.target_index >= pool.target_params.nrows() {
                bail!(
                    "--target-index {}: {} holds {} targets",
                    args.target_index,
                    data.display(),
                    pool.target_params.nrows()
                );
            }
            pool.target_params.row(args.target_index).to_vec()
        }
        None => parse_params(&args.target)?,
    };
    sim.param_space().check(sim.name(), &x)?;
    if !(2..=1000).contains(&args.grid) {
        bail!("--grid {}: use 2..=1000 points per axis", args.grid);
    }
    let (x, _) = sim.param_space().fold(&x);
    let y = sim.simulate(&x)?;
    let (land, title) = match &args.model {
        Some(path) => {
            let proxy = Proxy::load(path)?;
            proxy.check_compatible(sim.name(), x.len(), sim.trajectory_shape())?;
            let m = proxy.meta();
            (
                proxy_landscape(&proxy, sim.as_ref(), &x, &y, args.grid)?,
                format!("{}: proxy σ = {}, λ = {}", sim.name(), m.noise, m.penalty),
            )
        }
        None => (
            true_landscape(sim.as_ref(), &x, &y, args.grid)?,
            format!("{}: true loss", sim.name()),
        ),
    };
    let space = sim.param_space();
    let marker = Marker {
        label: "target".into(),
        x: x.clone(),
        color: RGBColor(230, 40, 40),
    };
    draw_landscape(
        &args.out,
        &title,
        &land,
        &space.names,
        &space.units,
        &[marker],
    )?;
    println!("wrote {}", args.out.display());
    Ok(())
}
