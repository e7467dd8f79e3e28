//! The observations to solve, from a file or simulated from --target, and their noise.

use super::SolveArgs;
use super::present::extension_of;
use crate::args::{inside_box, parse_params};
use anyhow::{Context, Result, bail};
use proxyland_dataset::read_observations;
use proxyland_optim::Noise;
use proxyland_physics::{Simulator, Trajectory};
use std::path::Path;

/// The noise model of each observation (a file of σ per value: one for all, or one each).
pub(super) fn noise_of(args: &SolveArgs, sim: &dyn Simulator, k: usize) -> Result<Vec<Noise>> {
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
pub(super) type Observed = (Vec<Trajectory>, Vec<Option<Vec<f64>>>);

/// The observations of --observed, or the one --target simulates, with the truth where known.
pub(super) fn observations(args: &SolveArgs, sim: &dyn Simulator) -> Result<Observed> {
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
