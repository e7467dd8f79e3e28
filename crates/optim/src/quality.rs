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

/// Points per axis of the slice the roughness is measured on: finer than the rank
/// correlation's grid, since it costs no simulator call.
pub const ROUGHNESS_GRID: usize = 101;
/// Points of a 1-D slice's roughness (docs/proxy.md).
pub const ROUGHNESS_GRID_1D: usize = 1001;
/// Starts of the search for a network's own argmin (BFGS on the network from each).
pub const ARGMIN_STARTS: usize = 256;
/// A network's argmin counts as near X* within this max-norm distance (fraction of the box).
pub const ARGMIN_NEAR: f64 = 0.02;

/// The roughness of predicted log-losses `z` on the slice of [`slice_points`] with `n` points
/// per axis: the curvature energy ∫ (∂²z/∂u²)² du along each line of the slice (every row and
/// column of a 2-D slice), by second differences, averaged over the lines (docs/proxy.md).
/// Scaled by the spacing so that it does not depend on `n`.
pub(crate) fn roughness(z: &[f64], n: usize) -> f64 {
    let h = 1.0 / n as f64;
    let line = |at: &dyn Fn(usize) -> f64| -> f64 {
        (1..n - 1)
            .map(|k| (at(k + 1) - 2.0 * at(k) + at(k - 1)).powi(2))
            .sum::<f64>()
            / h.powi(3)
    };
    if z.len() == n {
        return line(&|k| z[k]);
    }
    let rows = (0..n).map(|i| line(&|k| z[i * n + k]));
    let cols = (0..n).map(|j| line(&|k| z[k * n + j]));
    rows.chain(cols).sum::<f64>() / (2 * n) as f64
}

/// One target's argmin error, rank correlation and roughness (the last two on graded targets).
type Graded = (f64, Option<f64>, Option<f64>);

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
            let per_target: Vec<Result<Graded>> = (0..targets.len())
                .into_par_iter()
                .map(|i| {
                    let bound = model
                        .bind(&targets[i].y)
                        .map_err(|source| Error::Surrogate { source })?;
                    let landscape = SurrogateLoss::new(bound.as_ref(), space);
                    let mut stream = method_stream(opts.seed, opts.split, "surrogate-argmin", i);
                    let u0 = start_of(opts.seed, opts.split, i, d);
                    let minima = surrogate_minima(
                        &landscape,
                        &u0,
                        ARGMIN_STARTS,
                        4,
                        opts.settings,
                        &mut stream,
                    )?;
                    let u_hat = &minima[0].1;
                    let (_, error) = is_success(sim, &space.from_unit(u_hat), &targets[i].x);
                    let (rho, rough) = match true_slices.get(i) {
                        Some(truth) => {
                            let u_star = space.to_unit(&targets[i].x);
                            let points = slice_points(d, &u_star, opts.quality_grid);
                            let predicted = landscape.values(&points)?;
                            let n = if d == 1 {
                                ROUGHNESS_GRID_1D
                            } else {
                                ROUGHNESS_GRID
                            };
                            let z = landscape.values(&slice_points(d, &u_star, n))?;
                            (Some(spearman(&predicted, truth)), Some(roughness(&z, n)))
                        }
                        None => (None, None),
                    };
                    Ok((error, rho, rough))
                })
                .collect();
            let per_target = per_target.into_iter().collect::<Result<Vec<_>>>()?;
            let argmin_errors: Vec<f64> = per_target.iter().map(|(e, _, _)| *e).collect();
            let rhos: Vec<f64> = per_target.iter().filter_map(|(_, r, _)| *r).collect();
            let roughs: Vec<f64> = per_target.iter().filter_map(|(_, _, r)| *r).collect();
            let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
            let n = argmin_errors.len().max(1) as f64;
            Ok(SurrogateQuality {
                median_argmin_error: median(argmin_errors.clone()),
                argmin_within_2pct: argmin_errors.iter().filter(|e| **e <= ARGMIN_NEAR).count()
                    as f64
                    / n,
                argmin_errors,
                rank_correlation: mean(&rhos),
                roughness: mean(&roughs),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roughness_is_the_curvature_energy_of_the_slice() {
        // z = sin(2πu): ∫₀¹ (z'')² du = (2π)⁴/2 = 8π⁴ along every line.
        let exact = 8.0 * std::f64::consts::PI.powi(4);
        let n = ROUGHNESS_GRID;
        let u = |k: usize| (k as f64 + 0.5) / n as f64;
        let wave = |k: usize| (std::f64::consts::TAU * u(k)).sin();
        let line: Vec<f64> = (0..n).map(wave).collect();
        let r = roughness(&line, n);
        assert!((r - exact).abs() < 0.03 * exact, "1-D: {r} against {exact}");
        // On a 2-D slice varying along one axis only, the rows are straight (0) and the
        // columns carry the wave: the mean over lines is half of it.
        let plane: Vec<f64> = (0..n * n).map(|p| wave(p / n)).collect();
        let r2 = roughness(&plane, n);
        assert!((r2 - exact / 2.0).abs() < 0.03 * exact, "2-D: {r2}");
        // A plane is not rough at all, and the measure does not grow with the grid.
        let tilted: Vec<f64> = (0..n * n).map(|p| u(p / n) + 2.0 * u(p % n)).collect();
        assert!(roughness(&tilted, n) < 1e-12);
        let coarse: Vec<f64> = (0..51)
            .map(|k| (std::f64::consts::TAU * (k as f64 + 0.5) / 51.0).sin())
            .collect();
        assert!((roughness(&coarse, 51) - exact).abs() < 0.05 * exact);
    }
}
