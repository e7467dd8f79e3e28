//! `proxyland landscape`: one heat map of log L through a target.

use crate::args::{inside_box, parse_params};
use crate::figures::{Marker, draw_landscape};
use anyhow::{Context, Result, bail};
use plotters::style::RGBColor;
use proxyland_optim::{
    Family, SurrogateConfig, SurrogateModel, surrogate_landscape, true_landscape,
};
use proxyland_proxy::Proxy;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Experiment: gramacy-lee, burgers, ks, billiards2d, billiards4d, or a scaling family
    /// member burgers-k{1,2,4,8}, ks-m{2,4,8,16}.
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
    /// Mark where methods ended on this target: an `evaluate` results file of the --data pool.
    /// Marked: bfgs, pool-bfgs, the strongest budgeted baseline and, with --model, that
    /// checkpoint's proxy-bfgs and proxy-multistart. For d > 2 the end points are projected
    /// onto the slice.
    #[arg(long, requires = "data")]
    results: Option<PathBuf>,
    /// Grid points per axis.
    #[arg(long, default_value_t = 80)]
    grid: usize,
    /// Output PNG.
    #[arg(long)]
    out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    force: bool,
    /// Fold a --target outside the box into it instead of refusing it.
    #[arg(long)]
    fold: bool,
}

pub fn run(args: Args) -> Result<()> {
    let mut inputs: Vec<(&str, &std::path::Path)> = Vec::new();
    for (flag, p) in [
        ("--data", &args.data),
        ("--model", &args.model),
        ("--results", &args.results),
    ] {
        if let Some(p) = p {
            inputs.push((flag, p));
        }
    }
    if args.out.extension().and_then(|e| e.to_str()) != Some("png") {
        bail!("--out {}: figures are PNG files (.png)", args.out.display());
    }
    crate::output::check_output("--out", &args.out, &inputs, args.force)?;
    // A pool carries its config: its landscape is that simulator's, which may differ from the
    // experiment's defaults (resolution, horizon).
    let (sim, x) = match &args.data {
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
            let config =
                proxyland_dataset::ExperimentConfig::parse(data, &pool.header.config_text)?;
            (
                config.simulator()?,
                pool.target_params.row(args.target_index).to_vec(),
            )
        }
        None => (
            proxyland_physics::experiment(&args.experiment)?,
            parse_params(&args.target, "--target")?,
        ),
    };
    if args.fold {
        sim.param_space().check(sim.name(), &x)?;
    } else {
        inside_box(sim.as_ref(), &x, "--target")?;
    }
    if !(2..=1000).contains(&args.grid) {
        bail!("--grid {}: use 2..=1000 points per axis", args.grid);
    }
    let (x, _) = sim.param_space().fold(&x);
    let y = sim.simulate(&x)?;
    let (land, title) = match &args.model {
        Some(path) => {
            let proxy = Proxy::load(path)?;
            proxy.check_compatible(sim.as_ref())?;
            let m = proxy.meta();
            (
                surrogate_landscape(&proxy, sim.as_ref(), &x, &y, args.grid)?,
                format!(
                    "{}: proxy σ = {}, λ = {}, seed {}",
                    sim.name(),
                    m.noise,
                    m.penalty,
                    m.training.seed
                ),
            )
        }
        None => (
            true_landscape(sim.as_ref(), &x, &y, args.grid)?,
            format!("{}: true loss", sim.name()),
        ),
    };
    let space = sim.param_space();
    let mut markers = vec![Marker {
        label: "target".into(),
        x: x.clone(),
        color: RGBColor(230, 40, 40),
    }];
    if let Some(path) = &args.results {
        let drawn = match &args.model {
            Some(m) => Some(SurrogateConfig::of(Proxy::load(m)?.info())),
            None => None,
        };
        markers.extend(end_points(
            path,
            &args.experiment,
            args.target_index,
            drawn,
        )?);
    }
    draw_landscape(
        &args.out,
        &title,
        &land,
        &space.names,
        &space.units,
        &markers,
    )?;
    say!("wrote {}", args.out.display());
    Ok(())
}

/// Where the marked methods ended on test target `index`, from a results file; `drawn` is the
/// drawn checkpoint, whose proxy methods are marked too.
fn end_points(
    path: &std::path::Path,
    experiment: &str,
    index: usize,
    drawn: Option<SurrogateConfig>,
) -> Result<Vec<Marker>> {
    let results = crate::args::read_results(path).context("--results")?;
    if results.experiment != experiment {
        bail!(
            "--results {} is for {}, not {experiment}",
            path.display(),
            results.experiment
        );
    }
    let mut wanted: Vec<String> = ["bfgs", "pool-bfgs"].map(String::from).to_vec();
    if let Some(b) = results.strongest_baseline() {
        wanted.push(b.label.clone());
    }
    if let Some(c) = drawn {
        wanted.extend(
            results
                .methods
                .iter()
                .filter(|s| {
                    s.id.surrogate == Some(c)
                        && (s.id.family == Family::ProxyBfgs
                            || s.id.family == Family::ProxyMultistart)
                })
                .map(|s| s.label.clone()),
        );
    }
    let colors = [
        RGBColor(0, 0, 0),
        RGBColor(255, 140, 0),
        RGBColor(0, 200, 255),
        RGBColor(255, 0, 255),
        RGBColor(120, 255, 120),
    ];
    Ok(wanted
        .iter()
        .zip(colors)
        .filter_map(|(method, color)| {
            let id = &results.method(method)?.id;
            let o = results
                .rows
                .iter()
                .find(|o| o.target == index && &o.id == id)?;
            let verdict = if o.success { "hit" } else { "miss" };
            Some(Marker {
                label: format!("{method} ({verdict})"),
                x: o.answer.x_hat.clone(),
                color,
            })
        })
        .collect())
}
