//! E0: the Gramacy & Lee (2012) test function, a 1D landscape with nine local minima.

use crate::error::Result;
use crate::params::{Boundary, ParamSpace};
use crate::simulator::{Simulator, Tangents, Trajectory};
use ndarray::Array2;
use std::f64::consts::PI;

/// f(x) = sin(10πx)/(2x) + (x − 1)⁴ on [0.5, 2.5] (reflecting).
///
/// There is no trajectory: the "trajectory" is the 1×1 value f(x), the one target is the global
/// minimum, and the configuration loss (f(x) − f*)² is a monotone transform of f (f ≥ f*), so it
/// has the same minima as f.
///
/// ```
/// use proxyland_physics::{GramacyLee, Simulator};
/// let e0 = GramacyLee::new();
/// let x_star = GramacyLee::GLOBAL_MINIMUM;
/// let target = e0.simulate(&[x_star])?;
/// let (loss, grad) = e0.loss_and_grad(&[x_star], &target)?;
/// assert_eq!(loss, 0.0);
/// assert_eq!(grad, vec![0.0]);
/// # Ok::<(), proxyland_physics::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GramacyLee {
    space: ParamSpace,
}

impl Default for GramacyLee {
    fn default() -> Self {
        Self::new()
    }
}

impl GramacyLee {
    /// The global minimizer (Newton on f' from the spec's 0.548563).
    pub const GLOBAL_MINIMUM: f64 = 0.548_563_444_527_605_2;

    /// The function on its box x ∈ [0.5, 2.5], reflecting at both faces.
    pub fn new() -> Self {
        let space =
            ParamSpace::new(["x"], ["-"], [0.5], [2.5], [Boundary::Reflect]).expect("a valid box");
        GramacyLee { space }
    }

    /// f(x).
    pub fn value(x: f64) -> f64 {
        (10.0 * PI * x).sin() / (2.0 * x) + (x - 1.0).powi(4)
    }

    /// f'(x).
    pub fn derivative(x: f64) -> f64 {
        let a = 10.0 * PI * x;
        5.0 * PI * a.cos() / x - a.sin() / (2.0 * x * x) + 4.0 * (x - 1.0).powi(3)
    }
}

impl Simulator for GramacyLee {
    fn name(&self) -> &str {
        "gramacy-lee"
    }
    fn param_space(&self) -> &ParamSpace {
        &self.space
    }
    fn trajectory_shape(&self) -> (usize, usize) {
        (1, 1)
    }
    fn frame_times(&self) -> Vec<f64> {
        vec![0.0]
    }
    fn state_axis(&self) -> Vec<f64> {
        vec![0.0]
    }
    fn simulate(&self, x: &[f64]) -> Result<Trajectory> {
        self.space.check(self.name(), x)?;
        let (x, _) = self.space.fold(x);
        Ok(Array2::from_elem((1, 1), Self::value(x[0])))
    }
    fn simulate_with_tangents(&self, x: &[f64]) -> Result<Tangents> {
        self.space.check(self.name(), x)?;
        let (xf, sign) = self.space.fold(x);
        Ok(Tangents {
            trajectory: Array2::from_elem((1, 1), Self::value(xf[0])),
            tangents: vec![Array2::from_elem((1, 1), Self::derivative(xf[0]) * sign[0])],
        })
    }
    fn fixed_target(&self) -> Option<Vec<f64>> {
        Some(vec![Self::GLOBAL_MINIMUM])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_minimum_is_where_the_spec_says_and_lowest_on_a_fine_grid() {
        let x = GramacyLee::GLOBAL_MINIMUM;
        assert!((x - 0.548563).abs() < 1e-6);
        assert!((GramacyLee::value(x) + 0.869011).abs() < 1e-6);
        assert!(GramacyLee::derivative(x).abs() < 1e-9);
        let f_star = GramacyLee::value(x);
        let lowest = (0..=200_000)
            .map(|i| GramacyLee::value(0.5 + 2.0 * i as f64 / 200_000.0))
            .fold(f64::INFINITY, f64::min);
        assert!(lowest >= f_star - 1e-12, "{lowest} < {f_star}");
    }

    #[test]
    fn has_nine_local_minima_inside_the_box() {
        let n = 100_000;
        let f: Vec<f64> = (0..=n)
            .map(|i| GramacyLee::value(0.5 + 2.0 * i as f64 / n as f64))
            .collect();
        let minima = (1..n)
            .filter(|&i| f[i] < f[i - 1] && f[i] < f[i + 1])
            .count();
        assert_eq!(minima, 9);
    }

    #[test]
    fn derivative_matches_central_differences() {
        for &x in &[0.55, 0.9, 1.37, 2.2] {
            let h = 1e-6;
            let fd = (GramacyLee::value(x + h) - GramacyLee::value(x - h)) / (2.0 * h);
            assert!((fd - GramacyLee::derivative(x)).abs() < 1e-6 * (1.0 + fd.abs()));
        }
    }
}
