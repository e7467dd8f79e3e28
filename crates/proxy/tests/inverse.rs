//! The inverse network (Y* → X): it learns the pool's map, its file reproduces its own numbers,
//! and physics training descends the physics loss, counts every simulator call and keeps the
//! epoch its validation score names.

mod common;

use common::{no_edit, pool, weights};
use openblas_src as _;
use proxyland_physics::Simulator;
use proxyland_proxy::{
    Adaptation, Error, InverseModel, InverseOptions, InverseVariant, PhysicsSelection, TrainSpec,
    train_inverse,
};

/// The median the files record: the upper one (an order statistic, `stats::upper_median`).
fn median(v: Vec<f64>) -> f64 {
    proxyland_optim::stats::upper_median(v).expect("some values")
}

#[test]
fn a_supervised_inverse_network_predicts_held_out_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let (config, pool) = pool(dir.path(), "ks-m4", 768, &no_edit);
    let sim = config.simulator().unwrap();
    let space = sim.param_space();
    let spec = TrainSpec::from_config(&config).unwrap();
    let out = dir.path().join("inverse.safetensors");
    let opts = InverseOptions {
        epochs: 60,
        ..InverseOptions::new(InverseVariant::Supervised, 1)
    };
    let meta = train_inverse(&pool, &spec, None, None, &opts, &out, &|_, _, _| {}).unwrap();
    assert_eq!(meta.training.physics_sim_calls, 0);

    // The error of its predictions on the validation targets, computed here from the file.
    let net = InverseModel::load(&out).unwrap();
    let ys: Vec<_> = (0..pool.validation_params.nrows())
        .map(|i| {
            pool.validation_trajectories
                .index_axis(ndarray::Axis(0), i)
                .to_owned()
        })
        .collect();
    let u = net.predict(&ys).unwrap();
    let worst = |i: usize, x: &[f64]| {
        space
            .normalized_distance(x, &pool.validation_params.row(i).to_vec())
            .into_iter()
            .fold(0.0, f64::max)
    };
    let err = median(
        u.iter()
            .enumerate()
            .map(|(i, u)| worst(i, &space.from_unit(u)))
            .collect(),
    );
    // Saving and loading lose nothing the metric can see (f32 weights either way).
    assert!(
        (err - meta.training.validation_error).abs() < 1e-6,
        "{err} vs {}",
        meta.training.validation_error
    );
    // Against the best constant answer a network could give without looking at Y*.
    let centre = space.from_unit(&[0.5; 4]);
    let baseline = median((0..ys.len()).map(|i| worst(i, &centre)).collect());
    assert!(
        err < 0.5 * baseline,
        "network {err} vs box centre {baseline}"
    );

    // Bad uses are refused with the reason.
    assert!(net.check_compatible(sim.as_ref()).is_ok());
    let ks_m8 = proxyland_physics::experiment("ks-m8").unwrap();
    let wrong = net
        .check_compatible(ks_m8.as_ref())
        .unwrap_err()
        .to_string();
    assert!(wrong.contains("ks-m4"), "{wrong}");
    assert!(net.predict(&[ndarray::Array2::zeros((3, 3))]).is_err());
    let again = train_inverse(&pool, &spec, None, None, &opts, &out, &|_, _, _| {});
    assert!(again.unwrap_err().to_string().contains("already exists"));
}

#[test]
fn physics_training_descends_the_physics_loss_and_keeps_its_best_validation_epoch() {
    let dir = tempfile::tempdir().unwrap();
    // Burgers near its truth is smooth: descent must show there (chaotic KS need not oblige).
    let (config, pool) = pool(dir.path(), "burgers-k1", 256, &no_edit);
    let sim = config.simulator().unwrap();
    let spec = TrainSpec::from_config(&config).unwrap();
    let supervised = dir.path().join("supervised.safetensors");
    let base = train_inverse(
        &pool,
        &spec,
        None,
        None,
        &InverseOptions {
            epochs: 10,
            ..InverseOptions::new(InverseVariant::Supervised, 2)
        },
        &supervised,
        &|_, _, _| {},
    )
    .unwrap();
    // Training on 16 trajectories, one batch, in small steps: with the simulator's gradient
    // fed back with the right sign, the physics loss of that batch must fall.
    let opts = InverseOptions {
        physics_samples: 16,
        physics_batch: 16,
        physics_epochs: 8,
        physics_patience: 8,
        physics_learning_rate: 0.01,
        ..InverseOptions::new(InverseVariant::Physics, 2)
    };
    let out = dir.path().join("physics.safetensors");
    let fine = train_inverse(
        &pool,
        &spec,
        Some(sim.as_ref() as &dyn Simulator),
        Some(&supervised),
        &opts,
        &out,
        &|_, _, _| {},
    )
    .unwrap();
    let t = &fine.training;
    assert_eq!(
        t.physics_sim_calls,
        16 * 8,
        "one call per trajectory and epoch"
    );
    assert_eq!(t.physics.len(), 9, "epoch 0 (the start) and 8 epochs");
    let validation = pool.validation_params.nrows();
    assert_eq!(
        t.validation_sim_calls,
        9 * validation,
        "one value call per validation target and scoring"
    );
    assert_eq!(t.sim_calls(), 16 * 8 + 9 * validation);
    let losses: Vec<f64> = t.physics[1..]
        .iter()
        .map(|e| e.train_loss.unwrap())
        .collect();
    assert!(
        losses[7] < 0.95 * losses[0],
        "the physics loss did not fall: {losses:?}"
    );
    // The file holds the epoch with the lowest validation physics loss, the start included...
    assert_eq!(t.selection, Some(PhysicsSelection::PhysicsLoss));
    let scores: Vec<f64> = t
        .physics
        .iter()
        .map(|e| e.validation_loss.unwrap())
        .collect();
    let best = (0..scores.len())
        .min_by(|&a, &b| scores[a].total_cmp(&scores[b]))
        .unwrap();
    assert_eq!(t.kept_physics_epoch(), Some(best), "{}", t.chosen);
    assert_eq!(t.validation_error, t.physics[best].validation_error);
    // ...and that loss is what its predictions score on the simulator, recomputed here.
    let net = InverseModel::load(&out).unwrap();
    let ys: Vec<_> = (0..validation)
        .map(|i| {
            pool.validation_trajectories
                .index_axis(ndarray::Axis(0), i)
                .to_owned()
        })
        .collect();
    let losses: Vec<f64> = net
        .predict(&ys)
        .unwrap()
        .iter()
        .zip(&ys)
        .map(|(u, y)| sim.loss(&sim.param_space().from_unit(u), y).unwrap())
        .collect();
    let recomputed = median(losses);
    assert!(
        (recomputed - scores[best]).abs() <= 1e-9 * scores[best].max(1e-300),
        "{recomputed} vs {}",
        scores[best]
    );
    assert!(
        t.seconds >= base.training.seconds,
        "one-off cost includes the supervised stage"
    );

    // The physics variant needs its starting network, and a supervised one.
    let no_from = train_inverse(
        &pool,
        &spec,
        Some(sim.as_ref() as &dyn Simulator),
        None,
        &opts,
        &dir.path().join("x.safetensors"),
        &|_, _, _| {},
    );
    assert!(no_from.unwrap_err().to_string().contains("--from"));
    let from_physics = train_inverse(
        &pool,
        &spec,
        Some(sim.as_ref() as &dyn Simulator),
        Some(&out),
        &opts,
        &dir.path().join("y.safetensors"),
        &|_, _, _| {},
    );
    assert!(from_physics.is_err());
    // Test-time training on 8 validation observations: each keeps the best prediction it saw,
    // the unadapted one among them, so no loss rises; the loss it reports is the simulator's
    // for the prediction it returns; with steps at the supervised learning rate some fall; and
    // the loaded network itself is left as it was.
    let base_net = InverseModel::load(&supervised).unwrap();
    let observed: Vec<_> = ys[..8].to_vec();
    let before = base_net.predict(&observed).unwrap();
    let adapted = base_net
        .adapt(
            sim.as_ref(),
            &observed,
            Adaptation {
                epochs: 12,
                learning_rate: 1.0,
            },
        )
        .unwrap();
    assert_eq!(adapted.calls_per_observation, 12);
    let space = sim.param_space();
    let mut fell = 0;
    for (i, y) in observed.iter().enumerate() {
        let start = sim.loss(&space.from_unit(&before[i]), y).unwrap();
        let kept = sim.loss(&space.from_unit(&adapted.u[i]), y).unwrap();
        assert!(
            (kept - adapted.loss[i]).abs() <= 1e-6 * kept.max(1e-12),
            "{kept} vs {}",
            adapted.loss[i]
        );
        assert!(
            kept <= start * (1.0 + 1e-6),
            "observation {i}: {start} rose to {kept}"
        );
        fell += usize::from(kept < 0.9 * start);
    }
    assert!(fell > 0, "test-time training lowered no observation's loss");
    assert_eq!(base_net.predict(&observed).unwrap(), before);
    let wrong_shape = [ndarray::Array2::zeros((2, 2))];
    assert!(
        base_net
            .adapt(
                sim.as_ref(),
                &wrong_shape,
                Adaptation {
                    epochs: 1,
                    learning_rate: 1.0
                }
            )
            .is_err()
    );

    // Chosen on parameter error instead (the earlier protocol), with patience: training stops
    // `patience` epochs after its best one, and keeps that one.
    let by_error = InverseOptions {
        physics_epochs: 12,
        physics_patience: 2,
        physics_selection: PhysicsSelection::ParameterError,
        ..opts.clone()
    };
    let t = train_inverse(
        &pool,
        &spec,
        Some(sim.as_ref() as &dyn Simulator),
        Some(&supervised),
        &by_error,
        &dir.path().join("by-error.safetensors"),
        &|_, _, _| {},
    )
    .unwrap()
    .training;
    let errors: Vec<f64> = t.physics.iter().map(|e| e.validation_error).collect();
    let best = (0..errors.len())
        .min_by(|&a, &b| errors[a].total_cmp(&errors[b]))
        .unwrap();
    assert_eq!(t.validation_error, errors[best]);
    assert_eq!(
        t.validation_sim_calls, 0,
        "scoring on parameter error needs no simulation"
    );
    if t.physics.len() < 13 {
        assert_eq!(
            t.physics.len() - 1 - best,
            2,
            "stopped 2 epochs after the best"
        );
    }
    // A proxy checkpoint reader names an inverse network for what it is.
    let e = proxyland_proxy::Proxy::load(&out).unwrap_err().to_string();
    assert!(e.contains("proxyland-inverse"), "{e}");
}

#[test]
fn an_interrupted_inverse_training_resumes_to_the_same_network_in_both_stages() {
    let dir = tempfile::tempdir().unwrap();
    let (config, pool) = pool(dir.path(), "burgers-k1", 96, &no_edit);
    let sim = config.simulator().unwrap();
    let sim = Some(sim.as_ref() as &dyn Simulator);
    let spec = TrainSpec::from_config(&config).unwrap();
    let quiet = |_: &str, _: usize, _: &proxyland_proxy::InverseEpoch| {};
    let path = |name: &str| dir.path().join(name);

    // Supervised: 5 epochs at once, and 2 + 3 with a kill in between.
    let supervised = InverseOptions {
        epochs: 5,
        patience: 50,
        batch_size: 32,
        ..InverseOptions::new(InverseVariant::Supervised, 3)
    };
    let whole = train_inverse(
        &pool,
        &spec,
        None,
        None,
        &supervised,
        &path("s-whole"),
        &quiet,
    )
    .unwrap();
    let stopped = InverseOptions {
        stop_after: Some(2),
        ..supervised.clone()
    };
    let err =
        train_inverse(&pool, &spec, None, None, &stopped, &path("s-parts"), &quiet).unwrap_err();
    assert!(matches!(err, Error::Interrupted { epoch: 2, .. }), "{err}");
    assert!(
        !path("s-parts").exists(),
        "no final file before the run ends"
    );
    // Starting over without saying what to do with the interrupted state is refused.
    let err = train_inverse(
        &pool,
        &spec,
        None,
        None,
        &supervised,
        &path("s-parts"),
        &quiet,
    )
    .unwrap_err();
    assert!(err.to_string().contains("interrupted run"), "{err}");
    let resumed = InverseOptions {
        resume: true,
        ..supervised.clone()
    };
    let parts =
        train_inverse(&pool, &spec, None, None, &resumed, &path("s-parts"), &quiet).unwrap();
    assert_eq!(parts.training.supervised.len(), 5);
    assert_eq!(parts.training.supervised, whole.training.supervised);
    assert_eq!(parts.training.chosen, whole.training.chosen);
    assert_eq!(weights(&path("s-whole")), weights(&path("s-parts")));
    assert!(
        !path("s-parts.resume").exists(),
        "the resume state is cleaned up"
    );

    // Physics: 4 epochs at once, and 1 + 3, from the same supervised network.
    let physics = InverseOptions {
        physics_samples: 8,
        physics_batch: 4,
        physics_epochs: 4,
        physics_patience: 50,
        ..InverseOptions::new(InverseVariant::Physics, 3)
    };
    let from = Some(path("s-whole"));
    let from = from.as_deref();
    let whole = train_inverse(&pool, &spec, sim, from, &physics, &path("p-whole"), &quiet).unwrap();
    let stopped = InverseOptions {
        stop_after: Some(1),
        ..physics.clone()
    };
    let err =
        train_inverse(&pool, &spec, sim, from, &stopped, &path("p-parts"), &quiet).unwrap_err();
    assert!(matches!(err, Error::Interrupted { epoch: 1, .. }), "{err}");
    // A resume with another schedule would mix two runs: refused, naming the file.
    let other = InverseOptions {
        resume: true,
        physics_learning_rate: 0.5,
        ..physics.clone()
    };
    let err = train_inverse(&pool, &spec, sim, from, &other, &path("p-parts"), &quiet).unwrap_err();
    assert!(err.to_string().contains("p-parts.resume"), "{err}");
    let resumed = InverseOptions {
        resume: true,
        ..physics.clone()
    };
    let parts = train_inverse(&pool, &spec, sim, from, &resumed, &path("p-parts"), &quiet).unwrap();
    let (t, w) = (&parts.training, &whole.training);
    assert_eq!(t.physics.len(), 5, "the start and 4 epochs");
    assert_eq!(t.physics, w.physics);
    assert_eq!(
        (t.chosen.as_str(), t.validation_error),
        (w.chosen.as_str(), w.validation_error)
    );
    // Every call is counted once: the interrupted epoch's calls are not lost or doubled.
    assert_eq!(
        (t.physics_sim_calls, t.validation_sim_calls),
        (w.physics_sim_calls, w.validation_sim_calls)
    );
    assert_eq!(weights(&path("p-whole")), weights(&path("p-parts")));
}
