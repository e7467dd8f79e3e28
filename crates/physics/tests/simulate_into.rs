//! `Simulator::simulate_into`, the allocation-free path dataset generation uses, against
//! `simulate` and the dual-number / tangent-linear runs, and its refusal of a wrong buffer.

mod common;

use common::random_point;
use proxyland_physics::{
    EXPERIMENTS, Error, GramacyLee, ParamSpace, Result, Simulator, Tangents, Trajectory, experiment,
};

#[test]
fn every_value_of_the_buffer_is_the_trajectorys() {
    for name in EXPERIMENTS {
        let sim = experiment(name).unwrap();
        let (frames, components) = sim.trajectory_shape();
        for i in 0..4 {
            let x = random_point(sim.as_ref(), 11, i);
            let Ok(y) = sim.simulate(&x) else { continue };
            // A buffer left dirty by the previous sample: every value must be overwritten.
            let mut out = vec![f64::NAN; frames * components];
            sim.simulate_into(&x, &mut out).unwrap();
            assert_eq!(out.as_slice(), y.as_slice().unwrap(), "{name} sample {i}");
            // The tangent run computes the same values through its own arithmetic (dual numbers
            // for billiards, the tangent-linear solver for the PDEs).
            let tangent_run = sim.simulate_with_tangents(&x).unwrap().trajectory;
            let scale = y.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
            for (a, b) in out.iter().zip(tangent_run.iter()) {
                assert!(
                    (a - b).abs() <= 1e-12 * scale,
                    "{name} sample {i}: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn a_buffer_of_the_wrong_size_is_refused_naming_the_experiment() {
    for name in EXPERIMENTS {
        let sim = experiment(name).unwrap();
        let (frames, components) = sim.trajectory_shape();
        let x = random_point(sim.as_ref(), 3, 0);
        let mut short = vec![0.0; frames * components - 1];
        let err = sim.simulate_into(&x, &mut short).unwrap_err();
        assert_eq!(
            err,
            Error::TrajectorySize {
                experiment: name.to_string(),
                expected: (frames, components),
                got: frames * components - 1,
            }
        );
        assert!(err.to_string().starts_with(name), "{err}");
    }
}

/// Gramacy–Lee with a defect: `simulate` returns one frame too many.
struct OneFrameTooMany(GramacyLee);

impl Simulator for OneFrameTooMany {
    fn name(&self) -> &str {
        "one-frame-too-many"
    }
    fn param_space(&self) -> &ParamSpace {
        self.0.param_space()
    }
    fn trajectory_shape(&self) -> (usize, usize) {
        self.0.trajectory_shape()
    }
    fn frame_times(&self) -> Vec<f64> {
        self.0.frame_times()
    }
    fn state_axis(&self) -> Vec<f64> {
        self.0.state_axis()
    }
    fn simulate(&self, x: &[f64]) -> Result<Trajectory> {
        let (f, s) = self.trajectory_shape();
        let y = self.0.simulate(x)?;
        Ok(Trajectory::from_shape_fn((f + 1, s), |(i, j)| {
            y[[i.min(f - 1), j]]
        }))
    }
    fn simulate_with_tangents(&self, x: &[f64]) -> Result<Tangents> {
        self.0.simulate_with_tangents(x)
    }
}

#[test]
fn the_default_refuses_a_simulator_whose_trajectory_has_the_wrong_shape() {
    let sim = OneFrameTooMany(GramacyLee::new());
    let (f, s) = sim.trajectory_shape();
    let mut out = vec![0.0; f * s];
    let err = sim.simulate_into(&[1.0], &mut out).unwrap_err();
    assert!(
        matches!(&err, Error::TrajectorySize { experiment, expected, got }
            if experiment == "one-frame-too-many" && *expected == (f, s) && *got == (f + 1) * s),
        "{err:?}"
    );
}
