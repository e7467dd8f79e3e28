//! A library of already simulated samples, searched by trajectory distance.
//!
//! The proxy's one-off cost is its training pool. The pool alone, without a network, already
//! answers "which X produced something like Y*?": the samples whose stored trajectories are
//! nearest to Y* cost no new simulation. `pool-bfgs` refines those on the true loss. It is the
//! baseline that tells whether the network adds anything beyond its training data.

use crate::error::{Error, Result};
use ndarray::{Array2, Array3, Axis};
use proxyland_physics::Trajectory;

/// Simulated samples: parameters in normalized coordinates u ∈ [0,1]^d and their trajectories.
#[derive(Debug, Clone)]
pub struct SampleLibrary {
    /// n × d.
    unit: Array2<f64>,
    /// n × F × S.
    trajectories: Array3<f64>,
}

impl SampleLibrary {
    /// A library of `unit.nrows()` samples. Rows of `trajectories` are the trajectories of the
    /// rows of `unit`.
    ///
    /// ```
    /// use ndarray::{Array2, Array3, array};
    /// use proxyland_optim::SampleLibrary;
    /// // Two 1-parameter samples whose 1 × 1 "trajectories" are 0 and 5.
    /// let lib = SampleLibrary::new(
    ///     array![[0.1], [0.9]],
    ///     Array3::from_shape_vec((2, 1, 1), vec![0.0, 5.0]).unwrap(),
    /// ).unwrap();
    /// let nearest = lib.nearest(&Array2::from_elem((1, 1), 4.0), 1).unwrap();
    /// assert_eq!(nearest[0].1, vec![0.9]);
    /// assert_eq!(nearest[0].0, 1.0); // mean squared difference (5 − 4)²
    /// ```
    pub fn new(unit: Array2<f64>, trajectories: Array3<f64>) -> Result<Self> {
        if unit.nrows() != trajectories.len_of(Axis(0)) {
            return Err(Error::invalid(
                "sample library",
                format!(
                    "{} parameter rows but {} trajectories",
                    unit.nrows(),
                    trajectories.len_of(Axis(0))
                ),
            ));
        }
        if unit.nrows() == 0 {
            return Err(Error::invalid("sample library", "no samples"));
        }
        Ok(SampleLibrary { unit, trajectories })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.unit.nrows()
    }

    /// The samples' parameters in normalized coordinates, one row each.
    pub fn parameters(&self) -> ndarray::ArrayView2<'_, f64> {
        self.unit.view()
    }

    /// Always false: a library holds at least one sample.
    pub fn is_empty(&self) -> bool {
        self.unit.nrows() == 0
    }

    /// The `k` samples nearest to `target` by mean squared trajectory difference (the loss
    /// L(Y*, X_i) the simulator would report for them), nearest first, as (distance, u).
    /// Samples with a non-finite distance are skipped.
    pub fn nearest(&self, target: &Trajectory, k: usize) -> Result<Vec<(f64, Vec<f64>)>> {
        let (_, f, s) = self.trajectories.dim();
        if target.dim() != (f, s) {
            return Err(Error::invalid(
                "target",
                format!(
                    "the sample library holds {f} × {s} trajectories, the target is {} × {}",
                    target.nrows(),
                    target.ncols()
                ),
            ));
        }
        let target = target.as_standard_layout();
        let t = target.as_slice().expect("standard layout is contiguous");
        let mut scored: Vec<(f64, usize)> = self
            .trajectories
            .outer_iter()
            .enumerate()
            .filter_map(|(i, y)| {
                let sum: f64 = y.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum();
                let d = sum / t.len() as f64;
                d.is_finite().then_some((d, i))
            })
            .collect();
        scored.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(scored
            .into_iter()
            .take(k)
            .map(|(d, i)| (d, self.unit.row(i).to_vec()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::SampleLibrary;
    use ndarray::{Array2, Array3};

    #[test]
    fn nearest_ranks_by_the_mean_squared_difference() {
        // Constant 2 × 3 trajectories c_i against a zero target: distance c_i², so the order is
        // by |c_i| whatever the sign; a NaN trajectory is never chosen.
        let c = [3.0, -1.0, f64::NAN, 0.5, -2.0];
        let mut y = Array3::zeros((5, 2, 3));
        for (i, &v) in c.iter().enumerate() {
            y.index_axis_mut(ndarray::Axis(0), i).fill(v);
        }
        let u = Array2::from_shape_fn((5, 1), |(i, _)| i as f64 / 10.0);
        let lib = SampleLibrary::new(u, y).unwrap();
        let got = lib.nearest(&Array2::zeros((2, 3)), 10).unwrap();
        let order: Vec<f64> = got.iter().map(|(_, u)| u[0]).collect();
        assert_eq!(order, vec![0.3, 0.1, 0.4, 0.0]);
        assert_eq!(got[0].0, 0.25);
        assert_eq!(got[3].0, 9.0);
    }

    #[test]
    fn mismatched_shapes_are_errors_not_panics() {
        let lib = SampleLibrary::new(Array2::zeros((2, 1)), Array3::zeros((2, 2, 3))).unwrap();
        let err = lib.nearest(&Array2::zeros((3, 2)), 1).unwrap_err();
        assert!(err.to_string().contains("2 × 3"), "{err}");
        assert!(SampleLibrary::new(Array2::zeros((2, 1)), Array3::zeros((3, 2, 3))).is_err());
        assert!(SampleLibrary::new(Array2::zeros((0, 1)), Array3::zeros((0, 2, 3))).is_err());
    }
}
