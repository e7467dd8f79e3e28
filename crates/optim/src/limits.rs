//! What limits success on a target, measured rather than guessed: identifiability (how well
//! conditioned the residual's Jacobian is at the truth), the basin (whether LM started at a
//! growing distance from the truth comes back to it), and the data (how near the training
//! pool's samples come to the truth, by trajectory and in parameter space).
//!
//! A member whose targets LM solves from 0.2 of the box away but whose pool's nearest sample
//! lies 0.4 away is limited by its starts; one whose Jacobian is singular at the truth is not
//! identifiable from its observation at all, whatever the method.

use crate::error::{Error, Result};
use crate::library::SampleLibrary;
use crate::lm::levenberg_marquardt;
use crate::methods::is_success;
use crate::objective::TrueLoss;
use crate::stats::median;
use ndarray::Array2;
use ndarray_linalg::SVD;
use proxyland_physics::rng::{Domain, Stream};
use proxyland_physics::{Simulator, Trajectory};
use serde::{Deserialize, Serialize};

/// Distances from the truth (max-norm, fractions of the box) at which the basin is probed.
pub const PROBE_RADII: [f64; 4] = [0.02, 0.05, 0.1, 0.2];

/// LM iterations allowed from each probe start (the refinement's own cap).
pub const PROBE_ITERATIONS: u64 = 100;

/// The basin probed at one distance from the truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasinProbe {
    /// The starts' max-norm distance from the truth, as a fraction of the box.
    pub radius: f64,
    /// Starts tried at that distance.
    pub trials: usize,
    /// Starts that LM brought into the success region.
    pub reached: usize,
}

/// What limits one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetLimits {
    /// The target's index in its split.
    pub target: usize,
    /// κ(J) at the truth: the ratio of the largest to the smallest singular value of the
    /// residual's Jacobian in box units; `None` when the smallest is zero to rounding
    /// (σ_min ≤ σ_max · ε · max(N, d): a direction the observation does not see).
    pub condition: Option<f64>,
    /// The basin, one probe per radius of [`PROBE_RADII`].
    pub basin: Vec<BasinProbe>,
    /// The worst normalized error against the truth of the pool sample whose trajectory is
    /// nearest to Y* (the start `pool-bfgs` refines first).
    pub nearest_by_trajectory: Option<f64>,
    /// The max-norm normalized distance of the pool's sample nearest to the truth in
    /// parameter space: how close the pool comes at all.
    pub nearest_in_parameters: Option<f64>,
}

impl TargetLimits {
    /// The largest probed radius from which every start came back, 0 if none.
    pub fn basin_radius(&self) -> f64 {
        self.basin
            .iter()
            .take_while(|p| p.reached == p.trials)
            .last()
            .map_or(0.0, |p| p.radius)
    }
}

/// Probes what limits the target `y_star` = P(X*) of `sim`: κ(J) at X* (one call), `trials`
/// LM runs from random points at each radius of [`PROBE_RADII`] (directions from `stream`;
/// reflecting coordinates folded back into the box), and, with a `library`, how near its
/// samples come.
///
/// ```
/// # use openblas_src as _; // the singular values need a LAPACK
/// use proxyland_optim::limits::probe_limits;
/// use proxyland_physics::{experiment, rng::Domain, sample_target};
/// let sim = experiment("burgers")?;
/// let (x_star, y_star) = sample_target(sim.as_ref(), 0, 0)?;
/// let limits = probe_limits(sim.as_ref(), 0, &x_star, &y_star, None, 1, &mut Domain::Scratch.stream(0, 0))?;
/// // Two parameters, both seen by the observation; close starts come back.
/// assert!(limits.condition.is_some_and(|k| k.is_finite()));
/// assert_eq!(limits.basin[0].reached, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn probe_limits(
    sim: &dyn Simulator,
    target: usize,
    x_star: &[f64],
    y_star: &Trajectory,
    library: Option<&SampleLibrary>,
    trials: usize,
    stream: &mut Stream,
) -> Result<TargetLimits> {
    let space = sim.param_space();
    let u_star = space.to_unit(x_star);
    let d = u_star.len();
    let truth = TrueLoss::new(sim, y_star);
    let (_, jacobian) = truth.residual_and_jacobian(&u_star)?;
    let condition = condition_number(&jacobian)?;
    let mut basin = Vec::with_capacity(PROBE_RADII.len());
    for radius in PROBE_RADII {
        let mut reached = 0;
        for _ in 0..trials {
            // A random direction scaled to max-norm `radius`. A reflecting coordinate that
            // would leave the box steps the other way instead (folding it back would bring
            // the start nearer the truth than `radius`); r ≤ 0.2 fits on one side of any
            // point of a unit interval.
            let direction: Vec<f64> = (0..d).map(|_| 2.0 * stream.uniform() - 1.0).collect();
            let longest = direction.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            let start: Vec<f64> = u_star
                .iter()
                .zip(&direction)
                .enumerate()
                .map(|(j, (u, v))| {
                    let step = radius * v / longest.max(f64::MIN_POSITIVE);
                    let inside = (0.0..=1.0).contains(&(u + step));
                    if inside || space.is_periodic(j) {
                        u + step
                    } else {
                        u - step
                    }
                })
                .collect();
            let (start, _) = space.fold_unit(&start);
            let fresh = TrueLoss::new(sim, y_star);
            let r = levenberg_marquardt(&fresh, &start, PROBE_ITERATIONS, None);
            let x_hat = space.fold(&space.from_unit(&r.u)).0;
            if is_success(sim, &x_hat, x_star).0 {
                reached += 1;
            }
        }
        basin.push(BasinProbe {
            radius,
            trials,
            reached,
        });
    }
    let worst = |u: &[f64]| space.worst_distance(&space.from_unit(u), x_star);
    let (nearest_by_trajectory, nearest_in_parameters) = match library {
        Some(lib) => {
            let by_trajectory = lib.nearest(y_star, 1)?.first().map(|(_, u)| worst(u));
            let in_parameters = lib
                .parameters()
                .outer_iter()
                .map(|row| worst(&row.to_vec()))
                .min_by(f64::total_cmp);
            (by_trajectory, in_parameters)
        }
        None => (None, None),
    };
    Ok(TargetLimits {
        target,
        condition,
        basin,
        nearest_by_trajectory,
        nearest_in_parameters,
    })
}

/// What limits every target of one experiment: the file `proxyland limits` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberLimits {
    /// The experiment.
    pub experiment: String,
    /// Its number of unknowns d.
    pub dim: usize,
    /// Samples in the pool the data columns refer to (0: none given).
    pub pool_size: usize,
    /// Probe starts per radius and target.
    pub trials: usize,
    /// One entry per target, in split order.
    pub targets: Vec<TargetLimits>,
}

/// A member's limits over its targets, as the refine report tabulates them.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitsSummary {
    /// Median κ(J) over the targets where it is finite; `None` when no target has one.
    pub median_condition: Option<f64>,
    /// Largest finite κ(J); `None` when no target has one.
    pub largest_condition: Option<f64>,
    /// Targets whose observations do not see some direction (κ = ∞).
    pub unseen: usize,
    /// Per radius of [`PROBE_RADII`] (those every target probed): the share of all probes
    /// that came back.
    pub basin_shares: Vec<f64>,
    /// Median distance to the truth of the start nearest by trajectory.
    pub median_nearest_by_trajectory: Option<f64>,
    /// Median distance to the truth of the pool's nearest sample in parameter space.
    pub median_nearest_in_parameters: Option<f64>,
}

impl MemberLimits {
    /// Medians, extremes and basin shares over the targets.
    ///
    /// ```
    /// use proxyland_optim::limits::{BasinProbe, MemberLimits, TargetLimits};
    /// let target = |condition, reached| TargetLimits {
    ///     target: 0,
    ///     condition,
    ///     basin: vec![BasinProbe { radius: 0.02, reached, trials: 2 }],
    ///     nearest_by_trajectory: Some(0.1),
    ///     nearest_in_parameters: None,
    /// };
    /// let member = MemberLimits {
    ///     experiment: "ks-m2".into(),
    ///     dim: 2,
    ///     pool_size: 0,
    ///     trials: 2,
    ///     targets: vec![target(Some(10.0), 2), target(None, 1), target(Some(30.0), 0)],
    /// };
    /// let s = member.summary();
    /// assert_eq!((s.median_condition, s.largest_condition, s.unseen), (Some(20.0), Some(30.0), 1));
    /// assert_eq!(s.basin_shares, vec![0.5]);
    /// assert_eq!(s.median_nearest_in_parameters, None);
    /// ```
    pub fn summary(&self) -> LimitsSummary {
        let finite: Vec<f64> = self.targets.iter().filter_map(|t| t.condition).collect();
        let basin_shares = (0..PROBE_RADII.len())
            .take_while(|&i| self.targets.iter().all(|t| i < t.basin.len()))
            .map(|i| {
                let (reached, trials) = self.targets.iter().fold((0, 0), |(a, b), t| {
                    (a + t.basin[i].reached, b + t.basin[i].trials)
                });
                reached as f64 / trials.max(1) as f64
            })
            .collect();
        LimitsSummary {
            unseen: self.targets.len() - finite.len(),
            largest_condition: finite.iter().cloned().reduce(f64::max),
            median_condition: median(finite),
            basin_shares,
            median_nearest_by_trajectory: median(
                self.targets
                    .iter()
                    .filter_map(|t| t.nearest_by_trajectory)
                    .collect(),
            ),
            median_nearest_in_parameters: median(
                self.targets
                    .iter()
                    .filter_map(|t| t.nearest_in_parameters)
                    .collect(),
            ),
        }
    }
}

/// [`probe_limits`] on every target `(X*, Y*)`, in parallel; target `i` draws its probe
/// directions from its own stream of `seed`, so the result does not depend on the threads.
/// `progress` is called once per finished target.
pub fn probe_member(
    sim: &dyn Simulator,
    targets: &[crate::evaluate::Target],
    library: Option<&SampleLibrary>,
    trials: usize,
    seed: u64,
    progress: &(dyn Fn() + Sync),
) -> Result<MemberLimits> {
    use rayon::prelude::*;
    let probed = targets
        .par_iter()
        .enumerate()
        .map(|(i, t)| {
            let mut stream = Domain::LimitProbes.stream(seed, i as u64);
            let r = probe_limits(sim, i, &t.x, &t.y, library, trials, &mut stream);
            progress();
            r
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(MemberLimits {
        experiment: sim.name().to_string(),
        dim: sim.param_space().dim(),
        pool_size: library.map_or(0, SampleLibrary::len),
        trials,
        targets: probed,
    })
}

/// κ of a Jacobian given by columns: σ_max / σ_min from its singular values (not from JᵀJ,
/// whose eigenvalues lose everything past κ ≈ 10⁸); `None` when σ_min is zero to rounding.
fn condition_number(columns: &[Vec<f64>]) -> Result<Option<f64>> {
    let d = columns.len();
    let n = columns.first().map_or(0, Vec::len);
    let j = Array2::from_shape_fn((n, d), |(i, k)| columns[k][i]);
    let (_, singular, _) = j
        .svd(false, false)
        .map_err(|e| Error::invalid("jacobian", format!("no singular values: {e}")))?;
    let largest = singular.iter().cloned().fold(0.0, f64::max);
    let smallest = singular.iter().cloned().fold(f64::INFINITY, f64::min);
    let rounding = largest * f64::EPSILON * n.max(d) as f64;
    Ok((largest > 0.0 && smallest > rounding).then(|| largest / smallest))
}

#[cfg(test)]
mod tests {
    use super::condition_number;
    use openblas_src as _;

    #[test]
    fn the_condition_number_is_the_ratio_of_singular_values() {
        // Orthogonal columns of lengths 3 and 0.5: singular values 3 and 0.5, κ = 6.
        let k = condition_number(&[vec![3.0, 0.0, 0.0], vec![0.0, 0.3, 0.4]])
            .unwrap()
            .unwrap();
        assert!((k - 6.0).abs() < 1e-12, "{k}");
        // Ill-conditioned but seen: κ = 10¹⁰ survives (through JᵀJ it would not).
        let k = condition_number(&[vec![1.0, 0.0], vec![0.0, 1e-10]])
            .unwrap()
            .unwrap();
        assert!((k / 1e10 - 1.0).abs() < 1e-9, "{k}");
        // A repeated column: a direction the data does not see.
        assert_eq!(
            condition_number(&[vec![1.0, 2.0], vec![1.0, 2.0]]).unwrap(),
            None
        );
    }
}
