//! Levenberg–Marquardt on real simulators: its Jacobian against finite differences through the
//! fold, its basin behaviour on a d = 8 Burgers target, and its cost in calls and field solves.

use openblas_src as _;

use proxyland_optim::{
    LocalSettings, Method, Problem, Refine, TrueLoss, is_success, levenberg_marquardt, run,
};
use proxyland_physics::rng::Domain;
use proxyland_physics::{experiment, sample_target};

#[test]
fn the_residual_jacobian_matches_finite_differences_through_the_fold() {
    let sim = experiment("burgers-k2").unwrap();
    let (_, target) = sample_target(sim.as_ref(), 3, 0).unwrap();
    let truth = TrueLoss::new(sim.as_ref(), &target);
    // Inside the box, and outside it on both sides (reflected coordinates mirror back: the
    // Jacobian's columns carry the fold's sign).
    for u in [
        vec![0.3, 0.6, 0.45, 0.7],
        vec![-0.08, 0.6, 1.06, 0.2],
        vec![0.5, 1.1, 0.3, -0.2],
    ] {
        let (r, j) = truth.residual_and_jacobian(&u).unwrap();
        let h = 1e-6;
        for k in 0..u.len() {
            let mut up = u.clone();
            up[k] += h;
            let mut down = u.clone();
            down[k] -= h;
            let (rp, _) = truth.residual_and_jacobian(&up).unwrap();
            let (rm, _) = truth.residual_and_jacobian(&down).unwrap();
            let fd: Vec<f64> = rp
                .iter()
                .zip(&rm)
                .map(|(a, b)| (a - b) / (2.0 * h))
                .collect();
            let scale = fd.iter().map(|v| v.abs()).fold(0.0, f64::max).max(1e-12);
            let worst = fd
                .iter()
                .zip(&j[k])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(
                worst < 1e-5 * scale,
                "u = {u:?}, column {k}: |FD − J| = {worst:.2e} of {scale:.2e}"
            );
        }
        assert_eq!(r.len(), target.len());
    }
}

#[test]
fn started_in_the_basin_of_a_burgers_k4_target_lm_reaches_the_success_region() {
    let sim = experiment("burgers-k4").unwrap();
    let d = sim.param_space().dim();
    let mut reached = 0;
    for index in 0..3u64 {
        let (x_star, target) = sample_target(sim.as_ref(), 21, index).unwrap();
        let u_star = sim.param_space().to_unit(&x_star);
        // 2% of the box off in every coordinate, alternating signs: inside the basin.
        let u0: Vec<f64> = u_star
            .iter()
            .enumerate()
            .map(|(j, u)| u + if j % 2 == 0 { 0.02 } else { -0.02 })
            .collect();
        let truth = TrueLoss::new(sim.as_ref(), &target);
        let r = levenberg_marquardt(&truth, &u0, 100, None);
        let (x_hat, _) = sim.param_space().fold(&sim.param_space().from_unit(&r.u));
        let (ok, worst) = is_success(sim.as_ref(), &x_hat, &x_star);
        // A run that starts in the basin stays in it and converges there.
        assert!(r.stop.converged(), "target {index}: {:?}", r.stop);
        assert!(
            worst < 0.02,
            "target {index}: left the basin, error {worst}"
        );
        reached += usize::from(ok);
        // Exact data: the residual vanishes to rounding at the answer.
        assert!(r.value < 1e-20, "target {index}: loss {:.2e}", r.value);
        // One call per iteration plus the start, each costing 1 + d field solves.
        assert_eq!(truth.calls() as u64, r.iterations + 1);
        assert_eq!(truth.field_solves(), truth.calls() * (1 + d));
    }
    assert_eq!(reached, 3);
}

#[test]
fn every_refining_method_follows_the_refine_setting_and_counts_field_solves() {
    let sim = experiment("ks-m4").unwrap();
    let d = sim.param_space().dim();
    let (x_star, target) = sample_target(sim.as_ref(), 5, 1).unwrap();
    let u_star = sim.param_space().to_unit(&x_star);
    let u0: Vec<f64> = u_star.iter().map(|u| u + 0.01).collect();
    for refine in [Refine::Bfgs, Refine::Lm, Refine::BfgsLm] {
        let problem = Problem {
            sim: sim.as_ref(),
            target: &target,
            u0: u0.clone(),
            trace: None,
            library: None,
        };
        let settings = LocalSettings {
            refine,
            ..LocalSettings::default()
        };
        // inverse-net's refinement starts from the problem's start (the network's guess).
        let a = run(
            &Method::InverseNet,
            &problem,
            None,
            settings,
            &mut Domain::Scratch.stream(0, 0),
        )
        .unwrap();
        let report = a.refinement.clone().expect("a refinement report");
        assert_eq!(report.method, refine);
        assert!(is_success(sim.as_ref(), &a.x_hat, &x_star).0, "{refine:?}");
        // Every call of a refinement asks for the gradient or Jacobian: 1 + d field solves.
        assert_eq!(a.field_solves, a.sim_calls * (1 + d), "{refine:?}");
        if refine != Refine::Bfgs {
            assert!(report.converged, "{refine:?}: {report:?}");
        }
    }
}

#[test]
fn a_field_solve_budget_is_never_overrun() {
    let sim = experiment("burgers").unwrap();
    let (_, target) = sample_target(sim.as_ref(), 1, 0).unwrap();
    let budget = 20; // a tangent call costs 3: at most 6 of them fit
    let truth = TrueLoss::new(sim.as_ref(), &target).with_solve_budget(budget);
    let r = levenberg_marquardt(&truth, &[0.1, 0.9], 100, None);
    assert!(truth.field_solves() <= budget, "{}", truth.field_solves());
    assert_eq!(truth.calls(), 6);
    assert!(r.stopped.is_some(), "the budget ended the run");
}
