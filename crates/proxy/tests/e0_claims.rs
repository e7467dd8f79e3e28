//! The paper's claims on E0 (Gramacy & Lee), trained on the CPU in seconds:
//! Fourier features overcome spectral bias, and noise injection smooths the landscape,
//! monotonically in σ.
//!
//! Smoothness metric (documented in docs/proxy.md): the roughness R = Σ_i (z_{i+1} − 2z_i +
//! z_{i−1})² of the predicted log-loss z = log(L̂ + ε) on 1001 equispaced points of the box;
//! a smoother landscape has less curvature energy.

use openblas_src as _;

mod common;

use proxyland_optim::{
    LocalSettings, Method, Problem, Surrogate, SurrogateError, SurrogateInfo, SurrogateLoss,
    SurrogateModel, run, surrogate_minima,
};
use proxyland_physics::rng::Domain;
use proxyland_physics::{GramacyLee, Simulator};
use proxyland_proxy::{Proxy, TrainOptions, train};
use std::sync::Mutex;

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
    let meta = train(&pool, &config, &opts, &out, &|_, _, _| {}).unwrap();
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

/// A trained proxy that records every u its network is asked about.
struct Recording {
    proxy: Proxy,
    seen: Mutex<Vec<Vec<f64>>>,
}

struct RecordingBound<'a> {
    inner: Box<dyn Surrogate + 'a>,
    seen: &'a Mutex<Vec<Vec<f64>>>,
}

impl Surrogate for RecordingBound<'_> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn predict_log_with_grad(
        &self,
        us: &[Vec<f64>],
    ) -> Result<(Vec<f64>, Vec<Vec<f64>>), SurrogateError> {
        self.seen.lock().unwrap().extend(us.iter().cloned());
        self.inner.predict_log_with_grad(us)
    }
}

impl SurrogateModel for Recording {
    fn info(&self) -> &SurrogateInfo {
        self.proxy.info()
    }
    fn bind<'a>(
        &'a self,
        target: &ndarray::Array2<f64>,
    ) -> Result<Box<dyn Surrogate + 'a>, SurrogateError> {
        Ok(Box::new(RecordingBound {
            inner: SurrogateModel::bind(&self.proxy, target)?,
            seen: &self.seen,
        }))
    }
}

#[test]
fn the_proxy_stage_stays_in_the_box_and_the_network_alone_finds_the_global_minimum() {
    let dir = tempfile::tempdir().unwrap();
    let (config, pool) = common::pool(dir.path(), "gramacy-lee", 512, &common::no_edit);
    let opts = TrainOptions {
        noise: 0.02,
        ..TrainOptions::from_profile(&config, "quick", 5).unwrap()
    };
    let out = dir.path().join("e0.safetensors");
    train(&pool, &config, &opts, &out, &|_, _, _| {}).unwrap();
    let model = Recording {
        proxy: Proxy::load(&out).unwrap(),
        seen: Mutex::new(Vec::new()),
    };
    let sim = GramacyLee::new();
    let target = sim.simulate(&[GramacyLee::GLOBAL_MINIMUM]).unwrap();
    let space = sim.param_space();
    let u_star = space.to_unit(&[GramacyLee::GLOBAL_MINIMUM])[0];
    let settings = LocalSettings::default();
    let mut starts = Domain::Scratch.stream(21, 0);
    let mut network_hits = 0;
    for i in 0..50 {
        let problem = Problem {
            sim: &sim,
            target: &target,
            u0: vec![starts.uniform()],
            trace: None,
            library: None,
        };
        for name in ["proxy", "proxy-bfgs", "proxy-multistart"] {
            let method = Method::parse(name, 0).unwrap();
            run(
                &method,
                &problem,
                Some(&model),
                settings,
                &mut Domain::Scratch.stream(8, i),
            )
            .unwrap();
        }
        // The network alone: proxy-multistart's surrogate stage, without the true loss.
        let bound = SurrogateModel::bind(&model, &target).unwrap();
        let landscape = SurrogateLoss::new(bound.as_ref(), space);
        let minima = surrogate_minima(
            &landscape,
            &problem.u0,
            256,
            12,
            settings,
            &mut Domain::Scratch.stream(9, i),
        )
        .unwrap();
        if (minima[0].1[0] - u_star).abs() <= 0.02 {
            network_hits += 1;
        }
    }
    let seen = model.seen.lock().unwrap();
    let outside = seen
        .iter()
        .filter(|u| u.iter().any(|v| !(0.0..=1.0).contains(v)))
        .count();
    assert!(seen.len() > 10_000, "{} network evaluations", seen.len());
    assert_eq!(
        outside,
        0,
        "{outside} of {} evaluations outside the box",
        seen.len()
    );
    assert_eq!(
        network_hits, 50,
        "the network's own argmin was within 2% of x* on {network_hits} of 50 starts"
    );
}
