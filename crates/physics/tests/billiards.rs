//! Billiards against closed forms, conservation laws and finite differences.

mod common;

use common::{fd_gradient, random_point, relative_error};
use proptest::prelude::*;
use proxyland_physics::{Billiards, BilliardsConfig, Simulator, experiment, simulate_batch};

fn table_with(objects: Vec<[f64; 2]>, cue: [f64; 2], frames: usize, frame_dt: f64) -> Billiards {
    Billiards::new(BilliardsConfig {
        objects,
        cue_start: cue,
        frames,
        frame_dt,
        vx_range: (-3.0, 3.0),
        vy_range: (-3.0, 3.0),
        ..BilliardsConfig::two_d()
    })
    .unwrap()
}

#[test]
fn head_on_collision_of_equal_masses_transfers_the_velocity_completely() {
    // Cue at (0.2, 0.5) straight at the ball at (0.6, 0.5): contact when the cue reaches 0.5.
    // Frames up to t = 0.7, before the object ball reaches the far cushion and comes back.
    let table = table_with(vec![[0.6, 0.5]], [0.2, 0.5], 15, 0.05);
    let y = table.simulate(&[1.0, 0.0]).unwrap();
    let last = y.row(14);
    assert!(
        (last[0] - 0.5).abs() < 1e-12,
        "the cue stops at contact: {}",
        last[0]
    );
    assert!((last[1] - 0.5).abs() < 1e-15);
    // Speed at contact: distance 0.3 used s = 0.3, so v = 1 − μ s = 0.85; the object ball then
    // travels 0.85 (1 − e^{−μ(T − τ)})/μ with τ = −ln(1 − μ s)/μ.
    let mu = 0.5;
    let tau = -(1.0_f64 - mu * 0.3).ln() / mu;
    let travel = 0.85 * (1.0 - (-mu * (0.7 - tau)).exp()) / mu;
    assert!(
        (last[2] - (0.6 + travel)).abs() < 1e-12,
        "{} vs {}",
        last[2],
        0.6 + travel
    );
}

#[test]
fn momentum_is_conserved_through_a_collision_and_energy_decays_only_by_friction() {
    // Up to t = 0.7: the collision happens near t = 0.33, no ball reaches a cushion before 0.7.
    let table = table_with(vec![[0.6, 0.52]], [0.2, 0.5], 141, 0.005);
    let y = table.simulate(&[1.0, 0.05]).unwrap();
    let dt = 0.005;
    let mu = 0.5;
    // Velocities from frame differences are not exact; instead check the closed form of
    // friction: total momentum p(t) = p(0) e^{−μt} holds across the collision exactly, so the
    // centre of mass follows x_cm(t) = x_cm(0) + v_cm(0)(1 − e^{−μt})/μ.
    let v0 = [1.0 / 2.0, 0.05 / 2.0]; // v_cm = (cue velocity + 0)/2
    let cm0 = [(0.2 + 0.6) / 2.0, (0.5 + 0.52) / 2.0];
    for (f, row) in y.outer_iter().enumerate() {
        let t = f as f64 * dt;
        let s = (1.0 - (-mu * t).exp()) / mu;
        let cm = [(row[0] + row[2]) / 2.0, (row[1] + row[3]) / 2.0];
        for a in 0..2 {
            assert!((cm[a] - (cm0[a] + v0[a] * s)).abs() < 1e-12, "frame {f}");
        }
    }
    // Kinetic energy: with exact velocities from the tangent-free closed form, E(t) = E(0)e^{−2μt}
    // holds across an elastic collision. Check it on the balls' speeds at the last frame,
    // differentiating the trajectory analytically: v = (x(t+h) − x(t−h))/(2h) is exact for the
    // exponential motion up to O(h²) — use a tiny h through a dedicated table.
    let probe = |t: f64| {
        let table = table_with(vec![[0.6, 0.52]], [0.2, 0.5], 2, t);
        table.simulate(&[1.0, 0.05]).unwrap().row(1).to_owned()
    };
    let (t, h) = (0.6, 1e-5);
    let (a, b) = (probe(t - h), probe(t + h));
    let energy: f64 = (0..4)
        .map(|c| ((b[c] - a[c]) / (2.0 * h)).powi(2))
        .sum::<f64>()
        / 2.0;
    let expected = (1.0 + 0.05 * 0.05) / 2.0 * (-2.0 * mu * t).exp();
    assert!((energy - expected).abs() < 1e-7, "{energy} vs {expected}");
}

#[test]
fn a_ball_sent_straight_at_a_cushion_comes_back_along_its_line() {
    let table = table_with(vec![], [0.5, 0.3], 41, 0.05);
    let y = table.simulate(&[1.0, 0.0]).unwrap();
    assert!(
        y.column(1).iter().all(|&v| v == 0.3),
        "it stays on its line"
    );
    let xs: Vec<f64> = y.column(0).to_vec();
    let peak = xs.iter().cloned().fold(f64::MIN, f64::max);
    assert!(
        (peak - 0.95).abs() < 0.05,
        "it reaches the cushion at 1 − r"
    );
    assert!(xs[40] < peak, "and comes back");
    assert!(
        xs.iter().all(|&x| x <= 0.95 + 1e-12),
        "never through the cushion"
    );
}

#[test]
fn a_lone_ball_stops_at_x0_plus_v0_over_mu() {
    let mu = 0.5;
    // After 40 s, e^{−20} ≈ 2e-9 of the travel is left.
    let table = table_with(vec![], [0.2, 0.3], 2, 40.0);
    let y = table.simulate(&[0.3, 0.2]).unwrap();
    assert!((y[[1, 0]] - (0.2 + 0.3 / mu)).abs() < 1e-8, "{}", y[[1, 0]]);
    assert!((y[[1, 1]] - (0.3 + 0.2 / mu)).abs() < 1e-8, "{}", y[[1, 1]]);
}

/// Whether small moves of X leave the event sequence unchanged (so FD is meaningful).
fn stable_under(sim: &dyn Simulator, x: &[f64], h: f64) -> bool {
    let y = sim.simulate(x).unwrap();
    (0..x.len()).all(|j| {
        let mut xp = x.to_vec();
        xp[j] += 10.0 * h * sim.param_space().width(j);
        let yp = sim.simulate(&xp).unwrap();
        (&yp - &y).iter().all(|d| d.abs() < 1e-2)
    })
}

fn check_billiards_gradient(name: &str) {
    let sim = experiment(name).unwrap();
    let mut checked = 0;
    for i in 0..40 {
        let x = random_point(sim.as_ref(), 21, i);
        let target = sim.simulate(&random_point(sim.as_ref(), 22, i)).unwrap();
        if !stable_under(sim.as_ref(), &x, 1e-6) {
            continue;
        }
        let (_, grad) = sim.loss_and_grad(&x, &target).unwrap();
        let fd = fd_gradient(sim.as_ref(), &x, &target, 1e-7);
        let err = relative_error(&grad, &fd);
        assert!(err <= 1e-6, "{name} at {x:?}: {grad:?} vs {fd:?} ({err:e})");
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} stable points checked");
}

#[test]
fn billiards2d_gradient_matches_central_differences() {
    check_billiards_gradient("billiards2d");
}

#[test]
fn billiards4d_gradient_matches_central_differences() {
    check_billiards_gradient("billiards4d");
}

#[test]
fn object_balls_have_exactly_zero_derivative_when_the_cue_misses_them() {
    let sim = experiment("billiards2d").unwrap();
    // Steeply upwards: the cue passes above both object balls.
    let x = [0.6, 0.6];
    let run = sim.simulate_with_tangents(&x).unwrap();
    let first = run.trajectory.row(0).to_owned();
    for row in run.trajectory.outer_iter() {
        assert_eq!(
            row.slice(ndarray::s![2..]),
            first.slice(ndarray::s![2..]),
            "nothing was hit"
        );
    }
    for t in &run.tangents {
        assert!(t.slice(ndarray::s![.., 2..]).iter().all(|&d| d == 0.0));
    }
    // So against a target that differs only in where the object balls are, the loss is flat.
    let mut target = run.trajectory.clone();
    target
        .slice_mut(ndarray::s![.., 2..])
        .mapv_inplace(|v| v + 0.1);
    let (_, grad) = sim.loss_and_grad(&x, &target).unwrap();
    assert_eq!(grad, vec![0.0, 0.0]);
}

#[test]
fn results_are_bit_identical_across_runs_and_thread_counts() {
    let sim = experiment("billiards4d").unwrap();
    let xs: Vec<Vec<f64>> = (0..64).map(|i| random_point(sim.as_ref(), 5, i)).collect();
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
    assert_eq!(run(1), run(2));
    assert_eq!(run(2), run(2));
}

#[test]
fn targets_are_redrawn_until_an_object_ball_moves() {
    let sim = experiment("billiards2d").unwrap();
    for i in 0..20 {
        let (x, y) = proxyland_physics::sample_target(sim.as_ref(), 9, i).unwrap();
        assert!(sim.is_admissible_target(&x, &y));
        let moved = (2..6).any(|c| {
            y.column(c)
                .iter()
                .any(|v| (v - y[[0, c]]).abs() >= 0.01 / 2f64.sqrt())
        });
        assert!(moved, "target {i} at {x:?} moves nothing");
    }
    // A miss is not admissible.
    let miss = sim.simulate(&[0.6, 0.6]).unwrap();
    assert!(!sim.is_admissible_target(&[0.6, 0.6], &miss));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn no_two_discs_overlap_at_any_frame(u in proptest::collection::vec(0.0..1.0f64, 4)) {
        let sim = experiment("billiards4d").unwrap();
        let x = sim.param_space().from_unit(&u);
        let y = sim.simulate(&x).unwrap();
        let r = 0.05;
        for row in y.outer_iter() {
            for i in 0..3 {
                for j in i + 1..3 {
                    let d = ((row[2 * i] - row[2 * j]).powi(2) + (row[2 * i + 1] - row[2 * j + 1]).powi(2)).sqrt();
                    prop_assert!(d >= 2.0 * r - 1e-9, "balls {} and {} at distance {}", i, j, d);
                }
                prop_assert!(row[2 * i] >= r - 1e-9 && row[2 * i] <= 1.0 - r + 1e-9);
                prop_assert!(row[2 * i + 1] >= r - 1e-9 && row[2 * i + 1] <= 1.0 - r + 1e-9);
            }
        }
    }
}
