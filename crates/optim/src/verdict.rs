//! Whether to trust an answer: one function, [`judge`], that a statistician would sign.
//!
//! An answer is `ok` only when every check passes, each independent of any other observation:
//!
//! 1. the method ended on a finite, successful simulation (else `FAILED`);
//! 2. no non-periodic coordinate lies within [`BOUNDARY_TOLERANCE`] of the box's edge: the loss
//!    is even about each face (reflecting boxes), so a truth outside the box pins the answer
//!    there with a zero gradient (else `AT_BOUNDARY`);
//! 3. the fit explains the data: an exact fit of noise-free data, or χ² = Σ r²/σ² consistent
//!    with N − d degrees of freedom at p ≥ [`MIN_P_VALUE`] (σ given, or estimated from the
//!    residual's frame differences; see [`crate::gauss_newton`]) (else `SUSPECT`);
//! 4. no other minimum the method found explains the data as well while lying more than
//!    [`AMBIGUITY_SE`] standard errors away (else `AMBIGUOUS`, listing both).

use crate::methods::{Answer, Minimum, SUCCESS_TOLERANCE};
use crate::stats;
use crate::uncertainty::{Noise, NoiseSource, Uncertainty, gauss_newton};
use proxyland_physics::{Simulator, Trajectory};
use serde::{Deserialize, Serialize};

/// A goodness-of-fit p-value below this is a misfit (spec v3).
pub const MIN_P_VALUE: f64 = 1e-3;

/// An answer within this (in normalized coordinates) of a non-periodic box edge is pinned there.
pub const BOUNDARY_TOLERANCE: f64 = 1e-6;

/// Two minima that both explain the data are distinct answers when they lie farther apart than
/// this many standard errors in some coordinate.
pub const AMBIGUITY_SE: f64 = 3.0;

/// Whether to trust an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Trust {
    /// The answer explains the observation (to its noise, or to numerical precision), lies
    /// inside the box, and no other answer found explains it as well.
    Ok {
        /// Why.
        reason: String,
    },
    /// The residual is larger than the noise allows: probably a local minimum, or data from
    /// another model.
    Suspect {
        /// Why.
        reason: String,
    },
    /// The answer sits on a (non-periodic) face of the box: the truth probably lies outside it.
    AtBoundary {
        /// Why.
        reason: String,
    },
    /// Another minimum explains the data as well and lies far away: the data do not decide.
    Ambiguous {
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

    /// The verdict's word as printed: `ok`, or an upper-case warning.
    pub fn word(&self) -> &'static str {
        match self {
            Trust::Ok { .. } => "ok",
            Trust::Suspect { .. } => "SUSPECT",
            Trust::AtBoundary { .. } => "AT_BOUNDARY",
            Trust::Ambiguous { .. } => "AMBIGUOUS",
            Trust::Failed { .. } => "FAILED",
        }
    }

    /// The verdict's key in files: `ok`, `suspect`, `at-boundary`, `ambiguous`, `failed` (as
    /// the JSON's `verdict` field).
    pub fn key(&self) -> &'static str {
        match self {
            Trust::Ok { .. } => "ok",
            Trust::Suspect { .. } => "suspect",
            Trust::AtBoundary { .. } => "at-boundary",
            Trust::Ambiguous { .. } => "ambiguous",
            Trust::Failed { .. } => "failed",
        }
    }

    /// Why.
    pub fn reason(&self) -> &str {
        match self {
            Trust::Ok { reason }
            | Trust::Suspect { reason }
            | Trust::AtBoundary { reason }
            | Trust::Ambiguous { reason }
            | Trust::Failed { reason } => reason,
        }
    }
}

/// Another minimum the method found, judged against the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    /// Where (units of X).
    pub x: Vec<f64>,
    /// L(Y*, X) there.
    pub loss: f64,
    /// Its χ² under the answer's σ (None without one).
    pub chi2: Option<f64>,
    /// Its goodness-of-fit p-value under the answer's σ.
    pub p_value: Option<f64>,
    /// Whether it explains the data as well as the answer does (passes the same test).
    pub fits: bool,
    /// Its largest distance from the answer over the coordinates, in the answer's standard
    /// errors (∞ where an error is 0).
    pub separation_se: f64,
}

/// An answer with its fit statistics, the other minima and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    /// Fit and uncertainty at the answer; None when its resimulation failed.
    pub fit: Option<Uncertainty>,
    /// The other distinct minima the method found, judged.
    pub alternatives: Vec<Alternative>,
    /// The verdict, with its reason.
    pub trust: Trust,
}

/// Whether a fit passes: an exact fit, or a χ² p-value of at least [`MIN_P_VALUE`].
fn passes(fit: &Uncertainty) -> bool {
    fit.is_exact_fit() || fit.p_value.is_some_and(|p| p >= MIN_P_VALUE)
}

fn describe_fit(fit: &Uncertainty) -> String {
    if fit.is_exact_fit() {
        return format!(
            "an exact fit (residual RMS {:.1e} of the data's spread)",
            fit.residual_rms / fit.data_spread.max(1e-300)
        );
    }
    let how = match fit.noise_source {
        NoiseSource::Given => format!("the given σ = {:.3e}", fit.noise_std.unwrap_or(f64::NAN)),
        NoiseSource::PerPoint => "the given per-point σ".to_string(),
        NoiseSource::FrameDifferences => format!(
            "σ = {:.3e} estimated from the residual's frame differences",
            fit.noise_std.unwrap_or(f64::NAN)
        ),
        NoiseSource::Unknown => "no σ".to_string(),
    };
    match (fit.chi2_per_dof, fit.p_value) {
        (Some(r), Some(p)) => format!(
            "χ²/(N − d) = {r:.3} with N − d = {}, p = {} ({how})",
            fit.dof,
            stats::format_p(p)
        ),
        _ => format!(
            "residual RMS {:.3e} ({:.1e} of the data's spread) is no exact fit, and the residual \
             gives no noise estimate (one frame, or constant in time): give --noise-std",
            fit.residual_rms,
            fit.residual_rms / fit.data_spread.max(1e-300)
        ),
    }
}

/// Where the user's noise model comes from (before any estimate).
fn noise_source(noise: &Noise) -> NoiseSource {
    match noise {
        Noise::Given(_) => NoiseSource::Given,
        Noise::PerPoint(_) => NoiseSource::PerPoint,
        Noise::Estimate => NoiseSource::FrameDifferences,
    }
}

/// The σ the answer was judged with, to judge its alternatives by the same yardstick (an
/// estimated σ is held fixed: an alternative's own misfit must not set its own scale).
fn same_yardstick(fit: &Uncertainty, noise: &Noise) -> Noise {
    match (noise, fit.noise_source, fit.noise_std) {
        (Noise::Estimate, NoiseSource::FrameDifferences, Some(s)) => Noise::Given(s),
        _ => noise.clone(),
    }
}

/// Judges `answer` to the observation `target` under `noise`: its fit and standard errors
/// (one simulation with tangents, and one per other minimum; none charged to the method), and
/// the verdict. The verdict depends on this observation alone.
///
/// ```
/// use proxyland_optim::{judge, Answer, Noise};
/// use proxyland_physics::{experiment, Simulator};
/// let sim = experiment("burgers")?;
/// let y = sim.simulate(&[2.0, 7.0])?;
/// let answer = Answer { x_hat: vec![2.0, 7.0], resim_loss: 0.0, sim_calls: 1,
///     surrogate_evals: 0, wall_s: 0.0, stopped: None, rounds: None, minima: vec![],
///     local_runs: 1, field_solves: 3, refinement: None };
/// assert!(judge(sim.as_ref(), &answer, &y, &Noise::Estimate).trust.is_ok());
/// // Pinned on the ω = 12 face: never ok.
/// let edge = Answer { x_hat: vec![2.0, 12.0], ..answer };
/// assert!(!judge(sim.as_ref(), &edge, &y, &Noise::Estimate).trust.is_ok());
/// # Ok::<(), proxyland_physics::Error>(())
/// ```
pub fn judge(
    sim: &dyn Simulator,
    answer: &Answer,
    target: &Trajectory,
    noise: &Noise,
) -> Judgement {
    let failed = |reason: String| Judgement {
        fit: None,
        alternatives: Vec::new(),
        trust: Trust::Failed { reason },
    };
    if let Some(reason) = answer.stopped.as_ref().filter(|s| s.is_failure()) {
        return failed(reason.to_string());
    }
    let fit = match gauss_newton(sim, &answer.x_hat, target, noise) {
        Ok(fit) if fit.resim_loss.is_finite() => fit,
        Ok(_) => return failed("the answer's resimulation is not finite".into()),
        Err(e) => return failed(format!("the answer's resimulation failed: {e}")),
    };
    let space = sim.param_space();
    let edges = edges_reached(space, &answer.x_hat);
    let yardstick = same_yardstick(&fit, noise);
    let alternatives = other_minima(sim, answer, target, noise, &yardstick, &fit);
    let fit_words = describe_fit(&fit);
    let near = near_edges(space, &answer.x_hat, &fit.std_err);
    // Stopped just short of a face (an even loss there has no gradient to finish the approach):
    // the point on the face explains the data as well, so that is where the answer lies.
    let face = (!near.is_empty() && edges.is_empty())
        .then(|| point_on_face(sim, &answer.x_hat, target, &yardstick, &fit, &near))
        .flatten();
    let near_words: Vec<String> = near.iter().map(|(_, _, words)| words.clone()).collect();
    let d = space.dim();
    let trust = verdict(
        answer,
        &fit,
        d,
        (edges.as_slice(), face, near_words.as_slice()),
        &alternatives,
        fit_words,
    );
    Judgement {
        fit: Some(fit),
        alternatives,
        trust,
    }
}

/// The non-periodic coordinates of `x` that lie on the box's edge (within
/// [`BOUNDARY_TOLERANCE`]), each as `name = edge (the box's edge)`.
fn edges_reached(space: &proxyland_physics::ParamSpace, x: &[f64]) -> Vec<String> {
    let u = space.to_unit(x);
    (0..space.dim())
        .filter(|&j| !space.is_periodic(j))
        .filter(|&j| u[j] <= BOUNDARY_TOLERANCE || u[j] >= 1.0 - BOUNDARY_TOLERANCE)
        .map(|j| {
            let edge = if u[j] <= 0.5 {
                space.lo[j]
            } else {
                space.hi[j]
            };
            format!("{} = {} (the box's edge)", space.names[j], edge)
        })
        .collect()
}

/// The other minima the method found (all but the answer itself), each judged by the
/// answer's yardstick; those that cannot be resimulated are left out.
fn other_minima(
    sim: &dyn Simulator,
    answer: &Answer,
    target: &Trajectory,
    noise: &Noise,
    yardstick: &Noise,
    fit: &Uncertainty,
) -> Vec<Alternative> {
    let space = sim.param_space();
    answer
        .minima
        .iter()
        .filter(|m| {
            space
                .normalized_distance(&m.x, &answer.x_hat)
                .iter()
                .any(|&d| d > 0.0)
        })
        .filter_map(|m| {
            alternative(
                sim,
                m,
                target,
                (yardstick, noise_source(noise)),
                fit,
                &answer.x_hat,
            )
        })
        .collect()
}

/// `x` moved onto the faces it lies `near`, if it fits there (passes, or fits no worse than
/// at `x`): where an answer that stopped just short of a face really lies.
fn point_on_face(
    sim: &dyn Simulator,
    x: &[f64],
    target: &Trajectory,
    yardstick: &Noise,
    fit: &Uncertainty,
    near: &[(usize, f64, String)],
) -> Option<Vec<f64>> {
    let mut x = x.to_vec();
    for (j, edge, _) in near {
        x[*j] = *edge;
    }
    let at_face = gauss_newton(sim, &x, target, yardstick).ok()?;
    (passes(&at_face) || at_face.resim_loss <= fit.resim_loss).then_some(x)
}

/// The verdict on an answer that was resimulated, in the order the checks are listed in the
/// module's documentation: on the box's edge (`edges`), or just short of it (`face`, the point
/// on it that fits as well; `near_words`, the edges it is near), a misfit, undetermined
/// parameters, then another minimum that fits as well.
fn verdict(
    answer: &Answer,
    fit: &Uncertainty,
    d: usize,
    (edges, face, near_words): (&[String], Option<Vec<f64>>, &[String]),
    alternatives: &[Alternative],
    fit_words: String,
) -> Trust {
    if !edges.is_empty() {
        Trust::AtBoundary {
            reason: format!(
                "{} : the truth probably lies outside the box; {fit_words}",
                edges.join(", ")
            ),
        }
    } else if let Some(x_face) = face {
        Trust::AtBoundary {
            reason: format!(
                "the answer lies within {AMBIGUITY_SE} standard errors of the box's edge at {}, \
                 and {x_face:?} on the edge fits at least as well: the truth probably lies \
                 outside the box; {fit_words}",
                near_words.join(", ")
            ),
        }
    } else if !passes(fit) {
        Trust::Suspect {
            reason: format!(
                "the residual does not fit the noise: {fit_words}; {}",
                if near_words.is_empty() {
                    "probably a local minimum, or data from another model".to_string()
                } else {
                    format!(
                        "the answer lies within {AMBIGUITY_SE} standard errors of the box's edge \
                         at {}: the truth may lie outside the box",
                        near_words.join(", ")
                    )
                }
            ),
        }
    } else if fit.covariance.is_none() && !fit.is_exact_fit() {
        Trust::Ambiguous {
            reason: format!(
                "the data do not determine every parameter (JᵀJ is singular at the answer, so \
                 other X fit as well); {fit_words}"
            ),
        }
    } else if fit.values <= d && answer.local_runs <= 1 {
        Trust::Ambiguous {
            reason: format!(
                "{} observed values for {d} parameters and a single start: other X may fit as \
                 well, and no search looked; use a multi-start method (multistart-bfgs, \
                 pool-bfgs)",
                fit.values
            ),
        }
    } else if let Some(other) = alternatives
        .iter()
        .find(|a| a.fits && a.separation_se > AMBIGUITY_SE)
    {
        Trust::Ambiguous {
            reason: format!(
                "{:?} (loss {:.3e}) and {:?} (loss {:.3e}, {:.1} standard errors away) both fit \
                 the data: the observation does not decide between them",
                answer.x_hat, fit.resim_loss, other.x, other.loss, other.separation_se
            ),
        }
    } else {
        Trust::Ok { reason: fit_words }
    }
}

/// The non-periodic faces within [`AMBIGUITY_SE`] standard errors of `x`, as (coordinate, the
/// face's value, `name = edge`): a misfit there is what a truth outside the box looks like when
/// the search stopped just short of the face.
fn near_edges(
    space: &proxyland_physics::ParamSpace,
    x: &[f64],
    std_err: &[f64],
) -> Vec<(usize, f64, String)> {
    (0..space.dim())
        .filter(|&j| !space.is_periodic(j) && std_err[j].is_finite())
        .filter_map(|j| {
            let margin = AMBIGUITY_SE * std_err[j];
            let edge = if x[j] - space.lo[j] <= margin {
                space.lo[j]
            } else if space.hi[j] - x[j] <= margin {
                space.hi[j]
            } else {
                return None;
            };
            Some((j, edge, format!("{} = {edge}", space.names[j])))
        })
        .collect()
}

/// Judges another minimum `m` by the answer's yardstick; None if it cannot be resimulated.
fn alternative(
    sim: &dyn Simulator,
    m: &Minimum,
    target: &Trajectory,
    (yardstick, yardstick_source): (&Noise, NoiseSource),
    fit: &Uncertainty,
    x_hat: &[f64],
) -> Option<Alternative> {
    let other = gauss_newton(sim, &m.x, target, yardstick).ok()?;
    let space = sim.param_space();
    let separation_se = space
        .normalized_distance(&m.x, x_hat)
        .iter()
        .enumerate()
        .map(|(j, d)| {
            let distance = d * space.width(j);
            match fit.std_err[j] {
                e if e > 0.0 && e.is_finite() => distance / e,
                // An undetermined coordinate: measured in success tolerances instead, so two
                // answers far apart still count as two.
                e if !e.is_finite() => d / SUCCESS_TOLERANCE,
                _ if distance > 0.0 => f64::INFINITY,
                _ => 0.0,
            }
        })
        .fold(0.0, f64::max);
    // An alternative fits when it passes the answer's own test: consistent with the σ the
    // user gave, or, with σ estimated, both exact fits or both consistent with the answer's σ̂.
    let fits = match yardstick_source {
        NoiseSource::Given | NoiseSource::PerPoint => passes(&other),
        _ if fit.is_exact_fit() => other.is_exact_fit(),
        _ => passes(&other),
    };
    Some(Alternative {
        x: m.x.clone(),
        loss: other.resim_loss,
        chi2: other.chi2,
        p_value: other.p_value,
        fits,
        separation_se,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxyland_physics::rng::Domain;
    use proxyland_physics::{Boundary, ParamSpace, Tangents};

    /// y(t, c) = a exp(−b t) (1 + c/2): mildly nonlinear, 60 frames × 3 components.
    struct Decay(ParamSpace);
    const FRAMES: usize = 60;
    const COMPONENTS: usize = 3;
    fn time(i: usize) -> f64 {
        i as f64 / (FRAMES - 1) as f64 * 3.0
    }
    impl Simulator for Decay {
        fn name(&self) -> &str {
            "decay"
        }
        fn param_space(&self) -> &ParamSpace {
            &self.0
        }
        fn trajectory_shape(&self) -> (usize, usize) {
            (FRAMES, COMPONENTS)
        }
        fn frame_times(&self) -> Vec<f64> {
            (0..FRAMES).map(time).collect()
        }
        fn state_axis(&self) -> Vec<f64> {
            (0..COMPONENTS).map(|c| c as f64).collect()
        }
        fn simulate(&self, x: &[f64]) -> proxyland_physics::Result<Trajectory> {
            Ok(Trajectory::from_shape_fn((FRAMES, COMPONENTS), |(i, c)| {
                x[0] * (-x[1] * time(i)).exp() * (1.0 + c as f64 / 2.0)
            }))
        }
        fn simulate_with_tangents(&self, x: &[f64]) -> proxyland_physics::Result<Tangents> {
            Ok(Tangents {
                trajectory: self.simulate(x)?,
                tangents: vec![
                    Trajectory::from_shape_fn((FRAMES, COMPONENTS), |(i, c)| {
                        (-x[1] * time(i)).exp() * (1.0 + c as f64 / 2.0)
                    }),
                    Trajectory::from_shape_fn((FRAMES, COMPONENTS), |(i, c)| {
                        -time(i) * x[0] * (-x[1] * time(i)).exp() * (1.0 + c as f64 / 2.0)
                    }),
                ],
            })
        }
    }

    fn decay() -> Decay {
        Decay(
            ParamSpace::new(
                ["a", "b"],
                ["-", "1/s"],
                [0.1, 0.1],
                [5.0, 3.0],
                [Boundary::Reflect, Boundary::Reflect],
            )
            .unwrap(),
        )
    }

    /// The least-squares fit by Gauss–Newton iterations to convergence (independent of the
    /// optimizers under test).
    fn least_squares(sim: &Decay, y: &Trajectory, mut x: [f64; 2]) -> [f64; 2] {
        for _ in 0..50 {
            let t = sim.simulate_with_tangents(&x).unwrap();
            let r = &t.trajectory - y;
            let j = &t.tangents;
            let dot = |a: &Trajectory, b: &Trajectory| (a * b).sum();
            let (a11, a12, a22) = (dot(&j[0], &j[0]), dot(&j[0], &j[1]), dot(&j[1], &j[1]));
            let (g1, g2) = (dot(&j[0], &r), dot(&j[1], &r));
            let det = a11 * a22 - a12 * a12;
            let step = [(a22 * g1 - a12 * g2) / det, (a11 * g2 - a12 * g1) / det];
            x = [x[0] - step[0], x[1] - step[1]];
            if step[0].abs().max(step[1].abs()) < 1e-14 {
                break;
            }
        }
        x
    }

    fn answer_at(x: &[f64], minima: Vec<Minimum>) -> Answer {
        Answer {
            x_hat: x.to_vec(),
            resim_loss: 0.0,
            sim_calls: 0,
            surrogate_evals: 0,
            wall_s: 0.0,
            stopped: None,
            rounds: None,
            local_runs: 1 + minima.len(),
            minima,
            field_solves: 0,
            refinement: None,
        }
    }

    /// 200 noisy fits at the right model: their p-values must be uniform, with σ given and with
    /// σ estimated from frame differences (Kolmogorov–Smirnov at 5%).
    #[test]
    fn p_values_of_correct_fits_are_uniform() {
        let sim = decay();
        let truth = [2.0, 0.7];
        let clean = sim.simulate(&truth).unwrap();
        let sigma = 0.02;
        let mut stream = Domain::Scratch.stream(11, 0);
        let (mut given, mut estimated, mut ratio) = (Vec::new(), Vec::new(), 0.0);
        for _ in 0..200 {
            let y = clean.mapv(|v| v + sigma * stream.normal());
            let x = least_squares(&sim, &y, truth);
            let a = answer_at(&x, vec![]);
            let g = judge(&sim, &a, &y, &Noise::Given(sigma));
            given.push(g.fit.unwrap().p_value.unwrap());
            let e = judge(&sim, &a, &y, &Noise::Estimate);
            let fit = e.fit.unwrap();
            ratio += fit.noise_std.unwrap() / sigma / 200.0;
            estimated.push(fit.p_value.unwrap());
        }
        // The frame-difference estimate of σ is unbiased for white noise.
        assert!((ratio - 1.0).abs() < 0.02, "mean σ̂/σ = {ratio:.3}");
        let critical = 1.358 / (200f64).sqrt();
        let d_given = stats::ks_uniform_statistic(&given);
        let d_estimated = stats::ks_uniform_statistic(&estimated);
        assert!(d_given < critical, "σ given: D = {d_given:.3}");
        assert!(d_estimated < critical, "σ estimated: D = {d_estimated:.3}");
        // With a σ half the true one, the same fits are rejected.
        let y = clean.mapv(|v| v + sigma * stream.normal());
        let x = least_squares(&sim, &y, truth);
        let wrong = judge(&sim, &answer_at(&x, vec![]), &y, &Noise::Given(sigma / 2.0));
        assert!(
            matches!(wrong.trust, Trust::Suspect { .. }),
            "{:?}",
            wrong.trust
        );
    }

    #[test]
    fn a_smooth_misfit_is_suspect_with_and_without_a_given_sigma() {
        let sim = decay();
        let sigma = 0.02;
        let mut stream = Domain::Scratch.stream(5, 0);
        let y = sim
            .simulate(&[2.0, 0.7])
            .unwrap()
            .mapv(|v| v + sigma * stream.normal());
        // 2% off in the rate: RMS misfit about the size of the noise, but smooth.
        let near = [2.0, 0.714];
        for noise in [Noise::Given(sigma), Noise::Estimate] {
            let j = judge(&sim, &answer_at(&near, vec![]), &y, &noise);
            assert!(
                matches!(j.trust, Trust::Suspect { .. }),
                "{noise:?}: {:?}",
                j.trust
            );
        }
    }

    #[test]
    fn answers_on_a_reflecting_face_are_at_boundary() {
        let sim = decay();
        let y = sim.simulate(&[2.0, 3.0]).unwrap();
        let j = judge(&sim, &answer_at(&[2.0, 3.0], vec![]), &y, &Noise::Estimate);
        assert!(matches!(j.trust, Trust::AtBoundary { .. }), "{:?}", j.trust);
        assert!(j.trust.reason().contains("b = 3"));
        // Just inside the face is fine.
        let y = sim.simulate(&[2.0, 2.99]).unwrap();
        let j = judge(&sim, &answer_at(&[2.0, 2.99], vec![]), &y, &Noise::Estimate);
        assert!(j.trust.is_ok(), "{:?}", j.trust);
    }

    #[test]
    fn two_minima_that_both_fit_are_ambiguous_and_a_worse_one_is_not() {
        // y = a² exp(−b t): a and −a give the same trajectory. The box is symmetric about 0.
        struct Square(ParamSpace);
        impl Simulator for Square {
            fn name(&self) -> &str {
                "square"
            }
            fn param_space(&self) -> &ParamSpace {
                &self.0
            }
            fn trajectory_shape(&self) -> (usize, usize) {
                (FRAMES, 1)
            }
            fn frame_times(&self) -> Vec<f64> {
                (0..FRAMES).map(time).collect()
            }
            fn state_axis(&self) -> Vec<f64> {
                vec![0.0]
            }
            fn simulate(&self, x: &[f64]) -> proxyland_physics::Result<Trajectory> {
                Ok(Trajectory::from_shape_fn((FRAMES, 1), |(i, _)| {
                    x[0] * x[0] * (-time(i)).exp()
                }))
            }
            fn simulate_with_tangents(&self, x: &[f64]) -> proxyland_physics::Result<Tangents> {
                Ok(Tangents {
                    trajectory: self.simulate(x)?,
                    tangents: vec![Trajectory::from_shape_fn((FRAMES, 1), |(i, _)| {
                        2.0 * x[0] * (-time(i)).exp()
                    })],
                })
            }
        }
        let sim =
            Square(ParamSpace::new(["a"], ["-"], [-2.0], [2.0], [Boundary::Reflect]).unwrap());
        let y = sim.simulate(&[1.2]).unwrap();
        let mirror = Minimum {
            x: vec![-1.2],
            loss: 0.0,
        };
        let j = judge(&sim, &answer_at(&[1.2], vec![mirror]), &y, &Noise::Estimate);
        assert!(matches!(j.trust, Trust::Ambiguous { .. }), "{:?}", j.trust);
        assert_eq!(j.alternatives.len(), 1);
        assert!(j.alternatives[0].fits);
        // A local minimum elsewhere that does not fit leaves the answer ok.
        let worse = Minimum {
            x: vec![0.3],
            loss: 1.0,
        };
        let j = judge(&sim, &answer_at(&[1.2], vec![worse]), &y, &Noise::Estimate);
        assert!(j.trust.is_ok(), "{:?}", j.trust);
        assert!(!j.alternatives[0].fits);
    }

    #[test]
    fn failures_and_non_finite_resimulations_are_failed() {
        let sim = decay();
        let y = sim.simulate(&[2.0, 0.7]).unwrap();
        let mut a = answer_at(&[2.0, 0.7], vec![]);
        a.stopped = Some(crate::StopReason::NonFinite);
        assert!(matches!(
            judge(&sim, &a, &y, &Noise::Estimate).trust,
            Trust::Failed { .. }
        ));
    }
}
