//! A simulator proxyland has never seen (examples/pendulum.rs) goes through the whole library
//! pipeline: its exact gradients are checked against finite differences, then a pool, a trained
//! proxy and proxy-multistart recover its parameters with standard errors and a verdict.

use openblas_src as _;

#[allow(dead_code)]
#[path = "../examples/pendulum.rs"]
mod pendulum;

use pendulum::{Pendulum, Sizes, run_pipeline};
use proxyland_physics::Simulator;

#[test]
fn the_pendulum_tangents_match_central_differences() {
    let sim = Pendulum::new();
    for x in [[0.3, 1.1], [0.9, 0.6], [0.15, 1.9]] {
        let t = sim.simulate_with_tangents(&x).unwrap();
        for j in 0..2 {
            let h = 1e-6;
            let (mut up, mut down) = (x, x);
            up[j] += h;
            down[j] -= h;
            let fd = (sim.simulate(&up).unwrap() - sim.simulate(&down).unwrap()) / (2.0 * h);
            let scale = fd.iter().fold(1e-3_f64, |m, v| m.max(v.abs()));
            let worst = (&fd - &t.tangents[j])
                .iter()
                .fold(0.0_f64, |m, v| m.max(v.abs()));
            assert!(
                worst < 1e-6 * scale,
                "x = {x:?}, ∂/∂x{j}: tangent differs from central differences by {worst:e} (scale {scale:e})"
            );
        }
    }
}

#[test]
fn a_proxy_for_the_pendulum_recovers_its_parameters_with_trustworthy_errors() {
    let dir = tempfile::tempdir().unwrap();
    let sizes = Sizes {
        pool: 256,
        epochs: 6,
        pairs: 4096,
        observations: 3,
    };
    let results = run_pipeline(&sizes, dir.path());
    assert_eq!(results.len(), 3);
    let solved = results.iter().filter(|r| r.0).count();
    assert!(solved >= 2, "solved {solved} of 3: {results:?}");
    for (success, x, se, ok) in &results {
        // Exact data: a solved observation has tiny, finite errors and an "ok" verdict; an
        // unsolved one must not be called trustworthy.
        assert_eq!(
            success, ok,
            "verdict disagrees with the truth: {x:?} ± {se:?}"
        );
        if *success {
            assert!(se.iter().all(|e| e.is_finite() && *e < 1e-4), "{se:?}");
        }
    }
}
