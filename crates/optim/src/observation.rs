//! One user observation solved and judged on its own: the start, the run, the verdict and,
//! where the truth is known, the score. `solve` in the cli is this, once per observation.

use crate::local::StopReason;
use crate::methods::{Answer, Method, Problem, is_success, run};
use crate::{Judgement, LocalSettings, Noise, SampleLibrary, SurrogateModel, Trace, judge};
use proxyland_physics::rng::Domain;
use proxyland_physics::{Simulator, Trajectory};

/// What a solve of one observation needs beside the method.
pub struct Observation<'a> {
    /// The observed trajectory Y*.
    pub target: &'a Trajectory,
    /// Its noise model (given σ, per-point σ, or estimated from the residual).
    pub noise: &'a Noise,
    /// The start in normalized coordinates, where the caller has one (a learned prediction,
    /// `--init`); otherwise a uniform draw keyed by the observation's content.
    pub start: Option<Vec<f64>>,
    /// The true parameters, where known (simulated observations): the answer is scored.
    pub truth: Option<&'a [f64]>,
}

/// One observation's answer, its verdict and, where the truth is known, (X*, success).
pub struct Solved {
    /// What the method returned (a failure is an answer too: its start, marked failed).
    pub answer: Answer,
    /// The verdict on the answer, from this observation alone.
    pub judgement: Judgement,
    /// The truth and whether the answer is within the success tolerance of it.
    pub truth: Option<(Vec<f64>, bool)>,
}

/// Solves and judges one observation. Its start and random draws come from its own values
/// (an FNV-1a hash of them) and `seed`, never from its place in a batch: the same observation
/// gets the same answer alone or among others. A method that fails on it gives a failed
/// answer (its start) whose verdict says why; the batch goes on.
///
/// ```
/// use proxyland_optim::{LocalSettings, Method, Noise, Observation, solve_observation};
/// use proxyland_physics::{experiment, Simulator};
/// let sim = experiment("gramacy-lee")?;
/// let y = sim.simulate(&[1.2])?;
/// let observation = Observation { target: &y, noise: &Noise::Estimate, start: None,
///     truth: Some(&[1.2]) };
/// let method = Method::parse("multistart-bfgs", 200)?;
/// let solved = solve_observation(sim.as_ref(), &observation, &method, None, None,
///     LocalSettings::default(), 0, None);
/// assert!(solved.answer.sim_calls <= 200);
/// assert!(solved.truth.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[allow(clippy::too_many_arguments)] // each is one independent choice of the caller
pub fn solve_observation(
    sim: &dyn Simulator,
    observation: &Observation,
    method: &Method,
    surrogate: Option<&dyn SurrogateModel>,
    library: Option<&SampleLibrary>,
    settings: LocalSettings,
    seed: u64,
    trace: Option<&Trace>,
) -> Solved {
    let space = sim.param_space();
    let key = content_key(observation.target);
    let u0 = observation.start.clone().unwrap_or_else(|| {
        let mut s = Domain::ObservationStart.stream(seed, key);
        (0..space.dim()).map(|_| s.uniform()).collect()
    });
    let problem = Problem {
        sim,
        target: observation.target,
        u0: u0.clone(),
        trace,
        library,
    };
    let answer = run(
        method,
        &problem,
        surrogate,
        settings,
        &mut Domain::ObservationDraws.stream(seed, key),
    )
    .unwrap_or_else(|e| failed_answer(space, &u0, &e.to_string()));
    let judgement = judge(sim, &answer, observation.target, observation.noise);
    let truth = observation.truth.map(|x| {
        let (ok, _) = is_success(sim, &answer.x_hat, x);
        (x.to_vec(), ok)
    });
    Solved {
        answer,
        judgement,
        truth,
    }
}

/// A 64-bit FNV-1a hash of an observation's values: its stream index.
fn content_key(y: &Trajectory) -> u64 {
    y.iter().fold(0xcbf2_9ce4_8422_2325, |h, v| {
        v.to_bits()
            .to_le_bytes()
            .iter()
            .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
    })
}

/// The answer of a method that could not run on one observation: its start, marked failed.
fn failed_answer(space: &proxyland_physics::ParamSpace, u0: &[f64], why: &str) -> Answer {
    Answer {
        x_hat: space.fold(&space.from_unit(u0)).0,
        resim_loss: f64::INFINITY,
        sim_calls: 0,
        surrogate_evals: 0,
        wall_s: 0.0,
        stopped: Some(StopReason::ObjectiveFailed {
            message: why.to_string(),
        }),
        rounds: None,
        minima: Vec::new(),
        local_runs: 0,
        field_solves: 0,
        refinement: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_observation_gets_its_start_from_its_values_not_its_place() {
        let sim = proxyland_physics::experiment("gramacy-lee").unwrap();
        let a = sim.simulate(&[1.2]).unwrap();
        let b = sim.simulate(&[2.1]).unwrap();
        let method = Method::parse("bfgs", 100).unwrap();
        let solve = |y: &Trajectory| {
            let o = Observation {
                target: y,
                noise: &Noise::Estimate,
                start: None,
                truth: None,
            };
            solve_observation(
                sim.as_ref(),
                &o,
                &method,
                None,
                None,
                LocalSettings::default(),
                7,
                None,
            )
            .answer
            .x_hat
        };
        // The same values, solved twice: the same answer to the last bit.
        assert_eq!(solve(&a), solve(&a));
        // Other values, another stream: the key is the values' hash, not a position.
        assert_ne!(content_key(&a), content_key(&b));
        let mut shifted = a.clone();
        shifted.iter_mut().for_each(|v| *v += 1e-12);
        assert_ne!(content_key(&a), content_key(&shifted));
    }

    #[test]
    fn a_method_that_cannot_run_gives_a_failed_answer_not_an_error() {
        let sim = proxyland_physics::experiment("gramacy-lee").unwrap();
        let y = sim.simulate(&[1.2]).unwrap();
        // pool-bfgs without a pool cannot run.
        let method = Method::parse("pool-bfgs", 100).unwrap();
        let o = Observation {
            target: &y,
            noise: &Noise::Estimate,
            start: Some(vec![0.25]),
            truth: Some(&[1.2]),
        };
        let solved = solve_observation(
            sim.as_ref(),
            &o,
            &method,
            None,
            None,
            LocalSettings::default(),
            0,
            None,
        );
        assert!(
            solved
                .answer
                .stopped
                .as_ref()
                .is_some_and(|s| s.is_failure())
        );
        assert!(!solved.judgement.trust.is_ok());
        assert_eq!(solved.truth.map(|(_, ok)| ok), Some(false));
    }
}
