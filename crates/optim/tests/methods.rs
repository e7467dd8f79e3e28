//! Methods and accounting, against independent truths.

use openblas_src as _;

use proxyland_optim::{
    EvaluateOptions, Family, FnObjective, LocalMethod, LocalSettings, Method, Objective, Outcome,
    Problem, Results, SimBudget, StopReason, Surrogate, SurrogateError, SurrogateInfo,
    SurrogateModel, Target, TargetSplit, TrueLoss, evaluate, is_success, minimize, run,
    select_configuration,
};
use proxyland_physics::rng::Domain;
use proxyland_physics::{GramacyLee, Simulator, Tangents, Trajectory, experiment};

/// A simulator that counts its own forward solves: f(x) = (x − 0.3)² on [0, 1].
struct CountingMock {
    space: proxyland_physics::ParamSpace,
    solves: std::sync::atomic::AtomicUsize,
    tangent_solves: std::sync::atomic::AtomicUsize,
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
            tangent_solves: Default::default(),
        }
    }
    fn solves(&self) -> usize {
        self.solves.load(std::sync::atomic::Ordering::SeqCst)
    }
    /// Calls that asked for the tangent too.
    fn tangent_solves(&self) -> usize {
        self.tangent_solves
            .load(std::sync::atomic::Ordering::SeqCst)
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
        self.tangent_solves
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Tangents {
            trajectory: Trajectory::from_elem((1, 1), (x[0] - 0.3).sin()),
            tangents: vec![Trajectory::from_elem((1, 1), (x[0] - 0.3).cos())],
        })
    }
}

/// `method` from u0 = 0.9 on the mock, with the protocol's settings and a fixed stream.
fn run_on_mock(
    sim: &CountingMock,
    target: &Trajectory,
    method: &Method,
) -> proxyland_optim::Answer {
    let problem = Problem {
        sim,
        target,
        u0: vec![0.9],
        trace: None,
        library: None,
    };
    run(
        method,
        &problem,
        None,
        LocalSettings::default(),
        &mut Domain::Scratch.stream(1, 1),
    )
    .unwrap()
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
        let o = run_on_mock(&sim, &target, &Method::parse(name, 40).unwrap());
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
            is_success(&sim, &o.x_hat, &x_star).0,
            "{name} should solve a convex 1D problem: {:?}",
            o.x_hat
        );
    }
}

/// Under a budget in field solves, a value call costs 1 and a gradient call 1 + d (2 here):
/// the baselines never overspend, what they report is what the simulator saw, and the
/// value-only searches (DE, CMA-ES) get more calls than the budget's gradient calls would buy.
#[test]
fn budgets_in_field_solves_charge_gradients_at_their_tangent_cost() {
    let target = Trajectory::zeros((1, 1));
    for name in ["multistart-bfgs", "cmaes", "de"] {
        let sim = CountingMock::new();
        let method = Method::parse(name, 0)
            .unwrap()
            .with_budget(SimBudget::FieldSolves(80));
        let o = run_on_mock(&sim, &target, &method);
        // The resimulation that scores the answer is one value solve, not charged.
        let (calls, tangents) = (sim.solves() - 1, sim.tangent_solves());
        assert_eq!(o.sim_calls, calls, "{name}");
        assert_eq!(
            o.field_solves,
            calls + tangents,
            "{name}: 1 + 2 per gradient call"
        );
        assert!(o.field_solves <= 80, "{name} overspent: {}", o.field_solves);
        assert!(
            o.field_solves > 60,
            "{name} left most of its budget: {}",
            o.field_solves
        );
        if name != "multistart-bfgs" {
            assert!(tangents > 0, "{name}: no polish");
            assert!(o.sim_calls > 40, "{name}: {} calls", o.sim_calls);
        }
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
        u0: vec![0.5, 0.5],
        trace: None,
        library: None,
    };
    let o = run(
        &Method::Bfgs,
        &problem,
        None,
        LocalSettings::default(),
        &mut Domain::Scratch.stream(0, 0),
    )
    .unwrap();
    match &o.stopped {
        Some(StopReason::ObjectiveFailed { message }) => {
            assert!(message.contains("blew up"), "{message}")
        }
        other => panic!("expected a failed simulation, got {other:?}"),
    }
    assert!(o.failed());
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
    let mut stream = Domain::Scratch.stream(2024, 0);
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

/// 64 uniform Gramacy–Lee samples as a pool: the lookup that `pool-bfgs` refines from.
fn gramacy_lee_pool(sim: &GramacyLee) -> proxyland_optim::SampleLibrary {
    let mut stream = Domain::Scratch.stream(7, 0);
    let n = 64;
    let unit = ndarray::Array2::from_shape_fn((n, 1), |_| stream.uniform());
    let mut trajectories = ndarray::Array3::zeros((n, 1, 1));
    for i in 0..n {
        let x = sim.param_space().from_unit(&[unit[[i, 0]]]);
        trajectories
            .index_axis_mut(ndarray::Axis(0), i)
            .assign(&sim.simulate(&x).unwrap());
    }
    proxyland_optim::SampleLibrary::new(unit, trajectories).unwrap()
}

/// The bottom of Gramacy–Lee's local well near x = 1.35 for the observation `y`, by dense
/// search (independent of any optimizer).
fn gramacy_lee_local_minimum(sim: &GramacyLee, y: &Trajectory) -> f64 {
    (0..=4000)
        .map(|i| 1.25 + 0.2 * i as f64 / 4000.0)
        .min_by(|a, b| {
            let la = sim.loss(&[*a], y).unwrap();
            let lb = sim.loss(&[*b], y).unwrap();
            la.total_cmp(&lb)
        })
        .unwrap()
}

#[test]
fn pool_bfgs_refines_the_nearest_pool_samples_to_the_global_minimum() {
    // Gramacy–Lee's target is f at its global minimum: the pool samples whose "trajectories"
    // (f values) are nearest to it lie in the global basin, where single-start BFGS from a
    // random start mostly fails (see the test above). 64 uniform samples, no network.
    let sim = GramacyLee::new();
    let target = sim.simulate(&[GramacyLee::GLOBAL_MINIMUM]).unwrap();
    let library = gramacy_lee_pool(&sim);
    let x_star = [GramacyLee::GLOBAL_MINIMUM];
    let mut problem = Problem {
        sim: &sim,
        target: &target,
        u0: vec![0.99],
        trace: None,
        library: None,
    };
    let method = Method::parse("pool-bfgs", 0).unwrap();
    let settings = LocalSettings::default();
    let err = run(
        &method,
        &problem,
        None,
        settings,
        &mut Domain::Scratch.stream(0, 0),
    )
    .unwrap_err();
    assert!(err.to_string().contains("training pool"), "{err}");
    problem.library = Some(&library);
    let o = run(
        &method,
        &problem,
        None,
        settings,
        &mut Domain::Scratch.stream(0, 0),
    )
    .unwrap();
    assert!(
        is_success(&sim, &o.x_hat, &x_star).0,
        "{:?} vs {x_star:?}",
        o.x_hat
    );
    // Only the refinements are charged: three short BFGS runs, not the pool.
    assert!(o.sim_calls > 0 && o.sim_calls < 100, "{}", o.sim_calls);
}

/// A surrogate of Gramacy–Lee whose formula keeps falling outside the box (z = f(x) − 30 u²·…
/// would be unbounded below past u = 1 if it were evaluated there), recording every u it sees.
/// It stands for a network extrapolating where it was never trained.
struct RecordingSurrogate {
    seen: std::sync::Mutex<Vec<Vec<f64>>>,
    info: SurrogateInfo,
}

impl RecordingSurrogate {
    fn new() -> Self {
        RecordingSurrogate {
            seen: std::sync::Mutex::new(Vec::new()),
            info: SurrogateInfo {
                path: "mock".into(),
                experiment: "gramacy-lee".into(),
                dim: 1,
                trajectory_shape: (1, 1),
                noise: 0.0,
                penalty: 0.0,
                regularizers: Default::default(),
                seed: 0,
                dataset_simulations: 0,
                training_seconds: 0.0,
            },
        }
    }
}

/// log of the smoothed Gramacy–Lee loss relative to its minimum, minus an unbounded ramp past
/// the top face: inside the box its minimum is x*; outside, it falls forever.
fn extrapolating_log_loss(u: f64) -> (f64, f64) {
    let (f, df) = smoothed_gl(0.02)(&[u]);
    let shift = 0.87;
    let (mut z, mut dz) = ((f + shift + 1e-3).ln(), df[0] / (f + shift + 1e-3));
    if u > 1.0 {
        z -= 50.0 * (u - 1.0);
        dz -= 50.0;
    }
    (z, dz)
}

impl Surrogate for RecordingSurrogate {
    fn dim(&self) -> usize {
        1
    }
    fn predict_log_with_grad(
        &self,
        us: &[Vec<f64>],
    ) -> Result<(Vec<f64>, Vec<Vec<f64>>), SurrogateError> {
        self.seen.lock().unwrap().extend(us.iter().cloned());
        Ok(us
            .iter()
            .map(|u| {
                let (z, dz) = extrapolating_log_loss(u[0]);
                (z, vec![dz])
            })
            .unzip())
    }
}

impl SurrogateModel for RecordingSurrogate {
    fn info(&self) -> &SurrogateInfo {
        &self.info
    }
    fn bind<'a>(&'a self, _target: &Trajectory) -> Result<Box<dyn Surrogate + 'a>, SurrogateError> {
        Ok(Box::new(Forward(self)))
    }
}

struct Forward<'a>(&'a RecordingSurrogate);

impl Surrogate for Forward<'_> {
    fn dim(&self) -> usize {
        1
    }
    fn predict_log_with_grad(
        &self,
        us: &[Vec<f64>],
    ) -> Result<(Vec<f64>, Vec<Vec<f64>>), SurrogateError> {
        self.0.predict_log_with_grad(us)
    }
}

#[test]
fn surrogate_methods_never_evaluate_the_surrogate_outside_the_box() {
    let sim = GramacyLee::new();
    let target = sim.simulate(&[GramacyLee::GLOBAL_MINIMUM]).unwrap();
    let x_star = [GramacyLee::GLOBAL_MINIMUM];
    let model = RecordingSurrogate::new();
    let mut stream = Domain::Scratch.stream(3, 0);
    let mut multistart_hits = 0;
    for i in 0..50 {
        let problem = Problem {
            sim: &sim,
            target: &target,
            u0: vec![stream.uniform()],
            trace: None,
            library: None,
        };
        for name in ["proxy", "proxy-bfgs", "proxy-multistart"] {
            let method = Method::parse(name, 0).unwrap();
            let a = run(
                &method,
                &problem,
                Some(&model),
                LocalSettings::default(),
                &mut Domain::Scratch.stream(9, i),
            )
            .unwrap();
            assert!(
                a.x_hat[0] >= 0.5 && a.x_hat[0] <= 2.5,
                "{name}: {:?}",
                a.x_hat
            );
            if name == "proxy-multistart" && is_success(&sim, &a.x_hat, &x_star).0 {
                multistart_hits += 1;
            }
        }
    }
    let seen = model.seen.lock().unwrap();
    assert!(
        seen.len() > 1000,
        "only {} surrogate evaluations",
        seen.len()
    );
    let outside = seen.iter().filter(|u| !(0.0..=1.0).contains(&u[0])).count();
    assert_eq!(outside, 0, "{outside} evaluations outside [0, 1]");
    // Unfolded, BFGS would run down the ramp past u = 1 and end wherever the fold puts it;
    // folded, the landscape is the surrogate's even extension and the global minimum wins.
    assert_eq!(
        multistart_hits, 50,
        "proxy-multistart found x* on {multistart_hits}/50"
    );
}

#[test]
fn evaluation_budgets_follow_each_surrogate_method_and_selection_uses_validation_targets() {
    let sim = GramacyLee::new();
    let x = vec![GramacyLee::GLOBAL_MINIMUM];
    let y = sim.simulate(&x).unwrap();
    let targets: Vec<Target> = (0..6)
        .map(|_| Target {
            x: x.clone(),
            y: y.clone(),
        })
        .collect();
    let model = RecordingSurrogate::new();
    let mut opts = EvaluateOptions::new(&["bfgs", "proxy-bfgs", "proxy-multistart", "de"], 4);
    opts.solve_budget_multipliers = vec![1, 10];
    opts.split = TargetSplit::Validation;
    opts.quality_grid = 8;
    let progress = |_: usize, _: usize| {};
    let validation = evaluate(
        &sim,
        "gramacy-lee",
        2,
        &targets,
        &[&model],
        &opts,
        &progress,
    )
    .unwrap();
    let choice = select_configuration(&[&validation]).unwrap();
    assert_eq!((choice.noise, choice.penalty), (0.0, 0.0));
    assert_eq!(choice.validation_targets, 6);
    // Selecting on the test split is refused.
    opts.split = TargetSplit::Test;
    opts.selection = Some(choice);
    let test = evaluate(
        &sim,
        "gramacy-lee",
        2,
        &targets,
        &[&model],
        &opts,
        &progress,
    )
    .unwrap();
    assert!(select_configuration(&[&test]).is_err());
    // One budget unit per surrogate method, each equal to that method's measured mean spend,
    // in calls and in field solves; the baselines run at each multiple of each.
    assert_eq!(test.budget_units.len(), 2);
    for unit in &test.budget_units {
        let reference = test
            .methods
            .iter()
            .find(|s| s.id.family == unit.reference && s.headline)
            .unwrap();
        assert_eq!(unit.calls_per_target, reference.mean_sim_calls);
        assert_eq!(unit.field_solves_per_target, reference.mean_field_solves);
        assert!(
            unit.field_solves_per_target > unit.calls_per_target,
            "gradients cost 2"
        );
        for k in [1, 10] {
            for in_solves in [false, true] {
                let de = test
                    .methods
                    .iter()
                    .find(|s| {
                        s.id.family == Family::De
                            && s.id.budget.as_ref().is_some_and(|b| {
                                b.multiple == k
                                    && b.reference == unit.reference
                                    && b.in_field_solves() == in_solves
                            })
                    })
                    .unwrap_or_else(|| panic!("no de at {k}x {} ({in_solves})", unit.reference));
                let b = de.id.budget.as_ref().unwrap();
                let (per_target, budget, spent): (f64, usize, fn(&Outcome) -> usize) = if in_solves
                {
                    (unit.field_solves_per_target, b.field_solves.unwrap(), |o| {
                        o.answer.field_solves
                    })
                } else {
                    (unit.calls_per_target, b.calls.unwrap(), |o| {
                        o.answer.sim_calls
                    })
                };
                assert_eq!(budget, (per_target * k as f64).ceil() as usize);
                assert_eq!(de.label.contains("-solves"), in_solves, "{}", de.label);
                // Spend equals what was counted, and never exceeds the budget.
                let rows: Vec<_> = test.rows.iter().filter(|o| o.method == de.label).collect();
                assert_eq!(rows.len(), 6);
                assert!(rows.iter().all(|o| spent(o) <= budget), "{}", de.label);
                let mean = rows.iter().map(|o| o.answer.sim_calls as f64).sum::<f64>() / 6.0;
                assert_eq!(mean, de.mean_sim_calls);
            }
        }
    }
    // Units fixed from outside (another evaluation's) set the budgets instead of this run's
    // own spend, and are recorded as the units used.
    let fixed = vec![proxyland_optim::BudgetUnit {
        reference: Family::ProxyMultistart,
        calls_per_target: 7.5,
        field_solves_per_target: 12.0,
    }];
    opts.budget_units = Some(fixed.clone());
    opts.methods = vec!["proxy-multistart".into(), "de".into()];
    let fixed_run = evaluate(
        &sim,
        "gramacy-lee",
        2,
        &targets,
        &[&model],
        &opts,
        &progress,
    )
    .unwrap();
    assert_eq!(fixed_run.budget_units, fixed);
    let budgets: Vec<(usize, Option<usize>, Option<usize>)> = fixed_run
        .methods
        .iter()
        .filter_map(|s| s.id.budget.as_ref())
        .map(|b| (b.multiple, b.calls, b.field_solves))
        .collect();
    assert_eq!(
        budgets,
        [
            (1, Some(8), None),
            (10, Some(75), None),
            (1, None, Some(12)),
            (10, None, Some(120))
        ]
    );
    // Every summary carries its Wilson interval around its rate.
    for s in &test.methods {
        let (lo, hi) = s.success_interval;
        assert!(lo <= s.success_rate && s.success_rate <= hi, "{}", s.label);
    }
    let quality = &test.surrogates[0].quality;
    assert_eq!(quality.argmin_errors.len(), 6);
    assert!(quality.median_argmin_error < 0.01, "{quality:?}");
    assert!(quality.rank_correlation.unwrap() > 0.5, "{quality:?}");
}

/// `inverse-net` starts BFGS from each network's prediction: a prediction in the global basin
/// is refined to the truth on every target, one at a far local minimum fails on every target
/// and ends far from the global basin. Its rows, labels and the networks' one-off costs come
/// back as given.
#[test]
fn inverse_net_refines_each_prediction_from_where_it_points() {
    use proxyland_optim::InverseGuesses;
    let sim = GramacyLee::new();
    let x = vec![GramacyLee::GLOBAL_MINIMUM];
    let y = sim.simulate(&x).unwrap();
    let targets: Vec<Target> = (0..4)
        .map(|_| Target {
            x: x.clone(),
            y: y.clone(),
        })
        .collect();
    let local = gramacy_lee_local_minimum(&sim, &y);
    assert!((local - GramacyLee::GLOBAL_MINIMUM).abs() > 0.5);
    let space = sim.param_space();
    let guess = |variant: &str, x: f64, calls: usize| InverseGuesses {
        variant: variant.into(),
        path: format!("{variant}.safetensors").into(),
        u: vec![space.to_unit(&[x]); targets.len()],
        training_sim_calls: calls,
        training_field_solves: 2 * calls,
        adaptation_calls: 0,
        adaptation_seconds: 0.0,
        training_seconds: 1.5,
    };
    let mut opts = EvaluateOptions::new(&["bfgs", "inverse-net"], 3);
    opts.quality_grid = 0;
    opts.guesses = vec![
        guess("right", GramacyLee::GLOBAL_MINIMUM + 0.004, 0),
        guess("wrong", local, 77),
    ];
    let progress = |_: usize, _: usize| {};
    let r = evaluate(&sim, "gramacy-lee", 2, &targets, &[], &opts, &progress).unwrap();
    let rows = |label: &str| -> Vec<_> { r.rows.iter().filter(|o| o.method == label).collect() };
    assert_eq!(rows("inverse-net[right]").len(), 4);
    assert!(rows("inverse-net[right]").iter().all(|o| o.success));
    // Started at a local minimum, BFGS stays in that well: its first trial step is the
    // gradient's own (tiny) length, not a tenth of the box, and GL's wells are a tenth wide.
    for o in rows("inverse-net[wrong]") {
        assert!(!o.success);
        assert!(
            (o.answer.x_hat[0] - local).abs() < 0.02,
            "left the well at {local}: {:?}",
            o.answer.x_hat
        );
    }
    assert_eq!(r.inverse_networks.len(), 2);
    assert_eq!(r.inverse_networks[1].training_sim_calls, 77);
    // What cannot be scored is refused, not guessed at.
    // A start made by test-time training is charged its calls on every target: the same start
    // with 5 adaptation calls spends exactly 5 calls (and their field solves) more.
    let mut adapted = opts.clone();
    let mut tt = guess("right+tt", GramacyLee::GLOBAL_MINIMUM + 0.004, 0);
    tt.adaptation_calls = 5;
    adapted.guesses.push(tt);
    let r2 = evaluate(&sim, "gramacy-lee", 2, &targets, &[], &adapted, &progress).unwrap();
    let plain: Vec<_> = r2
        .rows
        .iter()
        .filter(|o| o.method == "inverse-net[right]")
        .collect();
    let charged: Vec<_> = r2
        .rows
        .iter()
        .filter(|o| o.method == "inverse-net[right+tt]")
        .collect();
    assert_eq!(plain.len(), charged.len());
    for (p, c) in plain.iter().zip(&charged) {
        assert_eq!(c.answer.sim_calls, p.answer.sim_calls + 5);
        assert_eq!(
            c.answer.field_solves,
            p.answer.field_solves + 5 * sim.tangent_cost()
        );
        assert_eq!(c.answer.x_hat, p.answer.x_hat);
    }
    let mut short = opts.clone();
    short.guesses[0].u.pop();
    assert!(evaluate(&sim, "gramacy-lee", 2, &targets, &[], &short, &progress).is_err());
    let mut twice = opts.clone();
    twice.guesses[1].variant = "right".into();
    assert!(evaluate(&sim, "gramacy-lee", 2, &targets, &[], &twice, &progress).is_err());
    let mut none = opts.clone();
    none.guesses.clear();
    assert!(evaluate(&sim, "gramacy-lee", 2, &targets, &[], &none, &progress).is_err());
    a_file_from_before_row_ids_reads_with_each_rows_id(&r);
}

/// A format-5 file (rows without ids) reads with each row given its summary's id, joined on
/// the label; a row whose label no summary has is refused, naming the file.
fn a_file_from_before_row_ids_reads_with_each_rows_id(r: &Results) {
    let path = std::path::Path::new("old-eval.json");
    let mut v = serde_json::to_value(r).unwrap();
    v["format_version"] = 5.into();
    for row in v["rows"].as_array_mut().unwrap() {
        assert!(row.as_object_mut().unwrap().remove("id").is_some());
    }
    let read = Results::from_json(path, &v.to_string()).unwrap();
    assert_eq!(read.rows.len(), r.rows.len());
    for (old, new) in r.rows.iter().zip(&read.rows) {
        assert_eq!(old.id, new.id, "{}", old.method);
    }
    // Distinct variants of one family keep distinct ids.
    assert_ne!(
        read.method("inverse-net[right]").unwrap().id,
        read.method("inverse-net[wrong]").unwrap().id
    );
    v["rows"][0]["method"] = "nobody".into();
    let e = Results::from_json(path, &v.to_string())
        .unwrap_err()
        .to_string();
    assert!(e.contains("old-eval.json") && e.contains("`nobody`"), "{e}");
}

#[test]
fn inverse_pool_falls_back_on_the_pool_only_when_the_network_misses() {
    // Gramacy–Lee with a pool of 64 samples: a network start at the global minimum fits at
    // once and the pool is never refined; a start in a local well does not fit, so the
    // nearest pool samples are refined and one of them reaches the global minimum.
    let sim = GramacyLee::new();
    let x_star = [GramacyLee::GLOBAL_MINIMUM];
    let target = sim.simulate(&x_star).unwrap();
    let library = gramacy_lee_pool(&sim);
    let space = sim.param_space();
    let method = Method::parse("inverse-pool", 0).unwrap();
    assert!(method.needs_inverse() && method.needs_library() && method.uses_start());
    let solve_from = |x0: f64| {
        let problem = Problem {
            sim: &sim,
            target: &target,
            u0: space.to_unit(&[x0]),
            trace: None,
            library: Some(&library),
        };
        // A one-value observation has no spread to call a fit exact against: a noise σ says
        // what fits.
        let settings = LocalSettings {
            noise_std: Some(1e-3),
            stop_at_fit: true,
            ..LocalSettings::default()
        };
        run(
            &method,
            &problem,
            None,
            settings,
            &mut Domain::Scratch.stream(0, 0),
        )
        .unwrap()
    };
    let right = solve_from(GramacyLee::GLOBAL_MINIMUM + 0.004);
    assert!(is_success(&sim, &right.x_hat, &x_star).0);
    assert_eq!(right.local_runs, 1, "the pool was refined after a fit");
    // Refinement started at the bottom of a local well stays there.
    let local = gramacy_lee_local_minimum(&sim, &target);
    let wrong = solve_from(local);
    assert!(
        is_success(&sim, &wrong.x_hat, &x_star).0,
        "{:?}",
        wrong.x_hat
    );
    assert!(wrong.local_runs > 1 && wrong.local_runs <= 4);
    assert!(wrong.sim_calls > right.sim_calls);
}
