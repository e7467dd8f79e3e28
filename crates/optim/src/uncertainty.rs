//! How far to trust an answer: Gauss–Newton standard errors from the simulator's exact Jacobian,
//! and a verdict on whether the answer explains the observation.
//!
//! At X̂ the residual r = P(Y0, X̂) − Y* has n entries and the Jacobian J = ∂P/∂X (n × d) comes
//! from the simulator's exact tangents. With s² = rᵀr / (n − d), the Gauss–Newton covariance is
//! s² (JᵀJ)⁻¹ (the usual nonlinear least-squares estimate, exact for Gaussian noise in the
//! linearized model); the standard errors are the roots of its diagonal, in the units of X.

use crate::error::{Error, Result};
use proxyland_physics::{Simulator, Trajectory};
use serde::{Deserialize, Serialize};

/// The uncertainty of an answer X̂.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uncertainty {
    /// L(Y*, X̂) = mean squared residual.
    pub resim_loss: f64,
    /// √(mean squared residual): in the units of the observation, comparable to its noise.
    pub residual_rms: f64,
    /// Per-parameter standard errors (units of X); ∞ where the data do not determine it.
    pub std_err: Vec<f64>,
}

/// Inverse of a small symmetric positive-definite matrix; None if it is not, or if it is too
/// ill-conditioned for its inverse to mean anything. The matrix is Jacobi-scaled first
/// (A = D B D with unit diagonal B), so parameters in different units (1e-9 and 1) are not
/// mistaken for an ill-conditioned problem: only B's conditioning counts.
fn spd_inverse(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let d = a.len();
    let scale: Vec<f64> = (0..d)
        .map(|i| {
            let v = a[i][i];
            (v.is_finite() && v > 0.0).then(|| 1.0 / v.sqrt())
        })
        .collect::<Option<_>>()?;
    let b: Vec<Vec<f64>> = (0..d)
        .map(|i| (0..d).map(|j| a[i][j] * scale[i] * scale[j]).collect())
        .collect();
    // Cholesky of B = L Lᵀ.
    let mut l = vec![vec![0.0; d]; d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let v = b[i][i] - s;
                if v.is_nan() || v <= 1e-300 || !v.is_finite() {
                    return None;
                }
                l[i][j] = v.sqrt();
            } else {
                l[i][j] = (b[i][j] - s) / l[j][j];
            }
        }
    }
    // Columns of B⁻¹: solve L Lᵀ x = e_k.
    let mut inv = vec![vec![0.0; d]; d];
    for k in 0..d {
        let mut y = vec![0.0; d];
        for i in 0..d {
            let rhs = if i == k { 1.0 } else { 0.0 };
            y[i] = (rhs - (0..i).map(|m| l[i][m] * y[m]).sum::<f64>()) / l[i][i];
        }
        let mut x = vec![0.0; d];
        for i in (0..d).rev() {
            x[i] = (y[i] - (i + 1..d).map(|m| l[m][i] * x[m]).sum::<f64>()) / l[i][i];
        }
        for (row, xi) in inv.iter_mut().zip(&x) {
            row[k] = *xi;
        }
    }
    // B has a unit diagonal, so B⁻¹'s largest diagonal entry is the worst variance inflation:
    // past 1e12 the "errors" are rounding noise (the parameters are not separately determined).
    let inflation = (0..d).map(|i| inv[i][i]).fold(0.0, f64::max);
    if !(inflation.is_finite() && inflation < 1e12) {
        return None;
    }
    // A⁻¹ = D B⁻¹ D.
    Some(
        (0..d)
            .map(|i| (0..d).map(|j| inv[i][j] * scale[i] * scale[j]).collect())
            .collect(),
    )
}

/// Gauss–Newton standard errors of `x_hat` for the observation `target`: one simulation with
/// tangents (not charged to any method: it is the report on the answer, like the resimulation).
/// With the observation's noise level `noise_std` = σ the covariance is σ² (JᵀJ)⁻¹; without it
/// σ² is estimated from the residual, rᵀr / (n − d).
///
/// ```
/// use proxyland_optim::gauss_newton;
/// use proxyland_physics::{experiment, Simulator};
/// let sim = experiment("burgers")?;
/// let y = sim.simulate(&[2.0, 7.0])?;
/// let u = gauss_newton(sim.as_ref(), &[2.0, 7.0], &y, None)?;
/// assert!(u.residual_rms < 1e-12 && u.std_err.iter().all(|e| *e < 1e-9));
/// # Ok::<(), proxyland_optim::Error>(())
/// ```
pub fn gauss_newton(
    sim: &dyn Simulator,
    x_hat: &[f64],
    target: &Trajectory,
    noise_std: Option<f64>,
) -> Result<Uncertainty> {
    let run = sim.simulate_with_tangents(x_hat)?;
    if run.trajectory.dim() != target.dim() {
        return Err(Error::invalid(
            "target",
            format!(
                "shape {:?}, the simulator gives {:?}",
                target.dim(),
                run.trajectory.dim()
            ),
        ));
    }
    let residual: Vec<f64> = run
        .trajectory
        .iter()
        .zip(target.iter())
        .map(|(a, b)| a - b)
        .collect();
    let n = residual.len();
    let d = x_hat.len();
    let rss: f64 = residual.iter().map(|r| r * r).sum();
    let jtj: Vec<Vec<f64>> = (0..d)
        .map(|i| {
            (0..d)
                .map(|j| {
                    run.tangents[i]
                        .iter()
                        .zip(run.tangents[j].iter())
                        .map(|(a, b)| a * b)
                        .sum()
                })
                .collect()
        })
        .collect();
    let s2 = match noise_std {
        Some(sigma) => sigma * sigma,
        None if n > d => rss / (n - d) as f64,
        None => f64::INFINITY,
    };
    let std_err = match spd_inverse(&jtj) {
        Some(inv) => (0..d).map(|j| (s2 * inv[j][j]).max(0.0).sqrt()).collect(),
        None => vec![f64::INFINITY; d],
    };
    Ok(Uncertainty {
        resim_loss: rss / n as f64,
        residual_rms: (rss / n as f64).sqrt(),
        std_err,
    })
}

/// Whether to trust an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Trust {
    /// The answer explains the observation (to its noise, or to numerical precision).
    Ok {
        /// Why.
        reason: String,
    },
    /// The residual is too large: probably a local minimum (or a model that does not fit).
    Suspect {
        /// Why.
        reason: String,
    },
    /// The method ended on a failed simulation or a non-finite value.
    Failed {
        /// Why.
        reason: String,
    },
}

impl Trust {
    /// Whether the answer may be used as a solve.
    pub fn is_ok(&self) -> bool {
        matches!(self, Trust::Ok { .. })
    }
}

/// The verdict on an answer with residual RMS `rms` for an observation whose own RMS is
/// `data_rms`:
///
/// - with a noise level σ (the standard deviation of the observation's noise), the residual
///   must be within 1.5 σ: at the true parameters it is ≈ σ;
/// - without one, an exact fit (residual within 1e-3 of the data's RMS: exact data are fit to
///   rounding level at the right answer) is ok; otherwise, in a batch, the residual must be
///   within 10× `batch_best` (the caller's reference: `solve` passes the batch's lower-quartile
///   residual), and alone it is suspect.
///
/// ```
/// use proxyland_optim::{verdict, Trust};
/// assert!(verdict(0.011, 1.0, Some(0.01), None, None).is_ok());
/// assert!(!verdict(0.05, 1.0, Some(0.01), None, None).is_ok());
/// assert!(!verdict(0.2, 1.0, None, None, Some("simulation blew up")).is_ok());
/// ```
pub fn verdict(
    rms: f64,
    data_rms: f64,
    noise_std: Option<f64>,
    batch_best: Option<f64>,
    failure: Option<&str>,
) -> Trust {
    if let Some(why) = failure {
        return Trust::Failed {
            reason: why.to_string(),
        };
    }
    if !rms.is_finite() {
        return Trust::Failed {
            reason: "the answer's resimulation is not finite".into(),
        };
    }
    if let Some(sigma) = noise_std {
        return if rms <= 1.5 * sigma {
            Trust::Ok {
                reason: format!(
                    "residual RMS {rms:.3e} is within 1.5 × the noise level {sigma:.3e}"
                ),
            }
        } else {
            Trust::Suspect {
                reason: format!(
                    "residual RMS {rms:.3e} is {:.1} × the noise level {sigma:.3e}: probably a local minimum",
                    rms / sigma
                ),
            }
        };
    }
    let relative = rms / data_rms.max(1e-300);
    if relative <= 1e-3 {
        return Trust::Ok {
            reason: format!("residual RMS is {relative:.1e} of the data's: an exact fit"),
        };
    }
    if let Some(best) = batch_best {
        let floor = best.max(1e-12 * data_rms);
        return if rms <= 10.0 * floor {
            Trust::Ok {
                reason: format!(
                    "residual RMS {rms:.3e} is within 10 × the batch's reference {best:.3e}"
                ),
            }
        } else {
            Trust::Suspect {
                reason: format!(
                    "residual RMS {rms:.3e} is {:.0} × the batch's reference {best:.3e}: probably a local minimum",
                    rms / floor
                ),
            }
        };
    }
    Trust::Suspect {
        reason: format!(
            "residual RMS is {relative:.1e} of the data's; if the data are noisy, give their \
             noise level for a fair verdict"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxyland_physics::rng::Stream;

    #[test]
    fn spd_inverse_inverts_and_refuses_singular_matrices() {
        let a = vec![vec![4.0, 2.0], vec![2.0, 3.0]];
        let inv = spd_inverse(&a).unwrap();
        // A · A⁻¹ = I.
        let product = |i: usize, j: usize| (0..2).map(|k| a[i][k] * inv[k][j]).sum::<f64>();
        for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let identity = if i == j { 1.0 } else { 0.0 };
            assert!((product(i, j) - identity).abs() < 1e-12);
        }
        assert!(spd_inverse(&[vec![1.0, 1.0], vec![1.0, 1.0]]).is_none());
        // Parameters in very different units are well determined, not ill-conditioned.
        let inv = spd_inverse(&[vec![1e8, 0.0], vec![0.0, 1e-8]]).unwrap();
        assert!((inv[0][0] * 1e8 - 1.0).abs() < 1e-12 && (inv[1][1] * 1e-8 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn standard_errors_match_the_scatter_of_fits_to_noisy_data() {
        // Linear least squares is exact for Gauss–Newton: fit y = a + b t to noisy data many
        // times and compare the scatter of the fitted (a, b) with the predicted errors.
        use proxyland_physics::{Boundary, ParamSpace, Tangents};
        struct Line(ParamSpace);
        impl Simulator for Line {
            fn name(&self) -> &str {
                "line"
            }
            fn param_space(&self) -> &ParamSpace {
                &self.0
            }
            fn trajectory_shape(&self) -> (usize, usize) {
                (50, 1)
            }
            fn frame_times(&self) -> Vec<f64> {
                (0..50).map(|i| i as f64 / 49.0).collect()
            }
            fn state_axis(&self) -> Vec<f64> {
                vec![0.0]
            }
            fn simulate(&self, x: &[f64]) -> proxyland_physics::Result<Trajectory> {
                Ok(Trajectory::from_shape_fn((50, 1), |(i, _)| {
                    x[0] + x[1] * i as f64 / 49.0
                }))
            }
            fn simulate_with_tangents(&self, x: &[f64]) -> proxyland_physics::Result<Tangents> {
                Ok(Tangents {
                    trajectory: self.simulate(x)?,
                    tangents: vec![
                        Trajectory::from_elem((50, 1), 1.0),
                        Trajectory::from_shape_fn((50, 1), |(i, _)| i as f64 / 49.0),
                    ],
                })
            }
        }
        let sim = Line(
            ParamSpace::new(
                ["a", "b"],
                ["-", "-"],
                [-10.0, -10.0],
                [10.0, 10.0],
                [Boundary::Reflect, Boundary::Reflect],
            )
            .unwrap(),
        );
        let (sigma, truth) = (0.1, [1.0, 2.0]);
        let clean = sim.simulate(&truth).unwrap();
        let mut stream = Stream::new(3, 0);
        let trials = 400;
        let mut fits = Vec::new();
        let mut predicted = [0.0; 2];
        for _ in 0..trials {
            let y = clean.mapv(|v| v + sigma * stream.normal());
            // Closed-form least squares.
            let t: Vec<f64> = sim.frame_times();
            let (n, st, sy) = (50.0, t.iter().sum::<f64>(), y.iter().sum::<f64>());
            let stt: f64 = t.iter().map(|v| v * v).sum();
            let sty: f64 = t.iter().zip(y.iter()).map(|(a, b)| a * b).sum();
            let b = (n * sty - st * sy) / (n * stt - st * st);
            let a = (sy - b * st) / n;
            let u = gauss_newton(&sim, &[a, b], &y, None).unwrap();
            predicted[0] += u.std_err[0] / trials as f64;
            predicted[1] += u.std_err[1] / trials as f64;
            fits.push([a, b]);
        }
        for j in 0..2 {
            let mean = fits.iter().map(|f| f[j]).sum::<f64>() / trials as f64;
            let sd = (fits.iter().map(|f| (f[j] - mean).powi(2)).sum::<f64>()
                / (trials - 1) as f64)
                .sqrt();
            assert!(
                (sd / predicted[j] - 1.0).abs() < 0.1,
                "parameter {j}: scatter {sd:.4} vs predicted {:.4}",
                predicted[j]
            );
        }
    }

    #[test]
    fn verdicts_follow_the_noise_level_the_batch_and_failures() {
        assert!(verdict(1e-9, 1.0, None, None, None).is_ok());
        assert!(!verdict(0.01, 1.0, None, None, None).is_ok());
        assert!(verdict(0.02, 1.0, None, Some(0.01), None).is_ok());
        assert!(!verdict(0.5, 1.0, None, Some(0.01), None).is_ok());
        // An exact fit is ok even next to an even more exact one in the same batch.
        assert!(verdict(1e-9, 1.0, None, Some(1e-14), None).is_ok());
        assert!(matches!(
            verdict(f64::INFINITY, 1.0, None, None, None),
            Trust::Failed { .. }
        ));
    }
}
