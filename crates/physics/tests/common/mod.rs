//! Helpers shared by the physics integration tests.
#![allow(dead_code)]

use proxyland_physics::rng::Domain;
use proxyland_physics::{Simulator, Trajectory};

/// Finite-difference gradient of the loss (five-point stencil) with relative step `h`·width.
pub fn fd_gradient(sim: &dyn Simulator, x: &[f64], target: &Trajectory, h: f64) -> Vec<f64> {
    let space = sim.param_space();
    (0..x.len())
        .map(|j| {
            let step = h * space.width(j);
            let at = |k: f64| {
                let mut xk = x.to_vec();
                xk[j] += k * step;
                sim.loss(&xk, target).unwrap()
            };
            // The five-point stencil: truncation error O(h⁴), not the central difference's
            // O(h²), which at h = 1e-5 reached 6.5e-6 relative on a 16-parameter KS point.
            (8.0 * (at(1.0) - at(-1.0)) - (at(2.0) - at(-2.0))) / (12.0 * step)
        })
        .collect()
}

/// ‖a − b‖ / ‖b‖.
pub fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    let den: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    num / den
}

/// A uniform point of the box from a seeded stream.
pub fn random_point(sim: &dyn Simulator, seed: u64, index: u64) -> Vec<f64> {
    let mut s = Domain::Scratch.stream(seed, index);
    let u: Vec<f64> = (0..sim.param_space().dim()).map(|_| s.uniform()).collect();
    sim.param_space().from_unit(&u)
}
