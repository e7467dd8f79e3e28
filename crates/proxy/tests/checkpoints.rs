//! Checkpoints and the prediction API, on a tiny Burgers pool trained for a few epochs.

use openblas_src as _;

mod common;

use proxyland_proxy::{Error, Proxy, Regularizers, TrainOptions, train};
use std::path::Path;

fn tiny(s: String) -> String {
    use proxyland_dataset::testing::{TINY_BURGERS, replaced};
    TINY_BURGERS
        .iter()
        .fold(s, |s, (from, to)| replaced(&s, from, to))
}

fn trained(dir: &Path, noise: f64, penalty: f64, name: &str) -> std::path::PathBuf {
    let (config, pool) = common::pool(dir, "burgers", 48, &tiny);
    let opts = TrainOptions {
        noise,
        penalty,
        epochs: 3,
        pairs_per_epoch: 512,
        ..TrainOptions::from_profile(&config, "quick", 1).unwrap()
    };
    let out = dir.join(name);
    train(&pool, &config, &opts, &out, &|_, _, _| {}).unwrap();
    out
}

fn target(dir: &Path) -> ndarray::Array2<f64> {
    let (_, pool) = common::pool(dir, "burgers", 48, &tiny);
    pool.target_trajectories
        .index_axis(ndarray::Axis(0), 0)
        .to_owned()
}

#[test]
fn save_load_predict_is_identical_and_metadata_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let out = trained(dir.path(), 0.05, 0.0, "p.safetensors");
    let a = Proxy::load(&out).unwrap();
    let b = Proxy::load(&out).unwrap();
    let y = target(dir.path());
    let us = vec![vec![0.1, 0.2], vec![0.5, 0.5], vec![0.9, 0.3]];
    assert_eq!(a.predict(&y, &us).unwrap(), b.predict(&y, &us).unwrap());
    let m = a.meta();
    assert_eq!(m.experiment, "burgers");
    assert_eq!(m.param_names, vec!["x_c", "omega"]);
    assert_eq!(m.periodic, vec![true, false]);
    assert_eq!(m.noise, 0.05);
    assert_eq!(m.training.epochs_run, 3);
    assert_eq!(m.training.history.len(), 3);
    assert!(!m.dataset.hash.is_empty());
    assert!(
        !out.with_extension("safetensors.resume").exists(),
        "resume files are cleaned up"
    );
}

#[test]
fn autograd_gradient_matches_finite_differences_of_predict() {
    let dir = tempfile::tempdir().unwrap();
    let out = trained(dir.path(), 0.0, 0.1, "p.safetensors");
    let proxy = Proxy::load(&out).unwrap();
    let y = target(dir.path());
    let bound = proxy.bind(&y).unwrap();
    for u in [vec![0.2, 0.7], vec![0.61, 0.33], vec![0.95, 0.05]] {
        let (_, grad) = bound.predict_with_grad(std::slice::from_ref(&u)).unwrap();
        for j in 0..2 {
            let h = 1e-6;
            let (mut up, mut um) = (u.clone(), u.clone());
            up[j] += h;
            um[j] -= h;
            let fd =
                (bound.predict(&[up]).unwrap()[0] - bound.predict(&[um]).unwrap()[0]) / (2.0 * h);
            let g = grad[0][j];
            assert!(
                (g - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
                "u {u:?} j {j}: {g} vs {fd}"
            );
        }
    }
    // A batch gives each row its own gradient.
    let (_, g2) = bound
        .predict_with_grad(&[vec![0.2, 0.7], vec![0.61, 0.33]])
        .unwrap();
    let (_, g1) = bound.predict_with_grad(&[vec![0.61, 0.33]]).unwrap();
    assert!((g2[1][0] - g1[0][0]).abs() < 1e-12);
}

#[test]
fn wrong_experiment_or_damaged_checkpoints_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = trained(dir.path(), 0.0, 0.0, "p.safetensors");
    let proxy = Proxy::load(&out).unwrap();
    let ks = proxyland_physics::experiment("ks").unwrap();
    let err = proxy.check_compatible(ks.as_ref()).unwrap_err();
    assert!(matches!(err, Error::Incompatible { .. }));
    assert!(
        err.to_string().contains("burgers") && err.to_string().contains("ks"),
        "{err}"
    );
    let (config, _) = common::pool(dir.path(), "burgers", 48, &tiny);
    assert!(
        proxy
            .check_compatible(config.simulator().unwrap().as_ref())
            .is_ok()
    );
    // The same experiment with another ω range: the network's u would mean other X.
    let narrower = dir.path().join("narrower");
    std::fs::create_dir(&narrower).unwrap();
    let text = proxyland_dataset::testing::replaced(
        &std::fs::read_to_string(&config.path).unwrap(),
        "omega_range = [2.0, 12.0]",
        "omega_range = [2.0, 10.0]",
    );
    std::fs::write(narrower.join("burgers.toml"), text).unwrap();
    let edited = proxyland_dataset::ExperimentConfig::load(&narrower.join("burgers.toml"))
        .unwrap()
        .simulator()
        .unwrap();
    let err = proxy.check_compatible(edited.as_ref()).unwrap_err();
    assert!(
        err.to_string().contains("[2, 12]") && err.to_string().contains("[2, 10]"),
        "{err}"
    );
    let e = proxy
        .predict(&ndarray::Array2::zeros((3, 3)), &[vec![0.5, 0.5]])
        .unwrap_err();
    assert!(e.to_string().contains("expects"), "{e}");
    let e = proxy
        .predict(&target(dir.path()), &[vec![0.5]])
        .unwrap_err();
    assert!(e.to_string().contains("2 finite"), "{e}");

    let bytes = std::fs::read(&out).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = Proxy::load(&cut).unwrap_err().to_string();
    assert!(e.contains("cut.safetensors"), "{e}");
    let e = Proxy::load(&dir.path().join("none.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("none.safetensors"), "{e}");
}

/// Every tensor of a checkpoint, by name, as raw little-endian bytes.
#[test]
fn training_is_reproducible_on_cpu_from_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let a = trained(dir.path(), 0.02, 0.0, "a.safetensors");
    let b = trained(dir.path(), 0.02, 0.0, "b.safetensors");
    // The same seed on the same machine gives bit-identical weights.
    assert_eq!(common::weights(&a), common::weights(&b));
    let y = target(dir.path());
    let us = vec![vec![0.3, 0.3], vec![0.8, 0.6]];
    let pa = Proxy::load(&a).unwrap().predict(&y, &us).unwrap();
    let pb = Proxy::load(&b).unwrap().predict(&y, &us).unwrap();
    assert_eq!(pa, pb);
}

#[test]
fn the_f64_head_matches_libtorch_forward_and_autograd() {
    let dir = tempfile::tempdir().unwrap();
    let out = trained(dir.path(), 0.0, 0.01, "p.safetensors");
    let proxy = Proxy::load(&out).unwrap();
    let y = target(dir.path());
    let us = vec![vec![0.1, 0.9], vec![0.47, 0.52], vec![0.99, 0.01]];
    let (raw, raw_grad) = proxy.torch_forward(&y, &us).unwrap();
    let (z, z_grad) = proxy.bind(&y).unwrap().predict_log_with_grad(&us).unwrap();
    let n = &proxy.meta().normalization;
    for i in 0..us.len() {
        let expected = n.log_loss(raw[i]);
        assert!((z[i] - expected).abs() < 1e-10, "{} vs {expected}", z[i]);
        for j in 0..2 {
            let g = raw_grad[i][j] * n.z_std;
            assert!(
                (z_grad[i][j] - g).abs() < 1e-9 * (1.0 + g.abs()),
                "row {i} coordinate {j}: {} vs {g}",
                z_grad[i][j]
            );
        }
    }
}

#[test]
fn a_periodic_coordinate_gives_an_exactly_periodic_landscape() {
    // Burgers: x_c is periodic, ω reflecting. Integer frequencies and no raw x_c input make the
    // network periodic in u_0 with period 1 (the fold then never changes its value).
    let dir = tempfile::tempdir().unwrap();
    let out = trained(dir.path(), 0.0, 0.0, "p.safetensors");
    let proxy = Proxy::load(&out).unwrap();
    let bound = proxy.bind(&target(dir.path())).unwrap();
    for (a, w) in [(0.0, 0.3), (0.25, 0.8), (0.9, 0.5)] {
        let z = bound
            .predict_log(&[vec![a, w], vec![a + 1.0, w], vec![a - 1.0, w]])
            .unwrap();
        assert!(
            (z[0] - z[1]).abs() < 1e-9 && (z[0] - z[2]).abs() < 1e-9,
            "u0 = {a}: {z:?}"
        );
    }
    // The reflecting coordinate is not periodic: its two faces differ.
    let z = bound
        .predict_log(&[vec![0.3, 0.0], vec![0.3, 1.0]])
        .unwrap();
    assert!((z[0] - z[1]).abs() > 1e-6, "{z:?}");
}

#[test]
fn an_interrupted_training_resumes_to_the_same_weights_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let (config, pool) = common::pool(dir.path(), "burgers", 48, &tiny);
    let opts = TrainOptions {
        noise: 0.02,
        epochs: 5,
        pairs_per_epoch: 512,
        ..TrainOptions::from_profile(&config, "quick", 4).unwrap()
    };
    let whole = dir.path().join("whole.safetensors");
    train(&pool, &config, &opts, &whole, &|_, _, _| {}).unwrap();

    let parts = dir.path().join("parts.safetensors");
    let stopped = TrainOptions {
        stop_after: Some(2),
        ..opts.clone()
    };
    let err = train(&pool, &config, &stopped, &parts, &|_, _, _| {}).unwrap_err();
    assert!(matches!(err, Error::Interrupted { epoch: 2, .. }), "{err}");
    assert!(!parts.exists(), "no final file before the run ends");
    // Starting over without saying what to do with the interrupted state is refused.
    let err = train(&pool, &config, &opts, &parts, &|_, _, _| {}).unwrap_err();
    assert!(err.to_string().contains("interrupted run"), "{err}");
    let resumed = TrainOptions {
        resume: true,
        ..opts.clone()
    };
    // A state drawn under other random streams (an older proxyland's) is not continued.
    let state = dir.path().join("parts.safetensors.resume");
    let bytes = std::fs::read(&state).unwrap();
    // The metadata is JSON inside the header's JSON: its quotes are escaped.
    let now = br#"streams\":2"#;
    let at = bytes
        .windows(now.len())
        .position(|w| w == now)
        .expect("streams recorded");
    let mut older = bytes.clone();
    older[at + now.len() - 1] = b'1';
    std::fs::write(&state, &older).unwrap();
    let err = train(&pool, &config, &resumed, &parts, &|_, _, _| {}).unwrap_err();
    assert!(err.to_string().contains("streams"), "{err}");
    std::fs::write(&state, &bytes).unwrap();
    let meta = train(&pool, &config, &resumed, &parts, &|_, _, _| {}).unwrap();
    assert_eq!(meta.training.history.len(), 5);
    // Weights, moments and schedule all resumed: bit-identical to the uninterrupted run.
    assert_eq!(common::weights(&whole), common::weights(&parts));
    // An existing checkpoint is not replaced unless asked.
    let err = train(&pool, &config, &opts, &whole, &|_, _, _| {}).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
}

#[test]
fn a_run_interrupted_just_after_early_stopping_resumes_to_the_same_end() {
    let dir = tempfile::tempdir().unwrap();
    // Patience 1: the run stops at the first epoch in which neither validation metric improves.
    let impatient =
        |s: String| proxyland_dataset::testing::replaced(&tiny(s), "patience = 8", "patience = 1");
    let (config, pool) = common::pool(dir.path(), "burgers", 48, &impatient);
    let opts = TrainOptions {
        epochs: 12,
        pairs_per_epoch: 512,
        ..TrainOptions::from_profile(&config, "quick", 5).unwrap()
    };
    let whole = dir.path().join("whole.safetensors");
    let ran = train(&pool, &config, &opts, &whole, &|_, _, _| {})
        .unwrap()
        .training
        .history
        .len();
    assert!(
        ran < opts.epochs,
        "the premise: early stopping ends the run ({ran} epochs)"
    );
    // Killed right after the epoch that exhausted the patience: the resumed run must end there
    // too, not train one more epoch.
    let parts = dir.path().join("parts.safetensors");
    let stopped = TrainOptions {
        stop_after: Some(ran),
        ..opts.clone()
    };
    assert!(train(&pool, &config, &stopped, &parts, &|_, _, _| {}).is_err());
    let resumed = TrainOptions {
        resume: true,
        ..opts.clone()
    };
    let meta = train(&pool, &config, &resumed, &parts, &|_, _, _| {}).unwrap();
    assert_eq!(meta.training.history.len(), ran);
    assert_eq!(common::weights(&whole), common::weights(&parts));
}

/// The largest singular value of a stored matrix, √λ_max(WᵀW) by libtorch's eigensolver.
fn spectral_norm_of(path: &Path, name: &str) -> f64 {
    let tensors = tch::Tensor::read_safetensors(path).unwrap();
    let w = &tensors.iter().find(|(n, _)| n == name).unwrap().1;
    let w = w.to_kind(tch::Kind::Double);
    w.tr()
        .mm(&w)
        .linalg_eigvalsh("L")
        .max()
        .double_value(&[])
        .sqrt()
}

#[test]
fn a_proxy_trained_with_every_regularizer_records_them_resumes_to_the_same_weights_and_bounds_its_head()
 {
    let dir = tempfile::tempdir().unwrap();
    let (config, pool) = common::pool(dir.path(), "burgers", 48, &tiny);
    let regularizers = Regularizers {
        dropout: 0.2,
        weight_decay: 1e-3,
        spectral_norm: true,
    };
    let opts = TrainOptions {
        noise: 0.02,
        regularizers,
        epochs: 4,
        pairs_per_epoch: 2048,
        ..TrainOptions::from_profile(&config, "quick", 6).unwrap()
    };
    let whole = dir.path().join("whole.safetensors");
    let meta = train(&pool, &config, &opts, &whole, &|_, _, _| {}).unwrap();
    assert_eq!(meta.regularizers, regularizers);
    assert_eq!(
        Proxy::load(&whole).unwrap().meta().regularizers,
        regularizers
    );
    // Every head layer's spectral norm is bounded by 1; the encoder's are not constrained.
    let layers: Vec<String> = config
        .proxy
        .hidden
        .iter()
        .enumerate()
        .map(|(i, _)| format!("head.fc{i}.weight"))
        .chain(["head.out.weight".to_string()])
        .collect();
    for name in &layers {
        let sigma = spectral_norm_of(&whole, name);
        assert!(sigma <= 1.0 + 1e-3, "{name}: {sigma}");
    }
    // Interrupted and resumed (dropout masks, decay and power-iteration vectors included):
    // bit-identical to the uninterrupted run.
    let parts = dir.path().join("parts.safetensors");
    let stopped = TrainOptions {
        stop_after: Some(2),
        ..opts.clone()
    };
    assert!(train(&pool, &config, &stopped, &parts, &|_, _, _| {}).is_err());
    // Resuming with other regularizers would mix two runs: refused, naming them.
    let changed = TrainOptions {
        resume: true,
        regularizers: Regularizers {
            dropout: 0.1,
            ..regularizers
        },
        ..opts.clone()
    };
    let err = train(&pool, &config, &changed, &parts, &|_, _, _| {}).unwrap_err();
    assert!(err.to_string().contains("regularizers"), "{err}");
    let resumed = TrainOptions {
        resume: true,
        ..opts.clone()
    };
    train(&pool, &config, &resumed, &parts, &|_, _, _| {}).unwrap();
    assert_eq!(common::weights(&whole), common::weights(&parts));
}
