//! The spectral solvers against independent truths: Cole–Hopf, the exact heat semigroup,
//! conservation of the mean, ETDRK4's fourth order, the Kassam–Trefethen benchmark, and
//! finite differences for the exact gradients.

mod common;

use common::{fd_gradient, random_point, relative_error};
use proxyland_physics::spectral::{C64, Etdrk4, Etdrk4Work, FourierGrid};
use proxyland_physics::{
    Burgers, BurgersConfig, Error, KsConfig, KuramotoSivashinsky, Simulator, experiment,
    simulate_batch,
};
use std::f64::consts::{PI, TAU};

fn unforced_burgers(n: usize, steps: usize, frame_every: usize, u0: &[f64]) -> Burgers {
    let config = BurgersConfig {
        n,
        forcing_amplitude: 0.0,
        steps,
        frame_every,
        ..BurgersConfig::default()
    };
    Burgers::new(config)
        .unwrap()
        .with_initial_condition(u0)
        .unwrap()
}

/// u = −2ν φ_x/φ with φ = 1 + a e^{−νt} cos x solves u_t + u u_x = ν u_xx exactly.
fn cole_hopf(x: f64, t: f64, a: f64, nu: f64) -> f64 {
    let decay = a * (-nu * t).exp();
    2.0 * nu * decay * x.sin() / (1.0 + decay * x.cos())
}

fn cole_hopf_max_error(a: f64, n: usize) -> f64 {
    let nu = 0.05;
    let x: Vec<f64> = (0..n).map(|j| TAU * j as f64 / n as f64).collect();
    let u0: Vec<f64> = x.iter().map(|&x| cole_hopf(x, 0.0, a, nu)).collect();
    let sim = unforced_burgers(n, 100, 100, &u0); // dt = 0.01, t = 1
    let y = sim.simulate(&[0.0, 5.0]).unwrap();
    x.iter()
        .enumerate()
        .map(|(j, &x)| (y[[1, j]] - cole_hopf(x, 1.0, a, nu)).abs())
        .fold(0.0, f64::max)
}

#[test]
fn burgers_matches_cole_hopf_to_1e9_for_a_0_9_on_128_points() {
    let err = cole_hopf_max_error(0.9, 128);
    assert!(err <= 1e-9, "max error {err:e}");
}

#[test]
fn burgers_matches_cole_hopf_to_1e8_for_steep_a_0_99_on_256_points() {
    let err = cole_hopf_max_error(0.99, 256);
    assert!(err <= 1e-8, "max error {err:e}");
}

#[test]
fn heat_equation_is_exact_to_1e12_for_any_dt() {
    let nu = 0.3;
    let grid = FourierGrid::new(32, TAU);
    let linear: Vec<f64> = grid.wavenumbers().iter().map(|k| -nu * k * k).collect();
    let u0: Vec<f64> = grid
        .points()
        .iter()
        .map(|x| 1.0 + x.sin() + 0.5 * (3.0 * x).cos() + 0.1 * (7.0 * x).sin())
        .collect();
    let mut scratch = grid.scratch();
    let mut v0 = vec![C64::default(); grid.modes()];
    grid.to_spectral(&u0, &mut v0, &mut scratch);
    for &dt in &[1e-3, 0.1, 0.7, 2.5] {
        let scheme = Etdrk4::new(&linear, dt);
        let mut work = Etdrk4Work::new(grid.modes());
        let mut v = v0.clone();
        let steps = (5.0 / dt).round() as usize;
        for s in 0..steps {
            scheme.step(&mut v, s as f64 * dt, &mut work, |_, _, out| {
                out.fill(C64::default())
            });
        }
        let t = steps as f64 * dt;
        let mut u = vec![0.0; 32];
        grid.to_physical(&v, &mut u, &mut scratch);
        let exact = |x: f64| {
            1.0 + (-nu * t).exp() * x.sin()
                + 0.5 * (-9.0 * nu * t).exp() * (3.0 * x).cos()
                + 0.1 * (-49.0 * nu * t).exp() * (7.0 * x).sin()
        };
        let err = grid
            .points()
            .iter()
            .zip(&u)
            .map(|(&x, u)| (u - exact(x)).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-12, "dt = {dt}: error {err:e}");
    }
}

fn frame_means(y: &ndarray::Array2<f64>) -> Vec<f64> {
    y.outer_iter().map(|r| r.mean().unwrap()).collect()
}

#[test]
fn unforced_burgers_conserves_the_mean_to_1e12() {
    let n = 128;
    let u0: Vec<f64> = (0..n)
        .map(|j| {
            let x = TAU * j as f64 / n as f64;
            0.3 + x.sin() + 0.2 * (2.0 * x).cos()
        })
        .collect();
    let y = unforced_burgers(n, 400, 10, &u0)
        .simulate(&[0.0, 5.0])
        .unwrap();
    for m in frame_means(&y) {
        assert!((m - 0.3).abs() < 1e-12, "mean drifted to {m}");
    }
}

#[test]
fn ks_conserves_the_mean_to_1e12() {
    let ks = experiment("ks").unwrap();
    let y = ks.simulate(&[0.7, -0.4]).unwrap();
    let means = frame_means(&y);
    for m in &means {
        assert!(
            (m - means[0]).abs() < 1e-12,
            "mean drifted from {} to {m}",
            means[0]
        );
    }
}

/// ETDRK4 shows order reduction on stiff problems at large dt (Hochbruck & Ostermann 2005): on KS
/// the observed order climbs from about 3.1 at dt = 1/2 towards 4. From dt = 1/16 on, the
/// asymptotic regime is reached and the order must be 4.
#[test]
fn etdrk4_is_fourth_order_in_dt_on_ks() {
    let horizon = 5.0;
    let final_state = |dt: f64| {
        let steps = (horizon / dt).round() as usize;
        let ks = KuramotoSivashinsky::new(KsConfig {
            dt,
            steps,
            frame_every: steps,
            ..KsConfig::default()
        })
        .unwrap();
        ks.simulate(&[0.0, 0.0]).unwrap().row(1).to_owned()
    };
    let dt = 1.0 / 16.0;
    let reference = final_state(dt / 64.0);
    let errors: Vec<f64> = [dt, dt / 2.0, dt / 4.0]
        .iter()
        .map(|&h| {
            (&final_state(h) - &reference)
                .iter()
                .fold(0.0_f64, |m, e| m.max(e.abs()))
        })
        .collect();
    for pair in errors.windows(2) {
        let order = (pair[0] / pair[1]).log2();
        assert!(
            (3.7..=4.3).contains(&order),
            "errors {errors:?}: order {order}"
        );
    }
}

#[test]
fn kassam_trefethen_benchmark_runs_bounded_and_conserves_the_mean() {
    let kt = experiment("ks-kt").unwrap();
    let y = kt.simulate(&[]).unwrap();
    assert_eq!(y.dim(), (4, 128));
    assert_eq!(kt.frame_times(), vec![0.0, 50.0, 100.0, 150.0]);
    let means = frame_means(&y);
    for m in &means {
        assert!((m - means[0]).abs() < 1e-12);
    }
    let max = y.iter().fold(0.0_f64, |m, u| m.max(u.abs()));
    assert!(max < 4.0, "max |u| = {max}");
    // The solution has left its initial condition (chaos, not a decaying mode).
    let moved = (&y.row(3) - &y.row(0))
        .iter()
        .fold(0.0_f64, |m, d| m.max(d.abs()));
    assert!(moved > 0.5);
}

fn check_gradient_against_fd(name: &str, seed: u64) {
    let sim = experiment(name).unwrap();
    for i in 0..3 {
        let target_x = random_point(sim.as_ref(), seed, 100 + i);
        let target = sim.simulate(&target_x).unwrap();
        let x = random_point(sim.as_ref(), seed, i);
        let (loss, grad) = sim.loss_and_grad(&x, &target).unwrap();
        assert!((loss - sim.loss(&x, &target).unwrap()).abs() <= 1e-14 * loss.max(1e-300));
        let fd = fd_gradient(sim.as_ref(), &x, &target, 1e-5);
        let err = relative_error(&grad, &fd);
        assert!(
            err <= 1e-6,
            "{name} at {x:?}: grad {grad:?} vs fd {fd:?} (rel {err:e})"
        );
    }
}

#[test]
fn burgers_gradient_matches_central_differences() {
    check_gradient_against_fd("burgers", 11);
}

#[test]
fn ks_gradient_matches_central_differences() {
    check_gradient_against_fd("ks", 12);
}

#[test]
fn gradient_sign_is_right_across_a_reflecting_face() {
    let sim = experiment("burgers").unwrap();
    let target = sim.simulate(&[2.0, 7.0]).unwrap();
    // ω = 12.5 is simulated as 11.5, mirrored: same loss, mirrored slope.
    let outside = [1.0, 12.5];
    let inside = [1.0, 11.5];
    let (l_out, g_out) = sim.loss_and_grad(&outside, &target).unwrap();
    let (l_in, g_in) = sim.loss_and_grad(&inside, &target).unwrap();
    assert_eq!(l_out, l_in);
    assert_eq!(g_out[1], -g_in[1]);
    assert_eq!(g_out[0], g_in[0]);
    let fd = fd_gradient(sim.as_ref(), &outside, &target, 1e-5);
    assert!(relative_error(&g_out, &fd) < 1e-6, "{g_out:?} vs {fd:?}");
    // A periodic coordinate wraps: x_c + 2π is the same forcing.
    let wrapped = sim.loss(&[1.0 + TAU, 11.5], &target).unwrap();
    assert!((wrapped - l_in).abs() <= 1e-12 * l_in);
}

#[test]
fn blow_up_is_an_error_naming_experiment_parameters_and_step() {
    let sim = Burgers::new(BurgersConfig {
        viscosity: 0.0,
        forcing_amplitude: 2e3,
        dealias: false,
        dt: 0.05,
        steps: 200,
        frame_every: 1,
        ..BurgersConfig::default()
    })
    .unwrap();
    let err = sim.simulate(&[1.0, 3.0]).unwrap_err();
    match &err {
        Error::BlowUp {
            experiment,
            x,
            step,
            ..
        } => {
            assert_eq!(experiment, "burgers");
            assert_eq!(x, &vec![1.0, 3.0]);
            assert!(*step > 0);
        }
        other => panic!("expected BlowUp, got {other}"),
    }
    assert!(err.to_string().contains("blew up"));
}

#[test]
fn bad_parameters_are_errors_not_panics() {
    let sim = experiment("ks").unwrap();
    assert!(matches!(
        sim.simulate(&[0.1]),
        Err(Error::ParamCount { .. })
    ));
    assert!(matches!(
        sim.simulate(&[0.1, f64::INFINITY]),
        Err(Error::NonFiniteParam { .. })
    ));
    let wrong = ndarray::Array2::zeros((3, 3));
    assert!(matches!(
        sim.loss_and_grad(&[0.1, 0.2], &wrong),
        Err(Error::TargetShape { .. })
    ));
    let bad = Burgers::new(BurgersConfig {
        n: 127,
        ..BurgersConfig::default()
    })
    .unwrap_err();
    assert!(bad.to_string().contains("`n`"), "{bad}");
}

#[test]
fn batches_do_not_depend_on_the_thread_count() {
    let sim = experiment("burgers").unwrap();
    let xs: Vec<Vec<f64>> = (0..6).map(|i| random_point(sim.as_ref(), 3, i)).collect();
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| simulate_batch(sim.as_ref(), &xs))
            .into_iter()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    let one = run(1);
    let two = run(2);
    assert_eq!(one, two);
    assert_eq!(one[2], sim.simulate(&xs[2]).unwrap());
}

// ---- The scaling families (docs/spec.md v2, "Scaling families") ----

/// Exact gradients at every d of both families, against central differences. The larger
/// members are checked at fewer points: each check costs 2d forward solves.
#[test]
fn scaling_family_gradients_match_central_differences_at_every_d() {
    for (name, points) in [
        ("burgers-k1", 1),
        ("burgers-k2", 2),
        ("burgers-k4", 1),
        ("burgers-k8", 1),
        ("ks-m2", 1),
        ("ks-m4", 2),
        ("ks-m8", 1),
        ("ks-m16", 1),
    ] {
        let sim = experiment(name).unwrap();
        for i in 0..points {
            let target = sim
                .simulate(&random_point(sim.as_ref(), 31, 100 + i))
                .unwrap();
            let x = random_point(sim.as_ref(), 31, i);
            let (_, grad) = sim.loss_and_grad(&x, &target).unwrap();
            let fd = fd_gradient(sim.as_ref(), &x, &target, 1e-5);
            let err = relative_error(&grad, &fd);
            assert!(err <= 1e-7, "{name} at {x:?}: rel error {err:e}");
        }
    }
}

#[test]
fn scaling_family_boxes_have_the_spec_dimensions_and_sectors() {
    for k in [1usize, 2, 4, 8] {
        let sim = experiment(&format!("burgers-k{k}")).unwrap();
        let space = sim.param_space();
        assert_eq!(space.dim(), 2 * k);
        for j in 0..k {
            // Sector j of K, and ω in [2, 12].
            let (lo, hi) = (space.lo[j], space.hi[j]);
            assert!((lo - TAU * j as f64 / k as f64).abs() < 1e-15);
            assert!((hi - TAU * (j + 1) as f64 / k as f64).abs() < 1e-15);
            assert_eq!((space.lo[k + j], space.hi[k + j]), (2.0, 12.0));
        }
    }
    for m in [2usize, 4, 8, 16] {
        assert_eq!(
            experiment(&format!("ks-m{m}")).unwrap().param_space().dim(),
            m
        );
    }
}

/// Two sources meeting at their shared sector face with the same ω are one source of twice the
/// amplitude: E1 with A = 2 is an independent solve of the same forcing.
#[test]
fn two_coincident_sources_are_one_source_of_twice_the_amplitude() {
    let two = experiment("burgers-k2").unwrap();
    let doubled = Burgers::new(BurgersConfig {
        forcing_amplitude: 2.0,
        ..BurgersConfig::default()
    })
    .unwrap();
    let omega = 7.3;
    let a = two.simulate(&[PI, PI, omega, omega]).unwrap();
    let b = doubled.simulate(&[PI, omega]).unwrap();
    let diff = (&a - &b).iter().fold(0.0_f64, |m, d| m.max(d.abs()));
    assert!(diff <= 1e-12, "max difference {diff:e}");
    // And a different ω on the second source changes the solution.
    let c = two.simulate(&[PI, PI, omega, omega + 1.0]).unwrap();
    assert!((&a - &c).iter().any(|d| d.abs() > 1e-3));
}

#[test]
fn burgers_k1_is_e1_and_ks_m2_is_e2() {
    for (member, spec) in [("burgers-k1", "burgers"), ("ks-m2", "ks")] {
        let a = experiment(member).unwrap();
        let b = experiment(spec).unwrap();
        let x = random_point(b.as_ref(), 5, 0);
        let diff = (&a.simulate(&x).unwrap() - &b.simulate(&x).unwrap())
            .iter()
            .fold(0.0_f64, |m, d| m.max(d.abs()));
        assert!(diff <= 1e-12, "{member}: {diff:e}");
    }
    // ks-m4 with its extra modes off is E2.
    let m4 = experiment("ks-m4").unwrap();
    let ks = experiment("ks").unwrap();
    let diff = (&m4.simulate(&[0.4, -0.7, 0.0, 0.0]).unwrap()
        - &ks.simulate(&[0.4, -0.7]).unwrap())
        .iter()
        .fold(0.0_f64, |m, d| m.max(d.abs()));
    assert!(diff <= 1e-12, "ks-m4: {diff:e}");
}

/// The initial frame of ks-m16 is b(x) + Σ X_j φ_j(x) with the spec's mode order, written out
/// here independently of the solver's table.
#[test]
fn ks_m16_initial_condition_follows_the_spec_mode_order() {
    let sim = experiment("ks-m16").unwrap();
    let length = 22.0;
    let mut spec_modes: Vec<Box<dyn Fn(f64) -> f64>> = vec![
        Box::new(move |x| (TAU * x / length).cos()),
        Box::new(move |x| (2.0 * TAU * x / length).sin()),
        Box::new(move |x| (TAU * x / length).sin()),
        Box::new(move |x| (2.0 * TAU * x / length).cos()),
    ];
    for k in 3..=8 {
        let w = TAU * k as f64 / length;
        spec_modes.push(Box::new(move |x| (w * x).cos()));
        spec_modes.push(Box::new(move |x| (w * x).sin()));
    }
    let background = sim.simulate(&[0.0; 16]).unwrap();
    let points = sim.state_axis();
    for (j, phi) in spec_modes.iter().enumerate() {
        let mut x = [0.0; 16];
        x[j] = 0.5;
        let y = sim.simulate(&x).unwrap();
        for (i, &p) in points.iter().enumerate() {
            let got = y[[0, i]] - background[[0, i]];
            assert!(
                (got - 0.5 * phi(p)).abs() < 1e-12,
                "mode {j} at x = {p}: {got} vs {}",
                0.5 * phi(p)
            );
        }
    }
}
