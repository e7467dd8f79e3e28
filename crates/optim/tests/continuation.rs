//! Horizon continuation: the loss on the first frames against its definition, its gradient
//! against finite differences, and the staged refinement against the truth and its own count.

use openblas_src as _;

use proxyland_optim::{
    LocalSettings, Method, Objective, Problem, Refine, TrueLoss, continuation_horizons, is_success,
    run,
};
use proxyland_physics::rng::Domain;
use proxyland_physics::{experiment, sample_target};

#[test]
fn a_partial_horizon_compares_the_first_frames_only() {
    let sim = experiment("burgers-k2").unwrap();
    let (x_star, mut target) = sample_target(sim.as_ref(), 5, 0).unwrap();
    let frames = target.nrows();
    let k = frames / 4;
    // Spoil every frame after the first k: on the first k the truth still fits exactly.
    target
        .slice_mut(ndarray::s![k.., ..])
        .mapv_inplace(|v| v + 1.0);
    let truth = TrueLoss::new(sim.as_ref(), &target);
    let u_star = sim.param_space().to_unit(&x_star);
    assert!(truth.value(&u_star).unwrap() > 0.5);
    truth.set_horizon(Some(k));
    assert_eq!(truth.horizon(), k);
    assert!(truth.value(&u_star).unwrap() < 1e-28);
    // Elsewhere: the mean squared residual over the first k frames, computed from a plain
    // simulation.
    let u: Vec<f64> = u_star.iter().map(|v| (v + 0.13).min(0.95)).collect();
    let y = sim.simulate(&sim.param_space().from_unit(&u)).unwrap();
    let rows = ndarray::s![..k, ..];
    let expected = (&y.slice(rows) - &target.slice(rows))
        .mapv(|r| r * r)
        .mean()
        .unwrap();
    let got = truth.value(&u).unwrap();
    assert!(
        (got - expected).abs() <= 1e-12 * expected,
        "{got} vs {expected}"
    );
    // Partial values are no candidates for the answer: best() holds full-horizon ones only.
    let (best, _) = truth.best().unwrap();
    assert!(best > 0.5, "a partial value leaked into best(): {best}");
    truth.set_horizon(None);
    assert_eq!(truth.horizon(), frames);
}

#[test]
fn the_partial_horizon_gradient_matches_finite_differences() {
    let sim = experiment("ks-m4").unwrap();
    let (_, target) = sample_target(sim.as_ref(), 9, 1).unwrap();
    let truth = TrueLoss::new(sim.as_ref(), &target);
    truth.set_horizon(Some(target.nrows().div_ceil(2)));
    let u = vec![0.31, 0.62, 0.47, 0.55];
    let (_, g) = truth.value_and_grad(&u).unwrap();
    let h = 1e-6;
    for j in 0..u.len() {
        let mut up = u.clone();
        up[j] += h;
        let mut down = u.clone();
        down[j] -= h;
        let fd = (truth.value(&up).unwrap() - truth.value(&down).unwrap()) / (2.0 * h);
        assert!(
            (fd - g[j]).abs() <= 1e-5 * fd.abs().max(1e-8),
            "coordinate {j}: finite differences {fd:.6e}, gradient {:.6e}",
            g[j]
        );
    }
}

#[test]
fn continuation_refines_stage_by_stage_and_stays_in_the_basin() {
    let sim = experiment("burgers-k4").unwrap();
    let d = sim.param_space().dim();
    for index in 0..2u64 {
        let (x_star, target) = sample_target(sim.as_ref(), 21, index).unwrap();
        let u_star = sim.param_space().to_unit(&x_star);
        let u0: Vec<f64> = u_star
            .iter()
            .enumerate()
            .map(|(j, u)| u + if j % 2 == 0 { 0.004 } else { -0.004 })
            .collect();
        let problem = Problem {
            sim: sim.as_ref(),
            target: &target,
            u0,
            trace: None,
            library: None,
        };
        for refine in [Refine::Lm, Refine::Bfgs] {
            let settings = LocalSettings {
                refine,
                continuation: true,
                ..LocalSettings::default()
            };
            let a = run(
                &Method::InverseNet,
                &problem,
                None,
                settings,
                &mut Domain::Scratch.stream(0, 0),
            )
            .unwrap();
            let report = a.refinement.clone().unwrap();
            assert_eq!(report.horizons, continuation_horizons(target.nrows()));
            assert_eq!(*report.horizons.last().unwrap(), target.nrows());
            assert!(
                is_success(sim.as_ref(), &a.x_hat, &x_star).0,
                "{refine:?}, target {index}: left the basin to {:?} (truth {x_star:?})",
                a.x_hat
            );
            // Every stage's calls are charged: each is one call with the Jacobian or one
            // without, so the field solves lie between the calls and (1 + d) times them.
            assert!(a.sim_calls >= report.horizons.len());
            assert!(a.field_solves >= a.sim_calls && a.field_solves <= a.sim_calls * (1 + d));
        }
    }
}
