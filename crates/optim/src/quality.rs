//! A surrogate's own quality on the targets, beside what the methods built on it achieve: where
//! its argmin lies, and how well it ranks the true loss on a slice through X*.

use crate::error::{Error, Result};
use crate::evaluate::{EvaluateOptions, Target, median, method_stream, start_of};
use crate::methods::{is_success, surrogate_minima};
use crate::objective::{SurrogateLoss, SurrogateModel};
use crate::results::SurrogateQuality;
use crate::stats::spearman;
use proxyland_physics::Simulator;
use rayon::prelude::*;

/// Points of the landscape slice through `x_star` (the last two coordinates vary over the
/// box, the others stay), in normalized coordinates.
fn slice_points(d: usize, u_star: &[f64], n: usize) -> Vec<Vec<f64>> {
    let axes: Vec<usize> = if d == 1 { vec![0] } else { vec![d - 2, d - 1] };
    let cols = if axes.len() > 1 { n } else { 1 };
    let mut points = Vec::with_capacity(n * cols);
    for i in 0..n {
        for j in 0..cols {
            let mut u = u_star.to_vec();
            u[axes[0]] = (i as f64 + 0.5) / n as f64;
            if axes.len() > 1 {
                u[axes[1]] = (j as f64 + 0.5) / n as f64;
            }
            points.push(u);
        }
    }
    points
}

/// Each surrogate's quality on `targets`: its own argmin against X*, and its rank correlation
/// with the true loss on the landscape slice through X* of the first targets.
pub(crate) fn surrogate_quality(
    sim: &dyn Simulator,
    targets: &[Target],
    surrogates: &[&dyn SurrogateModel],
    opts: &EvaluateOptions,
) -> Result<Vec<SurrogateQuality>> {
    let space = sim.param_space();
    let d = space.dim();
    let graded = targets.len().min(opts.quality_targets);
    // The true loss on each slice, shared by all surrogates.
    let true_slices: Vec<Vec<f64>> = if opts.quality_grid >= 2 {
        (0..graded)
            .into_par_iter()
            .map(|i| {
                slice_points(d, &space.to_unit(&targets[i].x), opts.quality_grid)
                    .iter()
                    .map(|u| Ok(sim.loss(&space.from_unit(u), &targets[i].y)?))
                    .collect::<Result<Vec<f64>>>()
            })
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    surrogates
        .iter()
        .map(|model| {
            let per_target: Vec<Result<(f64, Option<f64>)>> = (0..targets.len())
                .into_par_iter()
                .map(|i| {
                    let bound = model
                        .bind(&targets[i].y)
                        .map_err(|source| Error::Surrogate { source })?;
                    let landscape = SurrogateLoss::new(bound.as_ref(), space);
                    let mut stream = method_stream(opts.seed, opts.split, "surrogate-argmin", i);
                    let u0 = start_of(opts.seed, opts.split, i, d);
                    let minima =
                        surrogate_minima(&landscape, &u0, 256, 4, opts.settings, &mut stream)?;
                    let u_hat = &minima[0].1;
                    let (_, error) = is_success(sim, &space.from_unit(u_hat), &targets[i].x);
                    let rho = match true_slices.get(i) {
                        Some(truth) => {
                            let points =
                                slice_points(d, &space.to_unit(&targets[i].x), opts.quality_grid);
                            let predicted = landscape.values(&points)?;
                            Some(spearman(&predicted, truth))
                        }
                        None => None,
                    };
                    Ok((error, rho))
                })
                .collect();
            let per_target = per_target.into_iter().collect::<Result<Vec<_>>>()?;
            let argmin_errors: Vec<f64> = per_target.iter().map(|(e, _)| *e).collect();
            let rhos: Vec<f64> = per_target.iter().filter_map(|(_, r)| *r).collect();
            let n = argmin_errors.len().max(1) as f64;
            Ok(SurrogateQuality {
                median_argmin_error: median(argmin_errors.clone()),
                argmin_within_2pct: argmin_errors.iter().filter(|e| **e <= 0.02).count() as f64 / n,
                argmin_errors,
                rank_correlation: (!rhos.is_empty())
                    .then(|| rhos.iter().sum::<f64>() / rhos.len() as f64),
            })
        })
        .collect()
}
