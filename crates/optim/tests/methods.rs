//! Methods and accounting, against independent truths.

use openblas_src as _;

use proxyland_optim::{
    FnObjective, LocalMethod, LocalSettings, Method, Objective, Problem, TrueLoss, is_success,
    minimize, run,
};
use proxyland_physics::rng::Stream;
use proxyland_physics::{GramacyLee, Simulator, Tangents, Trajectory, experiment};

/// A simulator that counts its own forward solves: f(x) = (x − 0.3)² on [0, 1].
struct CountingMock {
    space: proxyland_physics::ParamSpace,
    solves: std::sync::atomic::AtomicUsize,
}

impl CountingMock {
    fn new() -> Self {
        CountingMock {
            space: proxyland_physics::ParamSpace::new(
                ["x"],
                ["-"],
                [0.0],
                [1.0],
                [proxyland_physics::Boundary::Reflect],
            )
            .unwrap(),
            solves: Default::default(),
        }
    }
    fn solves(&self) -> usize {
        self.solves.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Simulator for CountingMock {
    fn name(&self) -> &str {
        "mock"
    }
    fn param_space(&self) -> &proxyland_physics::ParamSpace {
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
    fn simulate(&self, x: &[f64]) -> proxyland_physics::Result<Trajectory> {
        self.solves
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Trajectory::from_elem((1, 1), (x[0] - 0.3).sin()))
    }
    fn simulate_with_tangents(&self, x: &[f64]) -> proxyland_physics::Result<Tangents> {
        self.solves
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Tangents {
            trajectory: Trajectory::from_elem((1, 1), (x[0] - 0.3).sin()),
            tangents: vec![Trajectory::from_elem((1, 1), (x[0] - 0.3).cos())],
        })
    }
}

#[test]
fn simulator_calls_are_counted_exactly_for_every_method() {
    let target = Trajectory::zeros((1, 1));
    let x_star = [0.3];
    for name in [
        "bfgs",
        "lbfgs",
        "gd",
        "adam",
        "multistart-bfgs",
        "cmaes",
        "de",
    ] {
        let sim = CountingMock::new();
        let problem = Problem {
            sim: &sim,
            target: &target,
            x_star: &x_star,
            u0: vec![0.9],
            index: 0,
            trace: None,
            library: None,
        };
        let method = Method::parse(name, 40).unwrap();
        let o = run(
            &method,
            &problem,
            None,
            LocalSettings::default(),
            &mut Stream::new(1, 1),
        )
        .unwrap();
        // One extra solve scores the answer (the resimulation loss) and is not charged.
        assert_eq!(o.sim_calls + 1, sim.solves(), "{name}");
        if name.ends_with("de") || name.contains("cmaes") || name.contains("multistart") {
            assert!(
                o.sim_calls <= 40,
                "{name} overspent its budget: {}",
                o.sim_calls
            );
        }
        assert!(
            o.success,
            "{name} should solve a convex 1D problem: {:?}",
            o.x_hat
        );
    }
}

#[test]
fn a_failing_simulation_is_recorded_not_fatal() {
    // Burgers with a huge forcing and no viscosity blows up for every X.
    let sim = proxyland_physics::Burgers::new(proxyland_physics::BurgersConfig {
        viscosity: 0.0,
        forcing_amplitude: 2e3,
        dealias: false,
        dt: 0.05,
        steps: 200,
        frame_every: 1,
        ..Default::default()
    })
    .unwrap();
    let target = Trajectory::zeros(sim.trajectory_shape());
    let problem = Problem {
        sim: &sim,
        target: &target,
        x_star: &[1.0, 5.0],
        u0: vec![0.5, 0.5],
        index: 0,
        trace: None,
        library: None,
    };
    let o = run(
        &Method::Bfgs,
        &problem,
        None,
        LocalSettings::default(),
        &mut Stream::new(0, 0),
    )
    .unwrap();
    assert!(
        o.stopped.as_deref().unwrap_or("").contains("blew up"),
        "{:?}",
        o.stopped
    );
    assert!(!o.success);
}

#[test]
fn success_uses_periodic_distance_at_the_box_edges() {
    let sim = experiment("burgers").unwrap();
    let tau = std::f64::consts::TAU;
    // x_c = 0.001 and 2π − 0.001 are 0.002 apart on the circle: well within 1% of 2π.
    let (ok, err) = is_success(sim.as_ref(), &[0.001, 7.0], &[tau - 0.001, 7.0]);
    assert!(ok && err < 0.001, "{err}");
    // ω is reflecting: 2.0 and 12.0 are the whole box apart.
    let (ok, err) = is_success(sim.as_ref(), &[1.0, 2.0], &[1.0, 12.0]);
    assert!(!ok && (err - 1.0).abs() < 1e-12);
    // Exactly at the tolerance counts as success; just beyond does not.
    let (ok, _) = is_success(sim.as_ref(), &[1.0, 7.0 + 0.0999], &[1.0, 7.0]);
    assert!(ok);
    let (ok, _) = is_success(sim.as_ref(), &[1.0, 7.0 + 0.1001], &[1.0, 7.0]);
    assert!(!ok);
}

/// The exactly smoothed Gramacy–Lee loss: the Gaussian convolution of its oscillating part
/// sin(10πx)/(2x) is approximated by damping that term with e^{−(10πσ)²/2} (the exact factor
/// for a pure sine; the slowly varying 1/(2x) barely changes under a narrow kernel).
fn smoothed_gl(sigma_x: f64) -> impl Fn(&[f64]) -> (f64, Vec<f64>) {
    let damp = (-(10.0 * std::f64::consts::PI * sigma_x).powi(2) / 2.0).exp();
    move |u: &[f64]| {
        let x = 0.5 + 2.0 * u[0].clamp(0.0, 1.0);
        let a = 10.0 * std::f64::consts::PI * x;
        let f = damp * a.sin() / (2.0 * x) + (x - 1.0).powi(4);
        let df = damp * (5.0 * std::f64::consts::PI * a.cos() / x - a.sin() / (2.0 * x * x))
            + 4.0 * (x - 1.0).powi(3);
        (f, vec![2.0 * df])
    }
}

#[test]
fn on_e0_two_stage_with_an_exactly_smoothed_objective_beats_single_start_bfgs() {
    let sim = GramacyLee::new();
    let target = sim.simulate(&[GramacyLee::GLOBAL_MINIMUM]).unwrap();
    let truth = TrueLoss::new(&sim, &target);
    let smooth = FnObjective::new(1, smoothed_gl(0.08));
    let mut stream = Stream::new(2024, 0);
    let (mut plain, mut two_stage) = (0, 0);
    let settings = LocalSettings::default();
    let hit = |u: &[f64]| ((0.5 + 2.0 * u[0]) - GramacyLee::GLOBAL_MINIMUM).abs() <= 0.02;
    for _ in 0..200 {
        let u0 = vec![stream.uniform()];
        if hit(&minimize(LocalMethod::Bfgs, &truth, &u0, settings).u) {
            plain += 1;
        }
        let stage1 = minimize(LocalMethod::Bfgs, &smooth, &u0, settings);
        if hit(&minimize(LocalMethod::Bfgs, &truth, &stage1.u, settings).u) {
            two_stage += 1;
        }
    }
    assert!(
        two_stage >= 2 * plain && two_stage >= plain + 10,
        "two-stage {two_stage}/200 vs BFGS {plain}/200"
    );
    assert!(truth.calls() > 0 && smooth.calls() > 0 && smooth.dim() == 1);
}

#[test]
fn pool_bfgs_refines_the_nearest_pool_samples_to_the_global_minimum() {
    // Gramacy–Lee's target is f at its global minimum: the pool samples whose "trajectories"
    // (f values) are nearest to it lie in the global basin, where single-start BFGS from a
    // random start mostly fails (see the test above). 64 uniform samples, no network.
    let sim = GramacyLee::new();
    let target = sim.simulate(&[GramacyLee::GLOBAL_MINIMUM]).unwrap();
    let mut stream = Stream::new(7, 0);
    let n = 64;
    let unit = ndarray::Array2::from_shape_fn((n, 1), |_| stream.uniform());
    let mut trajectories = ndarray::Array3::zeros((n, 1, 1));
    for i in 0..n {
        let x = sim.param_space().from_unit(&[unit[[i, 0]]]);
        trajectories
            .index_axis_mut(ndarray::Axis(0), i)
            .assign(&sim.simulate(&x).unwrap());
    }
    let library = proxyland_optim::SampleLibrary::new(unit, trajectories).unwrap();
    let x_star = [GramacyLee::GLOBAL_MINIMUM];
    let mut problem = Problem {
        sim: &sim,
        target: &target,
        x_star: &x_star,
        u0: vec![0.99],
        index: 0,
        trace: None,
        library: None,
    };
    let method = Method::parse("pool-bfgs", 0).unwrap();
    let settings = LocalSettings::default();
    let err = run(&method, &problem, None, settings, &mut Stream::new(0, 0)).unwrap_err();
    assert!(err.to_string().contains("training pool"), "{err}");
    problem.library = Some(&library);
    let o = run(&method, &problem, None, settings, &mut Stream::new(0, 0)).unwrap();
    assert!(o.success, "{:?} vs {x_star:?}", o.x_hat);
    // Only the refinements are charged: three short BFGS runs, not the pool.
    assert!(o.sim_calls > 0 && o.sim_calls < 100, "{}", o.sim_calls);
}
