//! How far to trust an answer: Gauss–Newton standard errors from the simulator's exact Jacobian,
//! and a verdict on whether the answer explains the observation.
//!
//! At X̂ the residual r = P(Y0, X̂) − Y* has n entries and the Jacobian J = ∂P/∂X (n × d) comes
//! from the simulator's exact tangents. With s² = rᵀr / (n − d), the Gauss–Newton covariance is
//! s² (JᵀJ)⁻¹ (the usual nonlinear least-squares estimate, exact for Gaussian noise in the
//! linearized model); the standard errors are the roots of its diagonal, in the units of X.

use crate::error::{Error, Result};
use crate::stats;
use proxyland_physics::{Simulator, Trajectory};
use serde::{Deserialize, Serialize};

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

/// The noise of an observation, as the χ² test and the standard errors use it.
#[derive(Debug, Clone, PartialEq)]
pub enum Noise {
    /// One standard deviation σ for every value (`--noise-std 0.01`).
    Given(f64),
    /// A standard deviation per value, shaped like the observation (a file of weights).
    PerPoint(Trajectory),
    /// Unknown: estimated from the residual's frame-to-frame differences (see [`fit_statistics`]).
    Estimate,
}

/// Where the σ of a fit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseSource {
    /// Given by the user, one σ for all values.
    Given,
    /// Given by the user, one σ per value.
    PerPoint,
    /// Estimated from the residual's differences between consecutive frames: they cancel a
    /// smooth misfit but keep white noise (von Neumann's ratio).
    FrameDifferences,
    /// Not known and not estimable: the fit is judged as an exact fit, or not at all.
    Unknown,
}

/// A relative residual below this (residual RMS / data RMS) is an exact fit: noise-free data
/// are fit to the solver's rounding at the right answer, many orders below any misfit.
pub const EXACT_FIT: f64 = 1e-6;

/// How well an answer X̂ explains the observation, and how well it is determined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uncertainty {
    /// L(Y*, X̂) = mean squared residual.
    pub resim_loss: f64,
    /// √(mean squared residual): in the units of the observation, comparable to its noise.
    pub residual_rms: f64,
    /// The observation's spread about its mean (its RMS when constant), the scale an exact fit
    /// is measured against: an offset (temperatures in kelvin) must not make a misfit small.
    pub data_spread: f64,
    /// N, the observed values.
    pub values: usize,
    /// The χ² test's degrees of freedom: N − d, or N when N ≤ d (nothing is left to test the
    /// fit with, so only the values' own spread counts).
    pub dof: usize,
    /// The noise σ the fit is judged with (one value; None for a per-point σ, or where there
    /// is none).
    pub noise_std: Option<f64>,
    /// Where σ came from.
    pub noise_source: NoiseSource,
    /// χ² = Σ r² / σ² (None without a σ).
    pub chi2: Option<f64>,
    /// χ² / (N − d): ≈ 1 for a fit to the noise.
    pub chi2_per_dof: Option<f64>,
    /// The probability of a misfit at least this large if the model and σ are right.
    pub p_value: Option<f64>,
    /// Per-parameter standard errors (units of X); ∞ where the data do not determine it.
    pub std_err: Vec<f64>,
    /// The Gauss–Newton covariance σ² (JᵀJ)⁻¹ (JᵀWJ)⁻¹ per point) in units of X, correlations
    /// included; None where JᵀJ is singular.
    pub covariance: Option<Vec<Vec<f64>>>,
}

impl Uncertainty {
    /// Whether the residual is at the solver's rounding level (noise-free data fit exactly).
    pub fn is_exact_fit(&self) -> bool {
        self.residual_rms <= EXACT_FIT * self.data_spread
    }
}

/// σ² estimated from the frame-to-frame differences of a residual (frames × components): for
/// white noise E (r_{t+1} − r_t)² = 2σ², and a misfit that varies smoothly from frame to frame
/// nearly cancels. Returns (σ², number of differences); None with fewer than two frames.
fn difference_variance(residual: &Trajectory) -> Option<(f64, usize)> {
    let (frames, components) = residual.dim();
    if frames < 2 {
        return None;
    }
    let mut sum = 0.0;
    for t in 0..frames - 1 {
        for c in 0..components {
            let d = residual[[t + 1, c]] - residual[[t, c]];
            sum += d * d;
        }
    }
    let count = (frames - 1) * components;
    Some((sum / (2.0 * count as f64), count))
}

/// The χ² statistics of a residual under `noise`, for d fitted parameters: (σ used, its
/// source, χ², p-value).
///
/// - σ given (one, or per value): χ² = Σ (r/σ)² against χ² with N − d degrees of freedom
///   (N when N ≤ d: nothing is left to test the fit with, so only the values' own spread counts).
/// - σ estimated: σ̂² from the residual's frame differences, and the p-value of the ratio
///   R = (Σ r² / (N − d)) / σ̂², which is von Neumann's ratio test of whiteness. For white noise
///   R ≈ 1 with variance 2/N + (3 − 1/(T − 1))/N_Δ − 4/N (T frames, N_Δ differences; the two
///   sums are correlated), and a smooth misfit inflates it. The p-value is the normal tail of R.
fn chi2_statistics(
    residual: &Trajectory,
    noise: &Noise,
    d: usize,
) -> (Option<f64>, NoiseSource, Option<f64>, Option<f64>) {
    let n = residual.len();
    let dof = if n > d { n - d } else { n };
    match noise {
        Noise::Given(sigma) => {
            let chi2 = residual.iter().map(|r| (r / sigma).powi(2)).sum::<f64>();
            (
                Some(*sigma),
                NoiseSource::Given,
                Some(chi2),
                Some(stats::chi2_upper_tail(chi2, dof)),
            )
        }
        Noise::PerPoint(sigmas) => {
            let chi2 = residual
                .iter()
                .zip(sigmas.iter())
                .map(|(r, s)| (r / s).powi(2))
                .sum::<f64>();
            (
                None,
                NoiseSource::PerPoint,
                Some(chi2),
                Some(stats::chi2_upper_tail(chi2, dof)),
            )
        }
        Noise::Estimate => match difference_variance(residual) {
            Some((s2, differences)) if s2 > 0.0 && s2.is_finite() => {
                let rss = residual.iter().map(|r| r * r).sum::<f64>();
                let chi2 = rss / s2;
                let ratio = chi2 / dof as f64;
                let frames = residual.nrows() as f64;
                let (n, nd) = (n as f64, differences as f64);
                let variance =
                    (2.0 / n + (3.0 - 1.0 / (frames - 1.0)) / nd - 4.0 / n).max(0.25 / n);
                let p = stats::normal_upper_tail((ratio - 1.0) / variance.sqrt());
                (
                    Some(s2.sqrt()),
                    NoiseSource::FrameDifferences,
                    Some(chi2),
                    Some(p),
                )
            }
            _ => (None, NoiseSource::Unknown, None, None),
        },
    }
}

/// Gauss–Newton standard errors and the goodness of fit of `x_hat` for the observation
/// `target`: one simulation with tangents (not charged to any method: it is the report on the
/// answer, like the resimulation). The covariance is σ² (JᵀJ)⁻¹ with the σ of `noise` (given, or
/// estimated from the residual's frame differences, so a misfit does not inflate it).
///
/// ```
/// use proxyland_optim::{gauss_newton, Noise};
/// use proxyland_physics::{experiment, Simulator};
/// let sim = experiment("burgers")?;
/// let y = sim.simulate(&[2.0, 7.0])?;
/// let u = gauss_newton(sim.as_ref(), &[2.0, 7.0], &y, &Noise::Estimate)?;
/// assert!(u.is_exact_fit() && u.std_err.iter().all(|e| *e < 1e-9));
/// # Ok::<(), proxyland_optim::Error>(())
/// ```
pub fn gauss_newton(
    sim: &dyn Simulator,
    x_hat: &[f64],
    target: &Trajectory,
    noise: &Noise,
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
    if let Noise::PerPoint(s) = noise {
        if s.dim() != target.dim() || s.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(Error::invalid(
                "noise",
                format!(
                    "a per-point σ must be positive and finite, shaped like the observation \
                     {:?} (got {:?})",
                    target.dim(),
                    s.dim()
                ),
            ));
        }
    }
    let residual = &run.trajectory - target;
    let n = residual.len();
    let d = x_hat.len();
    let rss: f64 = residual.iter().map(|r| r * r).sum();
    let mean = target.iter().sum::<f64>() / n as f64;
    let spread = (target.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    let data_spread = if spread > 0.0 {
        spread
    } else {
        (target.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt()
    };
    let (noise_std, noise_source, chi2, p_value) = chi2_statistics(&residual, noise, d);
    // JᵀWJ with W = 1/σ² per point (1 for a common σ, which multiplies the inverse instead).
    let tangents: Vec<Vec<f64>> = run
        .tangents
        .iter()
        .map(|t| t.iter().copied().collect())
        .collect();
    let sigmas_flat: Option<Vec<f64>> = match noise {
        Noise::PerPoint(s) => Some(s.iter().copied().collect()),
        _ => None,
    };
    let w = |k: usize| sigmas_flat.as_ref().map_or(1.0, |s| 1.0 / (s[k] * s[k]));
    let jtj: Vec<Vec<f64>> = (0..d)
        .map(|i| {
            (0..d)
                .map(|j| (0..n).map(|k| tangents[i][k] * tangents[j][k] * w(k)).sum())
                .collect()
        })
        .collect();
    let s2 = match (noise, noise_std) {
        (Noise::PerPoint(_), _) => 1.0,
        (_, Some(sigma)) => sigma * sigma,
        // No σ: the residual's own scale; with no value to spare, an exact fit is determined
        // to rounding and any other fit not at all.
        (_, None) if n > d => rss / (n - d) as f64,
        (_, None) if (rss / n as f64).sqrt() <= EXACT_FIT * data_spread => 0.0,
        (_, None) => f64::INFINITY,
    };
    let covariance = s2
        .is_finite()
        .then(|| spd_inverse(&jtj))
        .flatten()
        .map(|inv| {
            inv.iter()
                .map(|row| row.iter().map(|v| v * s2).collect::<Vec<f64>>())
                .collect::<Vec<_>>()
        });
    let std_err = match &covariance {
        Some(c) => (0..d).map(|j| c[j][j].max(0.0).sqrt()).collect(),
        None => vec![f64::INFINITY; d],
    };
    Ok(Uncertainty {
        resim_loss: rss / n as f64,
        residual_rms: (rss / n as f64).sqrt(),
        data_spread,
        values: n,
        dof: if n > d { n - d } else { n },
        noise_std,
        noise_source,
        chi2,
        chi2_per_dof: chi2.map(|c| c / if n > d { n - d } else { n }.max(1) as f64),
        p_value,
        std_err,
        covariance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxyland_physics::rng::Domain;

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
        let mut stream = Domain::Scratch.stream(3, 0);
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
            let u = gauss_newton(&sim, &[a, b], &y, &Noise::Estimate).unwrap();
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
}
