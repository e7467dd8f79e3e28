//! Proxy training: one epoch of the E1 proxy in tch against the identical network, weights and
//! batches in PyTorch.

use crate::reference::{Check, Python};
use crate::report::{Row, Section};
use crate::timing::{self, Timing, pretty};
use crate::{Sizes, npy};
use anyhow::{Context, Result, bail};
use proxyland_dataset::{ExperimentConfig, GenerateOptions, PairSampler, Pool, Split, generate};
use proxyland_proxy::device::Device;
use proxyland_proxy::{Architecture, StepBatch, StepTrainer, normalization};
use std::path::Path;

/// Noise and penalty of the two timed settings: the plain noise-injected proxy and the one with
/// the gradient penalty (double backward).
const SETTINGS: [(f64, f64); 2] = [(0.02, 0.0), (0.02, 0.1)];

/// The training losses of the first `steps` steps from the saved initial weights (no noise, so
/// that PyTorch can reproduce them exactly).
fn first_losses(
    arch: &Architecture,
    init: &Path,
    batches: &[StepBatch],
    lr: f64,
    penalty: f64,
    steps: usize,
) -> Result<Vec<f64>> {
    let mut trainer = StepTrainer::load(arch, init, lr)?;
    Ok(batches[..steps]
        .iter()
        .map(|b| trainer.step(b, 0.0, penalty))
        .collect())
}

pub fn compare(work: &Path, python: Option<&Python>, sizes: &Sizes) -> Result<Section> {
    let dir = work.join("training");
    std::fs::create_dir_all(&dir)?;
    let (config, samples, pool) = burgers_pool(&dir)?;
    let settings = &config.proxy;
    let sampler = PairSampler::new(&pool, settings.validation_fraction, 1)?;
    let norm = normalization(&pool, &sampler);
    let arch = architecture(&config, &pool)?;
    let threads = rayon::current_num_threads();
    proxyland_proxy::device::set_threads(threads);
    let init = dir.join("init.safetensors");
    StepTrainer::new(&arch, settings.learning_rate, 0).save(&init)?;
    let batch_size = settings.batch_size;
    let n_batches = (sizes.epoch_pairs / batch_size).max(3);
    let batches: Vec<StepBatch> = (0..n_batches)
        .map(|k| {
            StepBatch::new(
                &sampler.batch(Split::Train, k as u64, batch_size),
                &norm,
                Device::Cpu,
            )
        })
        .collect();
    let lr = settings.learning_rate;
    export_case(&dir, &arch, &init, &batches, lr, threads)?;

    // Ours: the same loop over the same prepared batches, through `training_step`.
    let mut ours = Vec::new();
    for (noise, penalty) in SETTINGS {
        let mut trainer = StepTrainer::load(&arch, &init, lr)?;
        ours.push(timing::median(3, 2.0, || {
            batches
                .iter()
                .map(|b| trainer.step(b, noise, penalty))
                .sum::<f64>()
        }));
    }
    // And the whole epoch as `train` runs it: sampling pairs and building tensors included.
    let full_epoch = {
        let mut trainer = StepTrainer::load(&arch, &init, lr)?;
        let mut draw = 0u64;
        timing::median(3, 2.0, || {
            (0..n_batches)
                .map(|_| {
                    draw += 1;
                    let batch = sampler.batch(Split::Train, draw, batch_size);
                    let b = StepBatch::new(&batch, &norm, Device::Cpu);
                    trainer.step(&b, SETTINGS[0].0, SETTINGS[0].1)
                })
                .sum::<f64>()
        })
    };

    let mut section = Section::new("Proxy training: one epoch, tch vs PyTorch");
    section.intro.push(format!(
        "The E1 proxy ({} Fourier features, conv encoder {:?}, head {:?}), {n_batches} batches of \
         {batch_size} pairs from a {samples}-sample Burgers pool, Adam (lr {lr}), σ = {}, on {threads} \
         CPU threads in both. Both sides load the same initial weights and the same batches \
         (exported by proxyland), so only the framework differs.",
        arch.fourier_features, arch.encoder_channels, arch.hidden, SETTINGS[0].0
    ));
    reference_rows(&mut section, python, &dir, &ours)?;
    section.notes.push(format!(
        "An epoch as `proxyland train` runs it (drawing pairs from the pool and building the \
         tensors included) takes {} ({:.0} pairs/s; {:.0}% of it outside libtorch).",
        pretty(full_epoch.median_s),
        (n_batches * batch_size) as f64 / full_epoch.median_s,
        100.0 * (1.0 - ours[0].median_s / full_epoch.median_s)
    ));
    Ok(section)
}

/// The quick profile's Burgers pool, generated afresh into `dir/pool.h5` (two targets).
/// Returns the config, the pool's sample count and the opened pool.
fn burgers_pool(dir: &Path) -> Result<(ExperimentConfig, usize, Pool)> {
    let config_path = Path::new("datasets/burgers.toml");
    let config = ExperimentConfig::load(config_path)
        .with_context(|| "the training comparison runs from the repository root")?;
    let samples = config.profile("quick")?.samples;
    let pool_path = dir.join("pool.h5");
    if pool_path.exists() {
        std::fs::remove_file(&pool_path)?;
    }
    generate(
        &config,
        &pool_path,
        &GenerateOptions::new(samples, 2, config.seed),
        &|_, _| {},
    )?;
    let pool = Pool::open(&pool_path)?;
    Ok((config, samples, pool))
}

/// The E1 proxy of `config` (its proxy settings, Fourier features on) for `pool`'s
/// trajectories.
fn architecture(config: &ExperimentConfig, pool: &Pool) -> Result<Architecture> {
    let settings = &config.proxy;
    let (frames, components) = pool.trajectory_shape();
    let space = config.simulator()?.param_space().clone();
    Ok(Architecture {
        params: space.dim(),
        periodic: (0..space.dim()).map(|j| space.is_periodic(j)).collect(),
        frames,
        components,
        use_fourier: true,
        fourier_features: settings.fourier_features,
        fourier_scale: settings.fourier_scale,
        encoder: proxyland_proxy::EncoderKind::parse(&settings.encoder)
            .context("the config's encoder")?,
        encoder_channels: settings.encoder_channels.clone(),
        embedding: settings.embedding,
        hidden: settings.hidden.clone(),
    })
}

/// Writes what PyTorch's side reads into `dir`: every batch, then `case.json` (the
/// architecture, the settings, and the first losses of each setting from the initial weights
/// `init`, for its agreement check).
fn export_case(
    dir: &Path,
    arch: &Architecture,
    init: &Path,
    batches: &[StepBatch],
    lr: f64,
    threads: usize,
) -> Result<()> {
    for (k, b) in batches.iter().enumerate() {
        let e = b.export()?;
        for (name, (shape, values)) in [("targets", &e.targets), ("u", &e.u), ("z", &e.z)] {
            npy::write(dir, &format!("batch{k:03}_{name}"), shape, values)?;
        }
        npy::write(dir, &format!("batch{k:03}_rows"), &e.rows.0, &e.rows.1)?;
    }
    let check_steps = 3;
    // The first losses of each setting, in SETTINGS order.
    let checks = SETTINGS
        .iter()
        .map(|&(_, penalty)| first_losses(arch, init, batches, lr, penalty, check_steps))
        .collect::<Result<Vec<_>>>()?;
    let case = serde_json::json!({
        "architecture": arch, "learning_rate": lr, "batches": batches.len(), "threads": threads,
        "settings": SETTINGS, "check_steps": check_steps, "check_losses": checks,
    });
    std::fs::write(dir.join("case.json"), serde_json::to_string_pretty(&case)?)?;
    Ok(())
}

/// Runs the PyTorch reference on the case in `dir` (where there is an interpreter; a failed
/// agreement check is an error) and adds the two epoch rows, ours beside its.
fn reference_rows(
    section: &mut Section,
    python: Option<&Python>,
    dir: &Path,
    ours: &[Timing],
) -> Result<()> {
    let result = match python {
        Some(py) => {
            section.reference_names = vec!["PyTorch".into()];
            let r = py.run("proxy_torch.py", "torch", dir)?;
            if r.checks.iter().any(|c: &Check| !c.passed) {
                bail!("proxy_torch.py reported a failed check");
            }
            Some(r)
        }
        None => None,
    };
    let r = |key: &str| vec![result.as_ref().and_then(|r| r.seconds(key))];
    section.rows.push(Row {
        what: "one epoch (identical batches)".into(),
        ours: ours[0].median_s,
        references: r("epoch"),
    });
    section.rows.push(Row {
        what: format!("one epoch with gradient penalty λ = {}", SETTINGS[1].1),
        ours: ours[1].median_s,
        references: r("epoch_penalty"),
    });
    section.references.extend(result);
    Ok(())
}
