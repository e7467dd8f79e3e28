//! Loss landscapes on a grid: log10 L over a 2D slice of the box through a target (the last two
//! parameters vary, the others stay at the target's values), or over the line for d = 1.

use crate::error::{Error, Result};
use crate::objective::SurrogateModel;
use proxyland_physics::{Simulator, Trajectory};
use rayon::prelude::*;

/// log10 of a loss on a grid.
#[derive(Debug, Clone)]
pub struct Landscape {
    /// Indices of the varied parameters (one for d = 1).
    pub axes: Vec<usize>,
    /// Grid coordinates along each varied axis (physical units).
    pub coords: Vec<Vec<f64>>,
    /// values[i][j]: at coords[0][i] (and coords[1][j] for 2D).
    pub values: Vec<Vec<f64>>,
    /// The slice's fixed point (the target's X).
    pub center: Vec<f64>,
}

fn grid_points(
    sim: &dyn Simulator,
    center: &[f64],
    n: usize,
) -> Result<(Vec<usize>, Vec<Vec<f64>>)> {
    let space = sim.param_space();
    let d = space.dim();
    if d == 0 || center.len() != d || n < 2 {
        return Err(Error::invalid(
            "landscape",
            format!("needs d >= 1, a center of length {d}, and a grid >= 2"),
        ));
    }
    let axes: Vec<usize> = if d == 1 { vec![0] } else { vec![d - 2, d - 1] };
    let coords = axes
        .iter()
        .map(|&a| {
            (0..n)
                .map(|i| space.lo[a] + space.width(a) * i as f64 / (n - 1) as f64)
                .collect()
        })
        .collect();
    Ok((axes, coords))
}

fn point(center: &[f64], axes: &[usize], coords: &[Vec<f64>], i: usize, j: usize) -> Vec<f64> {
    let mut x = center.to_vec();
    x[axes[0]] = coords[0][i];
    if axes.len() > 1 {
        x[axes[1]] = coords[1][j];
    }
    x
}

/// The true loss (one simulation per grid point, in parallel).
pub fn true_landscape(
    sim: &dyn Simulator,
    center: &[f64],
    target: &Trajectory,
    n: usize,
) -> Result<Landscape> {
    let (axes, coords) = grid_points(sim, center, n)?;
    let cols = if axes.len() > 1 { n } else { 1 };
    let values: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|i| {
            (0..cols)
                .map(|j| {
                    let x = point(center, &axes, &coords, i, j);
                    Ok(sim.loss(&x, target)?.max(1e-300).log10())
                })
                .collect::<Result<Vec<f64>>>()
        })
        .collect::<Result<_>>()?;
    Ok(Landscape {
        axes,
        coords,
        values,
        center: center.to_vec(),
    })
}

/// A surrogate's predicted loss log10(L̂ + ε) (one batched prediction per row).
pub fn surrogate_landscape(
    model: &dyn SurrogateModel,
    sim: &dyn Simulator,
    center: &[f64],
    target: &Trajectory,
    n: usize,
) -> Result<Landscape> {
    let (axes, coords) = grid_points(sim, center, n)?;
    let space = sim.param_space();
    let bound = model
        .bind(target)
        .map_err(|source| Error::Surrogate { source })?;
    let cols = if axes.len() > 1 { n } else { 1 };
    let mut values = Vec::with_capacity(n);
    for i in 0..n {
        let us: Vec<Vec<f64>> = (0..cols)
            .map(|j| {
                space
                    .fold_unit(&space.to_unit(&point(center, &axes, &coords, i, j)))
                    .0
            })
            .collect();
        let z = bound
            .predict_log(&us)
            .map_err(|source| Error::Surrogate { source })?;
        // z is a natural log; the figure's scale is log10, like the true landscape's.
        values.push(z.iter().map(|z| z / std::f64::consts::LN_10).collect());
    }
    Ok(Landscape {
        axes,
        coords,
        values,
        center: center.to_vec(),
    })
}
