//! Levenberg–Marquardt on the residual vector r(u) = P(Y0, X(u)) − Y*, with the exact Jacobian
//! from the simulator's tangents.
//!
//! The configuration loss is a sum of squares of an ill-conditioned residual. BFGS sees only its
//! gradient Jᵀr and builds curvature from a few steps, so its stopping tests are met long before
//! the residual vanishes (at d = 16 it stopped 1–5% of the box from the truth). LM uses JᵀJ, the
//! Gauss–Newton curvature, from the first iteration; with the Jacobian at hand an iteration costs
//! one simulator call.
//!
//! The method is Moré's (1978) scaled trust region, as MINPACK's `lmder`: the step is the
//! Gauss–Newton step −(JᵀJ)⁻¹Jᵀr when it lies inside the region ‖Dh‖ ≤ Δ, else the damped step
//! −(JᵀJ + μD²)⁻¹Jᵀr on the region's edge; D_j is the largest ‖J_j‖ seen (invariant to the units
//! of each coordinate); a step is accepted when the gain ratio ρ (actual over predicted decrease)
//! exceeds 10⁻⁴, and Δ shrinks below ρ = ¼ and grows above ¾. Near the answer the undamped step
//! is taken and convergence is quadratic, so the answer is the least-squares point to rounding,
//! not to a tolerance. The box is handled as everywhere else: u is unbounded here and folded by
//! the objective, whose Jacobian columns carry the fold's sign.
//!
//! Why not a crate: `levenberg-marquardt` (0.14) brings nalgebra, a second linear-algebra stack
//! every user of optim would compile, and evaluates residual and Jacobian through separate calls,
//! which would charge our simulator twice for what one forward-mode run gives. argmin's
//! Gauss–Newton has no damping. The algorithm is 150 lines here, tested below.

use crate::error::{Error, Result};
use crate::local::{LocalResult, StopReason};
use crate::objective::TrueLoss;
use serde::{Deserialize, Serialize};

/// A residual vector and its Jacobian in u: what LM minimizes ½‖r‖² over.
pub trait Residuals {
    /// Dimension d of u.
    fn dim(&self) -> usize;
    /// r(u) and ∂r/∂u, one column (a vector as long as r) per coordinate.
    fn residual_and_jacobian(&self, u: &[f64]) -> Result<(Vec<f64>, Vec<Vec<f64>>)>;
}

impl Residuals for TrueLoss<'_> {
    fn dim(&self) -> usize {
        self.space().dim()
    }
    fn residual_and_jacobian(&self, u: &[f64]) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
        TrueLoss::residual_and_jacobian(self, u)
    }
}

/// Residuals given by a closure (tests, examples, a user's own least-squares problem).
pub struct FnResiduals<F> {
    dim: usize,
    f: F,
}

impl<F: Fn(&[f64]) -> (Vec<f64>, Vec<Vec<f64>>)> FnResiduals<F> {
    /// Residuals of dimension `dim` computed by `f(u) = (r, columns of J)`.
    pub fn new(dim: usize, f: F) -> Self {
        FnResiduals { dim, f }
    }
}

impl<F: Fn(&[f64]) -> (Vec<f64>, Vec<Vec<f64>>)> Residuals for FnResiduals<F> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn residual_and_jacobian(&self, u: &[f64]) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
        Ok((self.f)(u))
    }
}

/// Why LM stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LmStop {
    /// χ²/N ≤ 1 + 3√(2/N) for the given noise σ: the residual is down to the noise.
    NoiseLevel,
    /// Actual and predicted relative reductions of ‖r‖² below 1e-15: converged.
    Reduction,
    /// The step fell below 1e-12 (relative to u): converged.
    Step,
    /// Jᵀr is orthogonal to r to 1e-10 in every column (MINPACK's gtol): a stationary point.
    Gradient,
    /// The iteration cap was reached first.
    Iterations,
    /// A simulation failed, a value was not finite, or the budget ran out (see `stopped`).
    Failed,
}

impl LmStop {
    /// Whether the run ended by one of its convergence tests.
    pub fn converged(self) -> bool {
        !matches!(self, LmStop::Iterations | LmStop::Failed)
    }
}

/// Where an LM run ended.
#[derive(Debug, Clone)]
pub struct LmResult {
    /// The end point (in u; not folded).
    pub u: Vec<f64>,
    /// ‖r‖² / N there (the configuration loss for a [`TrueLoss`]).
    pub value: f64,
    /// Iterations (solves of the damped system; an iteration costs one call).
    pub iterations: u64,
    /// Why it stopped.
    pub stop: LmStop,
    /// The failure behind [`LmStop::Failed`].
    pub stopped: Option<StopReason>,
}

impl LmResult {
    /// As the result every local method returns.
    pub fn into_local(self) -> LocalResult {
        LocalResult {
            converged: self.stop.converged(),
            u: self.u,
            value: self.value,
            iterations: self.iterations,
            stopped: self.stopped,
        }
    }
}

/// LM's tolerances beside the iteration cap.
const REDUCTION_TOLERANCE: f64 = 1e-15;
const STEP_TOLERANCE: f64 = 1e-12;
const GRADIENT_TOLERANCE: f64 = 1e-10;

/// Solves the symmetric positive-definite system A x = b by Cholesky; None if A is not.
pub(crate) fn cholesky_solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let d = b.len();
    let mut l = vec![vec![0.0; d]; d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let v = a[i][i] - s;
                if !(v > 0.0 && v.is_finite()) {
                    return None;
                }
                l[i][i] = v.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    let mut y = vec![0.0; d];
    for i in 0..d {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = vec![0.0; d];
    for i in (0..d).rev() {
        x[i] = (y[i] - (i + 1..d).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

/// One evaluated point: u, r, J, JᵀJ, Jᵀr, ‖r‖².
struct Point {
    u: Vec<f64>,
    r: Vec<f64>,
    jtj: Vec<Vec<f64>>,
    jtr: Vec<f64>,
    column_norms: Vec<f64>,
    rss: f64,
}

fn evaluate(problem: &dyn Residuals, u: &[f64]) -> Result<Point> {
    let (r, j) = problem.residual_and_jacobian(u)?;
    let d = j.len();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let jtj: Vec<Vec<f64>> = (0..d)
        .map(|a| (0..d).map(|b| dot(&j[a], &j[b])).collect())
        .collect();
    let jtr: Vec<f64> = j.iter().map(|c| dot(c, &r)).collect();
    let rss = dot(&r, &r);
    if !rss.is_finite() || jtr.iter().any(|v| !v.is_finite()) {
        return Err(Error::NonFinite { u: u.to_vec() });
    }
    Ok(Point {
        u: u.to_vec(),
        column_norms: (0..d).map(|a| jtj[a][a].sqrt()).collect(),
        r,
        jtj,
        jtr,
        rss,
    })
}

/// Levenberg–Marquardt from `u0`, at most `max_iters` iterations. With `noise_std` = σ it also
/// stops once the residual is down to the noise (χ²/N ≤ 1 + 3√(2/N)).
///
/// ```
/// use proxyland_optim::{levenberg_marquardt, FnResiduals, LmStop};
/// // Fit y = a exp(b t) to exact data from (a, b) = (2, −0.5).
/// let t: Vec<f64> = (0..20).map(|i| i as f64 / 4.0).collect();
/// let y: Vec<f64> = t.iter().map(|t| 2.0 * (-0.5 * t).exp()).collect();
/// let fit = FnResiduals::new(2, |u: &[f64]| {
///     let r = t.iter().zip(&y).map(|(t, y)| u[0] * (u[1] * t).exp() - y).collect();
///     let ja = t.iter().map(|t| (u[1] * t).exp()).collect();
///     let jb = t.iter().map(|t| u[0] * t * (u[1] * t).exp()).collect();
///     (r, vec![ja, jb])
/// });
/// let r = levenberg_marquardt(&fit, &[1.0, 0.0], 100, None);
/// assert!(r.stop.converged());
/// assert!((r.u[0] - 2.0).abs() < 1e-10 && (r.u[1] + 0.5).abs() < 1e-10);
/// ```
pub fn levenberg_marquardt(
    problem: &dyn Residuals,
    u0: &[f64],
    max_iters: u64,
    noise_std: Option<f64>,
) -> LmResult {
    let mut point = match evaluate(problem, u0) {
        Ok(p) => p,
        Err(e) => return failure(u0, f64::INFINITY, 0, &e),
    };
    let run = LmRun {
        n: point.r.len().max(1) as f64,
        d: point.u.len(),
        noise_std,
    };
    let (n, d) = (run.n, run.d);
    // Moré's scaling: D_j = the largest ‖J_j‖ seen, so the trust region is invariant to the
    // units of each coordinate; a column that is zero at the start gets D_j = 1 (as MINPACK),
    // so the damped system stays solvable and that coordinate can still move.
    let mut scale: Vec<f64> = point
        .column_norms
        .iter()
        .map(|&c| if c > 0.0 { c } else { 1.0 })
        .collect();
    // MINPACK's initial radius: 100 ‖D u0‖, or 100 at the origin.
    let mut radius = match 100.0 * scaled_norm(&point.u, &scale) {
        r if r > 0.0 => r,
        _ => 100.0,
    };
    // Why the trials since the last accepted step failed to evaluate, if they did: a run that
    // shrinks its region to nothing against failing simulations has failed, not converged.
    let mut failing_trials: Option<StopReason> = None;
    let mut iterations = 0;
    while iterations < max_iters {
        if run.at_noise(point.rss) {
            return run.done(point, iterations, LmStop::NoiseLevel);
        }
        if run.stationary(&point) {
            return run.done(point, iterations, LmStop::Gradient);
        }
        iterations += 1;
        let h = trust_region_step(&point, &scale, radius);
        if h.iter().all(|v| *v == 0.0) {
            let reason = StopReason::LineSearch {
                message: "Levenberg–Marquardt: no damped step could be solved".into(),
            };
            return run.failed(point, iterations, reason);
        }
        let h_scaled = scaled_norm(&h, &scale);
        let predicted = predicted_decrease(&point, &h, d);
        let trial_u: Vec<f64> = point.u.iter().zip(&h).map(|(u, h)| u + h).collect();
        let trial = match evaluate(problem, &trial_u) {
            Ok(t) => Some(t),
            Err(e @ Error::BudgetExhausted { .. }) => {
                let value = point.rss / n;
                return failure(&point.u, value, iterations, &e);
            }
            // A blow-up or a non-finite value at the trial point: a failed step, not a failed
            // run; the trust region shrinks.
            Err(e) => {
                failing_trials = Some(StopReason::from_error(&e));
                None
            }
        };
        if trial.is_some() {
            failing_trials = None;
        }
        let half_rss = 0.5 * point.rss;
        let actual = trial
            .as_ref()
            .map_or(f64::NEG_INFINITY, |t| half_rss - 0.5 * t.rss);
        let rho = if predicted > 0.0 {
            actual / predicted
        } else {
            -1.0
        };
        // Moré's radius update: shrink on a poor model, grow on a good one.
        radius = updated_radius(radius, rho, h_scaled);
        // Below rounding of ‖r‖² the ratio test is noise, but the model is exact at that
        // scale: the step (from the exact Jᵀr) is taken, which is what makes the answer the
        // least-squares point to rounding in u, and the run ends.
        // (‖r‖² itself carries rounding of about N ε relative, so only the model's prediction
        // is compared with the tolerance; the actual change need only not be a real increase.)
        let small_reduction =
            predicted <= REDUCTION_TOLERANCE * half_rss && actual >= -1e-12 * half_rss;
        if let Some(t) = trial.filter(|_| rho > 1e-4 || small_reduction) {
            for (s, c) in scale.iter_mut().zip(&t.column_norms) {
                *s = s.max(*c);
            }
            point = t;
        }
        if small_reduction {
            return run.done(point, iterations, LmStop::Reduction);
        }
        if radius <= STEP_TOLERANCE * scaled_norm(&point.u, &scale).max(STEP_TOLERANCE) {
            if let Some(reason) = failing_trials {
                return run.failed(point, iterations, reason);
            }
            return run.done(point, iterations, LmStop::Step);
        }
    }
    // The last iteration's point is judged too: converged there is not "capped".
    if run.at_noise(point.rss) {
        return run.done(point, iterations, LmStop::NoiseLevel);
    }
    if run.stationary(&point) {
        return run.done(point, iterations, LmStop::Gradient);
    }
    run.done(point, iterations, LmStop::Iterations)
}

/// What stays fixed over one LM run, for its stopping tests and results: N (the residual's
/// length, at least 1), d, and the noise σ if given.
struct LmRun {
    n: f64,
    d: usize,
    noise_std: Option<f64>,
}

impl LmRun {
    /// The result of a run that ended at `point` after `iterations`, stopped by `stop`.
    fn done(&self, point: Point, iterations: u64, stop: LmStop) -> LmResult {
        LmResult {
            value: point.rss / self.n,
            u: point.u,
            iterations,
            stop,
            stopped: None,
        }
    }

    /// The result of a run that failed for `reason`, at `point` (its last accepted point).
    fn failed(&self, point: Point, iterations: u64, reason: StopReason) -> LmResult {
        LmResult {
            value: point.rss / self.n,
            u: point.u,
            iterations,
            stop: LmStop::Failed,
            stopped: Some(reason),
        }
    }

    /// Whether the residual is down to the noise: χ²/N ≤ 1 + 3√(2/N) (never without a σ).
    fn at_noise(&self, rss: f64) -> bool {
        let n = self.n;
        self.noise_std
            .is_some_and(|s| rss / (n * s * s) <= 1.0 + 3.0 * (2.0 / n).sqrt())
    }

    /// MINPACK's gradient test: r = 0, or Jᵀr orthogonal to r to `GRADIENT_TOLERANCE` in
    /// every column; a stationary point, where no step can help.
    fn stationary(&self, point: &Point) -> bool {
        let r_norm = point.rss.sqrt();
        r_norm == 0.0
            || (0..self.d).all(|j| {
                point.column_norms[j] == 0.0
                    || point.jtr[j].abs() <= GRADIENT_TOLERANCE * r_norm * point.column_norms[j]
            })
    }
}

/// The result of a run whose evaluation at `u` failed with `e` (the start's, or the budget's
/// running out), with the value of the last point that was evaluated.
fn failure(u: &[f64], value: f64, iterations: u64, e: &Error) -> LmResult {
    LmResult {
        u: u.to_vec(),
        value,
        iterations,
        stop: LmStop::Failed,
        stopped: Some(StopReason::from_error(e)),
    }
}

/// ‖D v‖: a length in the trust region's scaled norm.
fn scaled_norm(v: &[f64], scale: &[f64]) -> f64 {
    v.iter()
        .zip(scale)
        .map(|(a, s)| (a * s).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// The decrease of ½‖r‖² the linear model predicts for the step `h`: −gᵀh − ½ hᵀJᵀJh (the
/// denominator of the gain ratio ρ).
fn predicted_decrease(point: &Point, h: &[f64], d: usize) -> f64 {
    let jtj_h: Vec<f64> = (0..d)
        .map(|i| (0..d).map(|j| point.jtj[i][j] * h[j]).sum())
        .collect();
    -(0..d)
        .map(|i| point.jtr[i] * h[i] + 0.5 * h[i] * jtj_h[i])
        .sum::<f64>()
}

/// Moré's radius update after a step of scaled length `h_scaled` with gain ratio `rho`:
/// shrink below ρ = ¼, grow above ¾, else keep.
fn updated_radius(radius: f64, rho: f64, h_scaled: f64) -> f64 {
    if rho < 0.25 {
        0.25 * h_scaled.min(radius)
    } else if rho > 0.75 {
        radius.max(2.0 * h_scaled)
    } else {
        radius
    }
}

/// The step of Moré's trust region: the Gauss–Newton step −(JᵀJ)⁻¹Jᵀr when it lies inside
/// ‖Dh‖ ≤ Δ (so a linear problem is solved in one step), else the damped step
/// h(μ) = −(JᵀJ + μD²)⁻¹Jᵀr with ‖Dh(μ)‖ within 10% of Δ (μ found by safeguarded bisection on
/// log μ: d is small, and no simulator call is made).
fn trust_region_step(point: &Point, scale: &[f64], radius: f64) -> Vec<f64> {
    let d = scale.len();
    let minus_g: Vec<f64> = point.jtr.iter().map(|g| -g).collect();
    let damped = |mu: f64| -> Option<Vec<f64>> {
        let a: Vec<Vec<f64>> = (0..d)
            .map(|i| {
                (0..d)
                    .map(|j| {
                        point.jtj[i][j]
                            + if i == j {
                                mu * scale[i] * scale[i]
                            } else {
                                0.0
                            }
                    })
                    .collect()
            })
            .collect();
        cholesky_solve(&a, &minus_g)
    };
    let length = |h: &[f64]| {
        h.iter()
            .zip(scale)
            .map(|(a, s)| (a * s).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    if let Some(h) = damped(0.0) {
        if length(&h) <= 1.1 * radius {
            return h;
        }
    }
    // ‖Dh(μ)‖ falls with μ; for large μ, h ≈ −D⁻²g/μ, so μ_hi = ‖D⁻¹g‖/Δ is long enough.
    let g_scaled = minus_g
        .iter()
        .zip(scale)
        .map(|(g, s)| (g / s).powi(2))
        .sum::<f64>()
        .sqrt();
    let (mut lo, mut hi) = (1e-300_f64, (2.0 * g_scaled / radius).max(1e-300));
    let mut best = damped(hi).unwrap_or_else(|| vec![0.0; d]);
    for _ in 0..60 {
        let mu = (lo.ln() + 0.5 * (hi.ln() - lo.ln())).exp();
        match damped(mu) {
            Some(h) => {
                let l = length(&h);
                if l > 1.1 * radius {
                    lo = mu;
                } else {
                    hi = mu;
                    best = h;
                    if l >= 0.9 * radius {
                        break;
                    }
                }
            }
            None => lo = mu,
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linear_least_squares_problem_converges_in_one_step() {
        // r(u) = A u − b with a full-rank 5 × 3 A: the linear model is exact.
        let a = [
            [1.0, 2.0, 0.5],
            [0.0, 1.0, -1.0],
            [3.0, 0.0, 1.0],
            [1.0, 1.0, 1.0],
            [-2.0, 0.5, 0.0],
        ];
        let truth = [0.3, -1.2, 2.5];
        let b: Vec<f64> = a
            .iter()
            .map(|row| row.iter().zip(&truth).map(|(x, y)| x * y).sum())
            .collect();
        let residuals = FnResiduals::new(3, |u: &[f64]| {
            let r = a
                .iter()
                .zip(&b)
                .map(|(row, bi)| row.iter().zip(u).map(|(x, y)| x * y).sum::<f64>() - bi)
                .collect();
            let cols = (0..3)
                .map(|j| a.iter().map(|row| row[j]).collect())
                .collect();
            (r, cols)
        });
        // One iteration: the Gauss–Newton step lies inside the initial region and is exact.
        let one = levenberg_marquardt(&residuals, &[0.0; 3], 1, None);
        for (got, want) in one.u.iter().zip(&truth) {
            assert!((got - want).abs() < 1e-12, "{:?}", one.u);
        }
        // Unbounded, it stops at once on the vanished residual.
        let r = levenberg_marquardt(&residuals, &[0.0; 3], 100, None);
        assert!(r.stop.converged(), "{:?}", r.stop);
        assert!(r.iterations <= 2, "{} iterations", r.iterations);
        for (got, want) in r.u.iter().zip(&truth) {
            assert!((got - want).abs() < 1e-12, "{:?}", r.u);
        }
    }

    #[test]
    fn it_reproduces_a_curve_fit_of_noisy_data_to_1e_10() {
        // y = a exp(−b t) + c with noise. The reference is SciPy's: `curve_fit` (MINPACK's
        // lmder, tolerances 1e-15) from the same start, then polished by Gauss–Newton in NumPy
        // until ‖Jᵀr‖∞ < 1e-15 (curve_fit alone stops 1.4e-9 short: its tests are relative).
        const SCIPY: [f64; 3] = [2.4675785337159835, 1.2704969492159959, 0.49452592815649105];
        let t: Vec<f64> = (0..40).map(|i| i as f64 * 0.1).collect();
        let noise: Vec<f64> = (0..40)
            .map(|i| 0.01 * ((i * 7919 % 13) as f64 - 6.0))
            .collect();
        let y: Vec<f64> = t
            .iter()
            .zip(&noise)
            .map(|(t, e)| 2.5 * (-1.3 * t).exp() + 0.5 + e)
            .collect();
        let model = |u: &[f64]| {
            let r: Vec<f64> = t
                .iter()
                .zip(&y)
                .map(|(t, y)| u[0] * (-u[1] * t).exp() + u[2] - y)
                .collect();
            let ja = t.iter().map(|t| (-u[1] * t).exp()).collect();
            let jb = t.iter().map(|t| -u[0] * t * (-u[1] * t).exp()).collect();
            let jc = vec![1.0; t.len()];
            (r, vec![ja, jb, jc])
        };
        let r = levenberg_marquardt(&FnResiduals::new(3, model), &[1.0, 0.5, 0.0], 100, None);
        assert!(r.stop.converged(), "{:?}", r.stop);
        for (got, want) in r.u.iter().zip(SCIPY) {
            assert!(
                (got - want).abs() < 1e-10,
                "{:?} vs SciPy {SCIPY:?} ({:?} after {} iterations)",
                r.u,
                r.stop,
                r.iterations
            );
        }
    }

    #[test]
    fn it_stops_at_the_noise_level_when_told_it() {
        // Data with a known σ: LM stops once χ²/N is within the noise's spread, before the
        // reduction test would.
        let t: Vec<f64> = (0..200).map(|i| i as f64 * 0.02).collect();
        let sigma = 0.05;
        let y: Vec<f64> = t
            .iter()
            .enumerate()
            .map(|(i, t)| (1.7 * t).sin() + sigma * if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let model = FnResiduals::new(1, |u: &[f64]| {
            let r = t
                .iter()
                .zip(&y)
                .map(|(t, y)| (u[0] * t).sin() - y)
                .collect();
            (r, vec![t.iter().map(|t| t * (u[0] * t).cos()).collect()])
        });
        let r = levenberg_marquardt(&model, &[1.5], 100, Some(sigma));
        assert_eq!(r.stop, LmStop::NoiseLevel);
        assert!((r.u[0] - 1.7).abs() < 1e-2, "{:?}", r.u);
        let n = t.len() as f64;
        assert!(r.value / (sigma * sigma) <= 1.0 + 3.0 * (2.0 / n).sqrt());
    }

    #[test]
    fn a_parameter_without_effect_at_the_start_still_moves() {
        // r = (u0·u1 − 2, u1 − 1): at u = (1, 0) the first column ∂r/∂u0 = (u1, 0) is zero.
        let model = FnResiduals::new(2, |u: &[f64]| {
            (
                vec![u[0] * u[1] - 2.0, u[1] - 1.0],
                vec![vec![u[1], 0.0], vec![u[0], 1.0]],
            )
        });
        let r = levenberg_marquardt(&model, &[1.0, 0.0], 100, None);
        assert!(r.stop.converged(), "{:?}", r.stop);
        assert!(
            (r.u[0] - 2.0).abs() < 1e-10 && (r.u[1] - 1.0).abs() < 1e-10,
            "{:?}",
            r.u
        );
    }

    #[test]
    fn a_failing_start_is_a_failure_and_a_failing_trial_shrinks_the_step() {
        struct Cliff;
        impl Residuals for Cliff {
            fn dim(&self) -> usize {
                1
            }
            // r = u − 2, but evaluation fails past u = 1.5 (a blow-up).
            fn residual_and_jacobian(&self, u: &[f64]) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
                if u[0] > 1.5 {
                    return Err(Error::NonFinite { u: u.to_vec() });
                }
                Ok((vec![u[0] - 2.0], vec![vec![1.0]]))
            }
        }
        let r = levenberg_marquardt(&Cliff, &[3.0], 100, None);
        assert_eq!(r.stop, LmStop::Failed);
        assert!(r.stopped.is_some());
        // From below, every full step fails; LM shrinks towards the cliff and never crosses,
        // and a run that ends against failing simulations is not reported as converged.
        let r = levenberg_marquardt(&Cliff, &[0.0], 100, None);
        assert!(r.u[0] <= 1.5 && r.u[0] > 1.4, "{:?}", r.u);
        assert!(!r.stop.converged(), "{:?}", r.stop);
    }
}
