//! The paper's claims on E0 (Gramacy & Lee), trained on the CPU in seconds:
//! Fourier features overcome spectral bias, and noise injection smooths the landscape,
//! monotonically in σ.
//!
//! Smoothness metric (documented in docs/proxy.md): the roughness R = Σ_i (z_{i+1} − 2z_i +
//! z_{i−1})² of the predicted log-loss z = log(L̂ + ε) on 1001 equispaced points of the box;
//! a smoother landscape has less curvature energy.

mod common;

use proxyland_proxy::{Proxy, TrainOptions, train};

struct Fit {
    /// RMSE of the predicted log-loss against the true one on the grid.
    rmse: f64,
    roughness: f64,
}

fn fit(dir: &std::path::Path, use_fourier: bool, noise: f64) -> Fit {
    let (config, pool) = common::pool(dir, "gramacy-lee", 512, &common::no_edit);
    let opts = TrainOptions {
        noise,
        use_fourier,
        ..TrainOptions::from_profile(&config, "quick", 3).unwrap()
    };
    let out = dir.join(format!("p-{use_fourier}-{noise}.safetensors"));
    let meta = train(&pool, &config, &opts, &out, &|_, _, _, _| {}).unwrap();
    let proxy = Proxy::load(&out).unwrap();
    let f = proxyland_physics::GramacyLee::value;
    let f_star = f(proxyland_physics::GramacyLee::GLOBAL_MINIMUM);
    let target = ndarray::Array2::from_elem((1, 1), f_star);
    let n = 1001;
    let us: Vec<Vec<f64>> = (0..n).map(|i| vec![i as f64 / (n - 1) as f64]).collect();
    let eps = meta.normalization.epsilon;
    let z: Vec<f64> = proxy
        .predict(&target, &us)
        .unwrap()
        .iter()
        .map(|p| (p.max(0.0) + eps).ln())
        .collect();
    let truth: Vec<f64> = us
        .iter()
        .map(|u| ((f(0.5 + 2.0 * u[0]) - f_star).powi(2) + eps).ln())
        .collect();
    let rmse = (z
        .iter()
        .zip(&truth)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        / n as f64)
        .sqrt();
    let roughness = z
        .windows(3)
        .map(|w| (w[2] - 2.0 * w[1] + w[0]).powi(2))
        .sum();
    Fit { rmse, roughness }
}

#[test]
fn fourier_features_fit_gramacy_lee_and_plain_inputs_are_blurrier() {
    let dir = tempfile::tempdir().unwrap();
    let with = fit(dir.path(), true, 0.0);
    let without = fit(dir.path(), false, 0.0);
    assert!(
        with.rmse < 0.2,
        "with Fourier features: log-loss RMSE {}",
        with.rmse
    );
    assert!(
        without.rmse > 3.0 * with.rmse,
        "without: {} vs with: {}",
        without.rmse,
        with.rmse
    );
    assert!(
        without.roughness < with.roughness,
        "spectral bias: the plain MLP is too smooth"
    );
}

#[test]
fn noise_injection_smooths_the_landscape_monotonically_in_sigma() {
    let dir = tempfile::tempdir().unwrap();
    let roughness: Vec<f64> = [0.0, 0.02, 0.05, 0.1]
        .iter()
        .map(|&s| fit(dir.path(), true, s).roughness)
        .collect();
    for w in roughness.windows(2) {
        assert!(
            w[1] < w[0],
            "roughness over sigma 0, .02, .05, .1: {roughness:?}"
        );
    }
}
