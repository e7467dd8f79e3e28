//! Configs, generation, the file format and training pairs, as a user relies on them.

use proxyland_dataset::{
    Error, ExperimentConfig, GenerateOptions, PairSampler, Pool, Split, Storage, TrajectoryFile,
    generate, merge, partial_path, sample_params, status,
};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shipped Burgers config, shrunk so a pool takes milliseconds.
fn tiny_burgers(dir: &Path) -> ExperimentConfig {
    let text = proxyland_dataset::testing::shrunk_config_text(
        "burgers",
        &proxyland_dataset::testing::TINY_BURGERS,
    );
    let path = dir.join("tiny.toml");
    std::fs::write(&path, &text).unwrap();
    ExperimentConfig::load(&path).unwrap()
}

fn opts(samples: usize) -> GenerateOptions {
    GenerateOptions {
        batch: Some(4),
        ..GenerateOptions::new(samples, 3, 42)
    }
}

fn quiet(_: usize, _: usize) {}

#[test]
fn every_shipped_config_parses_and_matches_the_spec_simulator() {
    let all = proxyland_physics::EXPERIMENTS
        .iter()
        .chain(&proxyland_physics::SCALING_EXPERIMENTS);
    for &name in all {
        let path = repo().join(format!("datasets/{name}.toml"));
        let config = ExperimentConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.experiment, name);
        let from_config = config.simulator().unwrap();
        let spec = proxyland_physics::experiment(name).unwrap();
        assert_eq!(from_config.param_space(), spec.param_space(), "{name}");
        let x = spec
            .param_space()
            .from_unit(&vec![0.37; spec.param_space().dim()]);
        assert_eq!(
            from_config.simulate(&x).unwrap(),
            spec.simulate(&x).unwrap(),
            "{name}"
        );
        assert!(config.profile("quick").is_ok() && config.profile("paper").is_ok());
        if proxyland_physics::SCALING_EXPERIMENTS.contains(&name) {
            // docs/spec.md's scaling profile: the same sizes at every d.
            let p = config.profile("scaling").unwrap();
            assert_eq!(
                (p.samples, p.targets, p.validation_targets),
                (4096, 30, 30),
                "{name}"
            );
        }
    }
}

/// A pool stores its config without the study plans, so that editing what xtask runs never
/// makes a pool or its checkpoints stale, while a change to the physics still does.
#[test]
fn a_pool_keeps_its_config_without_the_plans() {
    for entry in std::fs::read_dir(repo().join("datasets")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let config = ExperimentConfig::parse(&path, &text).unwrap();
        let data = config.data_text();
        assert!(
            !data.contains("reproduce]")
                && !data.contains("[ablation]")
                && !data.contains("[refine]"),
            "{}: a plan was kept",
            path.display()
        );
        if text.contains(".reproduce]") {
            assert!(data.len() < text.len(), "{}", path.display());
            // Every setting but the plans survives the cut: the cut parses to the same pool.
            let again = ExperimentConfig::parse(&path, &data).unwrap();
            assert_eq!(again.physics, config.physics, "{}", path.display());
            assert_eq!(again.proxy, config.proxy);
            assert!(again.profiles.values().all(|p| p.reproduce.is_none()));
        }
        let seeds = text.replacen("seeds = ", "seeds = 1", 1);
        if seeds != text {
            let edited = ExperimentConfig::parse(&path, &seeds).unwrap();
            assert_eq!(
                edited.data_text(),
                data,
                "a plan edit moved {}",
                path.display()
            );
        }
        let physics = text.replacen("[physics]", "[physics]\n# edited", 1);
        let edited = ExperimentConfig::parse(&path, &physics).unwrap();
        assert_ne!(edited.data_text(), data, "{}", path.display());
    }
}

#[test]
fn a_family_member_must_be_the_one_its_settings_make() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(repo().join("datasets/burgers-k4.toml")).unwrap();
    for (edit, needle) in [
        (base.replace("sources = 4", "sources = 2"), "burgers-k2"),
        (base.replace("sources = 4\n", ""), "make `burgers`"),
        (base.replace("sources = 4", "sources = 0"), "sources"),
    ] {
        let path = dir.path().join("member.toml");
        std::fs::write(&path, edit).unwrap();
        let e = ExperimentConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains("member.toml") && e.contains(needle), "{e}");
    }
}

#[test]
fn config_errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(repo().join("datasets/burgers.toml")).unwrap();
    let cases = [
        (
            base.replace("viscosity = 0.05", "viscosity = 0.05\nvisocsity = 1.0"),
            "visocsity",
        ),
        (base.replace("dt = 0.01\n", ""), "missing field `dt`"),
        (base.replace("n = 128", "n = 127"), "even"),
        (base.replace("dt = 0.01", "dt = -0.01"), "positive"),
        (
            base.replace("omega_range = [2.0, 12.0]", "omega_range = [12.0, 2.0]"),
            "lo < hi",
        ),
        (
            base.replace("[profile.paper]", "[profile.other]"),
            "profile.paper",
        ),
        (
            base.replace("spec_version = 2", "spec_version = 9"),
            "spec_version",
        ),
        ("experiment = \"burgers\"\n[[[".to_string(), "TOML"),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let err = ExperimentConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains(&format!("case{i}.toml")), "case {i}: {err}");
        assert!(
            err.to_lowercase().contains(&needle.to_lowercase()),
            "case {i}: {err}"
        );
    }
    let err = ExperimentConfig::load(&dir.path().join("absent.toml")).unwrap_err();
    assert!(err.to_string().contains("absent.toml"), "{err}");
}

fn data_of(
    path: &Path,
) -> (
    ndarray::Array2<f64>,
    ndarray::Array3<f64>,
    ndarray::Array3<f64>,
) {
    let pool = Pool::open(path).unwrap();
    (pool.params, pool.trajectories, pool.target_trajectories)
}

#[test]
fn data_is_bit_identical_for_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_burgers(dir.path());
    let run = |threads: usize, name: &str| {
        let out = dir.path().join(name);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| generate(&config, &out, &opts(24), &quiet))
            .unwrap();
        data_of(&out)
    };
    assert_eq!(run(1, "one.h5"), run(2, "two.h5"));
}

#[test]
fn an_interrupted_run_resumes_to_the_same_data_and_never_leaves_a_final_file_early() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_burgers(dir.path());
    let full = dir.path().join("full.h5");
    generate(&config, &full, &opts(20), &quiet).unwrap();

    let out = dir.path().join("resumed.h5");
    let stop = GenerateOptions {
        stop_after: Some(8),
        ..opts(20)
    };
    let err = generate(&config, &out, &stop, &quiet).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Interrupted {
                done: 8,
                total: 20,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        !out.exists(),
        "an unfinished pool must not appear under the final name"
    );
    assert!(partial_path(&out).exists());
    let partial = Pool::open(&partial_path(&out)).unwrap();
    assert_eq!(partial.valid().len(), 8, "completed batches are on disk");

    let again = generate(&config, &out, &opts(20), &quiet).unwrap_err();
    assert!(again.to_string().contains("--resume"), "{again}");

    let resume = GenerateOptions {
        resume: true,
        ..opts(20)
    };
    let report = generate(&config, &out, &resume, &quiet).unwrap();
    assert_eq!(report.simulated, 12);
    assert!(!partial_path(&out).exists());
    assert_eq!(data_of(&out), data_of(&full));

    let exists = generate(&config, &out, &opts(20), &quiet).unwrap_err();
    assert!(exists.to_string().contains("already exists"), "{exists}");
}

#[test]
fn shards_merge_into_the_same_pool_and_mismatches_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_burgers(dir.path());
    let full = dir.path().join("full.h5");
    generate(&config, &full, &opts(21), &quiet).unwrap();
    let shards: Vec<PathBuf> = (0..3)
        .map(|i| {
            let p = dir.path().join(format!("shard{i}.h5"));
            let o = GenerateOptions {
                shard: Some((i, 3)),
                ..opts(21)
            };
            generate(&config, &p, &o, &quiet).unwrap();
            p
        })
        .collect();
    let merged = dir.path().join("merged.h5");
    // Any order of inputs.
    merge(
        &[shards[2].clone(), shards[0].clone(), shards[1].clone()],
        &merged,
    )
    .unwrap();
    assert_eq!(data_of(&merged), data_of(&full));

    let gap = merge(
        &[shards[0].clone(), shards[2].clone()],
        &dir.path().join("gap.h5"),
    );
    assert!(gap.unwrap_err().to_string().contains("index_start"));
    let other_seed = dir.path().join("other.h5");
    let o = GenerateOptions {
        shard: Some((1, 3)),
        ..GenerateOptions {
            seed: 7,
            ..opts(21)
        }
    };
    generate(&config, &other_seed, &o, &quiet).unwrap();
    let err = merge(&[shards[0].clone(), other_seed], &dir.path().join("bad.h5")).unwrap_err();
    assert!(err.to_string().contains("same run"), "{err}");
}

/// Whether a pool file's trajectories are stored compressed (chunked, shuffle + deflate).
fn is_compressed(path: &Path) -> bool {
    let ds = hdf5::File::open(path)
        .unwrap()
        .dataset("trajectories")
        .unwrap();
    let filters = ds.filters();
    assert_eq!(ds.is_chunked(), !filters.is_empty(), "{filters:?}");
    ds.is_chunked()
}

#[test]
fn both_storages_hold_the_same_numbers_and_resume_and_merge_keep_the_storage() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_burgers(dir.path());
    // The reference: plain storage, batches sized by time (the default), so the pipeline runs
    // with batches of its own choosing.
    let plain = dir.path().join("plain.h5");
    let auto = GenerateOptions::new(20, 3, 42);
    assert_eq!((auto.batch, auto.storage), (None, Storage::Plain));
    generate(&config, &plain, &auto, &quiet).unwrap();
    assert!(!is_compressed(&plain));

    // Chunks compressed by hand in the workers read back through HDF5's own filters unchanged.
    let compressed_opts = GenerateOptions {
        storage: Storage::Compressed,
        ..opts(20)
    };
    let compressed = dir.path().join("compressed.h5");
    generate(&config, &compressed, &compressed_opts, &quiet).unwrap();
    assert!(is_compressed(&compressed));
    assert_eq!(data_of(&compressed), data_of(&plain));

    // A compressed run interrupted and resumed with default options stays compressed.
    let resumed = dir.path().join("resumed.h5");
    let stop = GenerateOptions {
        stop_after: Some(8),
        ..compressed_opts.clone()
    };
    assert!(generate(&config, &resumed, &stop, &quiet).is_err());
    let resume = GenerateOptions {
        resume: true,
        ..opts(20)
    };
    assert_eq!(resume.storage, Storage::Plain);
    generate(&config, &resumed, &resume, &quiet).unwrap();
    assert!(is_compressed(&resumed));
    assert_eq!(data_of(&resumed), data_of(&plain));

    // Merged shards keep the shards' storage.
    let shards: Vec<PathBuf> = (0..2)
        .map(|i| {
            let p = dir.path().join(format!("shard{i}.h5"));
            let o = GenerateOptions {
                shard: Some((i, 2)),
                ..compressed_opts.clone()
            };
            generate(&config, &p, &o, &quiet).unwrap();
            p
        })
        .collect();
    let merged = dir.path().join("merged.h5");
    merge(&shards, &merged).unwrap();
    assert!(is_compressed(&merged));
    assert_eq!(data_of(&merged), data_of(&plain));
}

#[test]
fn batches_sized_by_time_write_the_same_pool_as_fixed_batches() {
    // 300 cheap samples: a first batch of 64 per thread, then batches capped at an eighth of the
    // run, so the reused block is written several times, the last time only in part.
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_burgers(dir.path());
    let timed = dir.path().join("timed.h5");
    generate(&config, &timed, &GenerateOptions::new(300, 3, 42), &quiet).unwrap();
    let fixed = dir.path().join("fixed.h5");
    let fixed_opts = GenerateOptions {
        batch: Some(7),
        storage: Storage::Compressed,
        ..opts(300)
    };
    let report = generate(&config, &fixed, &fixed_opts, &quiet).unwrap();
    assert_eq!((report.simulated, report.failed), (300, 0));
    assert_eq!(data_of(&timed), data_of(&fixed));
    assert_eq!(Pool::open(&timed).unwrap().valid().len(), 300);
}

#[test]
fn samples_that_fail_are_zero_rows_marked_failed_and_the_rest_are_the_simulators() {
    // billiards4d with an object ball inside the cue's box: some cue starts overlap it and the
    // simulator refuses them. Which ones is decided by the simulator alone, called here directly.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("datasets/billiards4d.toml"))
        .unwrap()
        .replace(
            "objects = [[0.6, 0.5], [0.75, 0.62]]",
            "objects = [[0.2, 0.5], [0.75, 0.62]]",
        );
    let path = dir.path().join("overlap.toml");
    std::fs::write(&path, &text).unwrap();
    let config = ExperimentConfig::load(&path).unwrap();
    let sim = config.simulator().unwrap();
    let samples = 120;
    let expected: Vec<Option<ndarray::Array2<f64>>> = (0..samples as u64)
        .map(|i| sim.simulate(&sample_params(sim.as_ref(), 42, i)).ok())
        .collect();
    let failing = expected.iter().filter(|y| y.is_none()).count();
    assert!(
        failing > 5 && failing < samples / 2,
        "{failing} failing draws"
    );

    for storage in [Storage::Plain, Storage::Compressed] {
        let out = dir.path().join(format!("{storage:?}.h5"));
        let opts = GenerateOptions {
            storage,
            validation_targets: 0,
            ..GenerateOptions::new(samples, 0, 42)
        };
        let report = generate(&config, &out, &opts, &quiet).unwrap();
        assert_eq!((report.simulated, report.failed), (samples, failing));
        let pool = Pool::open(&out).unwrap();
        for (i, y) in expected.iter().enumerate() {
            let row = pool.trajectories.index_axis(ndarray::Axis(0), i);
            match y {
                Some(y) => {
                    assert_eq!(pool.status[i], status::DONE, "{storage:?} sample {i}");
                    assert_eq!(row, y.view(), "{storage:?} sample {i}");
                }
                None => {
                    assert_eq!(pool.status[i], status::FAILED, "{storage:?} sample {i}");
                    assert!(row.iter().all(|&v| v == 0.0), "{storage:?} sample {i}");
                }
            }
        }
        assert_eq!(pool.valid().len(), samples - failing);
    }
}

#[test]
fn pair_labels_equal_the_simulators_configuration_loss() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_burgers(dir.path());
    let out = dir.path().join("pool.h5");
    generate(&config, &out, &opts(16), &quiet).unwrap();
    let pool = Pool::open(&out).unwrap();
    let sim = config.simulator().unwrap();
    let sampler = PairSampler::new(&pool, 0.25, 5).unwrap();
    let batch = sampler.batch(Split::Train, 0, 32);
    for b in 0..32 {
        let target = batch
            .targets
            .index_axis(ndarray::Axis(0), batch.target_of[b])
            .to_owned();
        let x = sim.param_space().from_unit(&batch.u.row(b).to_vec());
        let direct = sim.loss(&x, &target).unwrap();
        assert!(
            (direct - batch.loss[b]).abs() <= 1e-12 * direct.max(1e-12),
            "{direct} vs {}",
            batch.loss[b]
        );
    }
    // Seeded: the same draw gives the same batch, another draw another one.
    assert_eq!(sampler.batch(Split::Train, 0, 32).loss, batch.loss);
    assert_ne!(sampler.batch(Split::Train, 1, 32).loss, batch.loss);
    // Validation targets never appear as training targets.
    let train = sampler.grouped_batch(Split::Train, 2, 256, 64);
    let val = sampler.grouped_batch(Split::Validation, 0, 256, 64);
    for v in val.targets.outer_iter() {
        assert!(train.targets.outer_iter().all(|t| t != v));
    }
}

#[test]
fn near_pairs_take_the_set_share_of_candidates_from_each_targets_nearest_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_burgers(dir.path());
    let out = dir.path().join("pool.h5");
    generate(&config, &out, &opts(64), &quiet).unwrap();
    let pool = Pool::open(&out).unwrap();
    let k = 6;
    let sampler = PairSampler::new(&pool, 0.1, 5)
        .unwrap()
        .with_near_pairs(0.5, k);
    assert_eq!(sampler.near_share(), 0.5);
    // Brute force, independently of the sampler's blocked Gram-matrix search: each target's k
    // nearest pool samples by mean squared trajectory difference (the pair label).
    let labels = |t: usize| -> Vec<(f64, usize)> {
        let yt = pool.trajectories.index_axis(ndarray::Axis(0), t);
        let mut l: Vec<(f64, usize)> = pool
            .valid()
            .into_iter()
            .map(|c| {
                let yc = pool.trajectories.index_axis(ndarray::Axis(0), c);
                let d = yt
                    .iter()
                    .zip(yc.iter())
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>();
                (d / yt.len() as f64, c)
            })
            .collect();
        l.sort_by(|a, b| a.0.total_cmp(&b.0));
        l
    };
    let batch = sampler.grouped_batch(Split::Train, 3, 240, 12);
    let mut near = 0;
    for b in 0..240 {
        let target_row = batch.target_of[b];
        let yt = batch.targets.index_axis(ndarray::Axis(0), target_row);
        let t = (0..pool.header.len())
            .find(|&i| pool.trajectories.index_axis(ndarray::Axis(0), i) == yt)
            .unwrap();
        let ranked = labels(t);
        let kth = ranked[k - 1].0;
        assert_eq!(
            sampler.near_candidates(t),
            ranked[..k].iter().map(|(_, c)| *c).collect::<Vec<_>>(),
            "target {t}"
        );
        if batch.loss[b] <= kth * (1.0 + 1e-12) {
            near += 1;
        }
    }
    // Half the pairs are near by construction; a uniform candidate lands among the 6 nearest of
    // 64 with probability ~0.1, so the count is 120 plus a few.
    assert!((120..=140).contains(&near), "{near} near pairs of 240");
    let uniform = PairSampler::new(&pool, 0.1, 5)
        .unwrap()
        .grouped_batch(Split::Train, 3, 240, 12);
    let uniform_near = (0..240)
        .filter(|&b| {
            let yt = uniform
                .targets
                .index_axis(ndarray::Axis(0), uniform.target_of[b]);
            let t = (0..pool.header.len())
                .find(|&i| pool.trajectories.index_axis(ndarray::Axis(0), i) == yt)
                .unwrap();
            uniform.loss[b] <= labels(t)[k - 1].0 * (1.0 + 1e-12)
        })
        .count();
    assert!(
        uniform_near < 60,
        "{uniform_near} near pairs without near sampling"
    );
}

#[test]
fn the_fixed_target_experiment_pairs_every_candidate_with_the_global_minimum() {
    let dir = tempfile::tempdir().unwrap();
    let config = ExperimentConfig::load(&repo().join("datasets/gramacy-lee.toml")).unwrap();
    let out = dir.path().join("e0.h5");
    generate(&config, &out, &opts(64), &quiet).unwrap();
    let pool = Pool::open(&out).unwrap();
    let sampler = PairSampler::new(&pool, 0.1, 1).unwrap();
    assert!(sampler.fixed_target());
    let batch = sampler.batch(Split::Train, 0, 16);
    let f = proxyland_physics::GramacyLee::value;
    let f_star = f(proxyland_physics::GramacyLee::GLOBAL_MINIMUM);
    for b in 0..16 {
        let x = 0.5 + 2.0 * batch.u[[b, 0]];
        assert!((batch.loss[b] - (f(x) - f_star).powi(2)).abs() < 1e-12);
    }
}

#[test]
fn damaged_or_foreign_files_are_refused_naming_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_burgers(dir.path());
    let out = dir.path().join("pool.h5");
    generate(&config, &out, &opts(8), &quiet).unwrap();
    let bytes = std::fs::read(&out).unwrap();

    let truncated = dir.path().join("truncated.h5");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let err = Pool::open(&truncated).unwrap_err().to_string();
    assert!(err.contains("truncated.h5"), "{err}");

    let text = dir.path().join("text.h5");
    std::fs::write(&text, "not hdf5 at all").unwrap();
    assert!(
        Pool::open(&text)
            .unwrap_err()
            .to_string()
            .contains("text.h5")
    );

    let missing = Pool::open(&dir.path().join("absent.h5"))
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("absent.h5") && missing.contains("no such file"),
        "{missing}"
    );

    // A trajectory file is not a pool: the error names the missing field.
    let traj = dir.path().join("traj.h5");
    TrajectoryFile {
        experiment: "burgers".into(),
        param_names: vec!["x_c".into(), "omega".into()],
        params: vec![1.0, 2.0],
        time: ndarray::Array1::zeros(2),
        state_axis: ndarray::Array1::zeros(3),
        trajectory: ndarray::Array2::zeros((2, 3)),
    }
    .write(&traj)
    .unwrap();
    let err = Pool::open(&traj).unwrap_err().to_string();
    assert!(err.contains("traj.h5") && err.contains("field"), "{err}");
    let err = TrajectoryFile::read(&out).unwrap_err().to_string();
    assert!(err.contains("kind") || err.contains("field"), "{err}");
}

#[test]
fn pools_carry_validation_targets_disjoint_from_test_targets_and_samples() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_burgers(dir.path());
    let out = dir.path().join("pool.h5");
    let mut o = opts(16);
    o.validation_targets = 5;
    generate(&config, &out, &o, &quiet).unwrap();
    let pool = Pool::open(&out).unwrap();
    assert_eq!(pool.validation_params.nrows(), 5);
    assert_eq!(pool.target_params.nrows(), 3);
    let sim = config.simulator().unwrap();
    for (i, x) in pool.validation_params.rows().into_iter().enumerate() {
        let x = x.to_vec();
        // Each validation trajectory is its parameters' simulation (an independent check of
        // what was stored), and no validation target repeats a test target or a pool sample.
        let y = sim.simulate(&x).unwrap();
        let stored = pool.validation_trajectories.index_axis(ndarray::Axis(0), i);
        assert_eq!(y, stored);
        for other in pool
            .target_params
            .rows()
            .into_iter()
            .chain(pool.params.rows())
        {
            assert_ne!(other.to_vec(), x);
        }
    }
    assert_ne!(pool.header.validation_seed, pool.header.target_seed);
    assert!(pool.describe().contains("5 validation"));
}

#[test]
fn a_schema_v1_pool_is_refused_with_advice_to_regenerate() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_burgers(dir.path());
    let out = dir.path().join("pool.h5");
    generate(&config, &out, &opts(4), &quiet).unwrap();
    {
        let file = hdf5::File::open_rw(&out).unwrap();
        file.attr("schema_version")
            .unwrap()
            .write_scalar(&1u64)
            .unwrap();
    }
    let err = Pool::open(&out).unwrap_err().to_string();
    assert!(
        err.contains("pool.h5") && err.contains("schema v1") && err.contains("regenerate"),
        "{err}"
    );
}

#[test]
fn trajectory_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let sim = proxyland_physics::experiment("ks").unwrap();
    let y = sim.simulate(&[0.2, 0.1]).unwrap();
    let file = TrajectoryFile {
        experiment: "ks".into(),
        param_names: sim.param_space().names.clone(),
        params: vec![0.2, 0.1],
        time: sim.frame_times().into(),
        state_axis: sim.state_axis().into(),
        trajectory: y,
    };
    let path = dir.path().join("ks.h5");
    file.write(&path).unwrap();
    assert_eq!(TrajectoryFile::read(&path).unwrap(), file);
}

/// The h5py snippet of docs/dataset-format.md works on a real pool (skipped without h5py).
#[test]
fn python_users_can_read_a_pool_with_h5py() {
    let has_h5py = std::process::Command::new("python3")
        .args(["-c", "import h5py"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has_h5py {
        eprintln!("skipped: python3 with h5py is not available (pip install h5py to run it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_burgers(dir.path());
    let out = dir.path().join("pool.h5");
    generate(&config, &out, &opts(6), &quiet).unwrap();
    let doc = std::fs::read_to_string(repo().join("docs/dataset-format.md")).unwrap();
    let snippet = doc
        .split("```python")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("the doc has a python snippet");
    let o = std::process::Command::new("python3")
        .arg("-c")
        .arg(snippet)
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("burgers") && stdout.contains("(6, 5, 32)"),
        "{stdout}"
    );
}
