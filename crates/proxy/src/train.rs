//! Training a proxy on a pool: Adam, noise injection on u and a gradient penalty, pairs that
//! concentrate near each target, a learning rate halved on every plateau of the validation loss,
//! and early stopping on what matters: where the network's own minimum lies on validation
//! targets. Seeded and resumable.
//!
//! Why not a cosine schedule over the epoch budget: early stopping ends most runs long before
//! the last epoch, still at 80–95% of the peak rate. A plateau rule decays with the epochs that
//! actually run.

use crate::adam::Adam;
use crate::checkpoint::{self, CheckpointMeta, EpochRecord, Normalization, TrainingSummary};
use crate::error::{Error, Result};
use crate::head::{BoundHead, Head};
use crate::model::{Architecture, EncoderKind, ProxyNet};
use crate::regularizers::SpectralNorm;
use crate::training_core::{
    Clock, Patience, ResumeTensors, clear_the_output, dataset_provenance, interrupt_after,
    resume_path, state_tensors, trajectory_moments,
};
use ndarray::Array2;
use proxyland_dataset::{ExperimentConfig, PairBatch, PairSampler, Pool, ProxySettings, Split};
use proxyland_optim::Regularizers;
use proxyland_optim::{LocalSettings, SurrogateLoss, surrogate_minima};
use proxyland_physics::rng::{Domain, STREAMS_VERSION};
use proxyland_physics::{Boundary, ParamSpace};
use rayon::prelude::*;
use std::path::Path;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Noise-injection σ on u: the network sees u + σε, the label is the loss at u.
    pub noise: f64,
    /// Gradient-penalty λ: adds λ E‖∂f/∂u‖² (autograd, create_graph) to the loss.
    pub penalty: f64,
    /// Dropout, weight decay and the spectral-norm bound (all off by default).
    pub regularizers: Regularizers,
    /// Epochs to train at most (early stopping may end sooner).
    pub epochs: usize,
    /// Training pairs drawn per epoch.
    pub pairs_per_epoch: usize,
    /// Seeds the split, pair sampling, initialization and noise.
    pub seed: u64,
    /// Where the network trains (CPU or a CUDA device).
    pub device: crate::device::Device,
    /// Fourier features on u (switch off only to study spectral bias).
    pub use_fourier: bool,
    /// Continue from `<out>.resume` left by an interrupted run.
    pub resume: bool,
    /// Validation pairs evaluated after every epoch.
    pub validation_pairs: usize,
    /// Validation targets (of the pool's own) on which the network's argmin is checked after
    /// every epoch.
    pub argmin_targets: usize,
    /// Overrides the config's encoder (to compare encoders on one pool).
    pub encoder: Option<EncoderKind>,
    /// Overrides the config's share of near pairs.
    pub near_share: Option<f64>,
    /// Replace an existing checkpoint at the output, and discard an interrupted run's state
    /// there instead of refusing.
    pub force: bool,
    /// Testing hook: stop with [`Error::Interrupted`] after this many epochs of this run, leaving
    /// the resume state behind (as a killed process would).
    pub stop_after: Option<usize>,
}

impl TrainOptions {
    /// Defaults for a run seeded with `seed`: no regularization, 100 epochs of 16384 pairs on
    /// the CPU, the settings' encoder and near share; change fields with struct-update syntax.
    ///
    /// ```
    /// let opts = proxyland_proxy::TrainOptions { noise: 0.05, ..proxyland_proxy::TrainOptions::new(7) };
    /// assert_eq!((opts.noise, opts.seed), (0.05, 7));
    /// ```
    pub fn new(seed: u64) -> Self {
        TrainOptions {
            noise: 0.0,
            penalty: 0.0,
            regularizers: Regularizers::default(),
            epochs: 100,
            pairs_per_epoch: 16384,
            seed,
            device: crate::device::Device::Cpu,
            use_fourier: true,
            resume: false,
            validation_pairs: 2048,
            argmin_targets: 30,
            encoder: None,
            near_share: None,
            force: false,
            stop_after: None,
        }
    }

    /// The options a config's profile implies, with no regularization.
    pub fn from_profile(config: &ExperimentConfig, profile: &str, seed: u64) -> Result<Self> {
        let p = config.profile(profile)?;
        Ok(TrainOptions {
            epochs: p.epochs,
            pairs_per_epoch: p.pairs_per_epoch,
            ..TrainOptions::new(seed)
        })
    }
}

/// What a proxy is trained for, without a config file: the experiment's name (recorded in the
/// checkpoint), its parameter box (the network sees u = to_unit(X), and periodic coordinates
/// get integer frequencies) and the network and training settings.
#[derive(Debug, Clone)]
pub struct TrainSpec {
    /// Recorded in the checkpoint's metadata.
    pub experiment: String,
    /// The box X lives in.
    pub space: ParamSpace,
    /// Architecture and training hyperparameters (a config's `[proxy]` table).
    pub settings: ProxySettings,
}

impl TrainSpec {
    /// The spec a built-in experiment's config describes.
    pub fn from_config(config: &ExperimentConfig) -> Result<Self> {
        Ok(TrainSpec {
            experiment: config.experiment.clone(),
            space: config.simulator()?.param_space().clone(),
            settings: config.proxy.clone(),
        })
    }
}

/// Progress after each epoch: (epoch, epochs, what it measured).
pub type EpochCallback<'a> = &'a dyn Fn(usize, usize, &EpochRecord);

/// Tensors of a pair batch on `device`: (distinct targets t×F×S, target row of each pair b,
/// u b×d, normalized labels b).
/// One training batch as tensors on the training device: the distinct target trajectories
/// (normalized), which target each pair uses, the pairs' u = to_unit(X), and the normalized
/// log-loss labels.
pub struct StepBatch {
    /// t × F × S distinct target trajectories, normalized (f32).
    pub(crate) targets: Tensor,
    /// b target rows (int64): which of `targets` each pair uses.
    pub(crate) rows: Tensor,
    /// b × d candidate parameters in normalized coordinates u (f32).
    pub(crate) u: Tensor,
    /// b normalized log-loss labels ẑ (f32).
    pub(crate) z: Tensor,
}

/// A [`StepBatch`] as flat arrays in row-major order with their shapes: what another framework
/// needs to train on the identical batch.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedBatch {
    /// t × F × S distinct target trajectories, normalized.
    pub targets: (Vec<usize>, Vec<f32>),
    /// b target rows: which of `targets` each pair uses.
    pub rows: (Vec<usize>, Vec<i64>),
    /// b × d candidate parameters u.
    pub u: (Vec<usize>, Vec<f32>),
    /// b normalized log-loss labels.
    pub z: (Vec<usize>, Vec<f32>),
}

fn shape(t: &Tensor) -> Vec<usize> {
    t.size().iter().map(|&d| d as usize).collect()
}

/// A proxy network and its Adam optimizer, stepped on prepared batches: [`train`]'s inner step
/// without pair sampling, schedule or checkpoints (the benchmarks time exactly this against
/// PyTorch).
///
/// ```
/// use proxyland_proxy::{Architecture, EncoderKind, StepTrainer};
/// let arch = Architecture {
///     params: 2, periodic: vec![false, false], frames: 4, components: 8, use_fourier: true,
///     fourier_features: 8, fourier_scale: 1.0, encoder: EncoderKind::Mlp,
///     encoder_channels: vec![4], embedding: 8, hidden: vec![16],
/// };
/// let init = std::env::temp_dir().join(format!("step-trainer-{}.safetensors", std::process::id()));
/// StepTrainer::new(&arch, 1e-3, 0).save(&init)?;
/// let again = StepTrainer::load(&arch, &init, 1e-3)?;
/// # std::fs::remove_file(&init).ok();
/// # Ok::<(), proxyland_proxy::Error>(())
/// ```
pub struct StepTrainer {
    vs: VarStore,
    net: ProxyNet,
    adam: Adam,
}

impl StepTrainer {
    /// A network of `arch` initialized as `train` initializes a run seeded with `seed`
    /// (Fourier frequencies included), with a fresh Adam at learning rate `lr`.
    pub fn new(arch: &Architecture, lr: f64, seed: u64) -> Self {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(Domain::Torch.torch_seed(seed, 0));
        let vs = VarStore::new(tch::Device::Cpu);
        let mut net = ProxyNet::new(&vs.root(), arch);
        net.init_fourier();
        let adam = Adam::new(&vs, lr);
        StepTrainer { vs, net, adam }
    }

    /// A network of `arch` with the weights [`StepTrainer::save`] wrote to `path`, and a fresh
    /// Adam at learning rate `lr`.
    pub fn load(arch: &Architecture, path: &Path, lr: f64) -> Result<Self> {
        let mut vs = VarStore::new(tch::Device::Cpu);
        let net = ProxyNet::new(&vs.root(), arch);
        vs.load(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let adam = Adam::new(&vs, lr);
        Ok(StepTrainer { vs, net, adam })
    }

    /// Writes the current weights to `path` (safetensors).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.vs.save(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// One step of [`training_step`] on `batch`; returns the batch's training loss.
    pub fn step(&mut self, batch: &StepBatch, noise: f64, penalty: f64) -> f64 {
        training_step(&self.net, &mut self.adam, batch, noise, penalty)
    }
}

impl StepBatch {
    /// Converts sampled pairs with the checkpoint's normalization.
    pub fn new(batch: &PairBatch, norm: &Normalization, device: crate::device::Device) -> Self {
        let device = device.tch();
        let (t, f, s) = batch.targets.dim();
        let b = batch.u.nrows();
        let traj: Vec<f32> = batch
            .targets
            .iter()
            .map(|y| ((y - norm.traj_mean) / norm.traj_std) as f32)
            .collect();
        let targets = Tensor::from_slice(&traj)
            .reshape([t as i64, f as i64, s as i64])
            .to_device(device);
        let rows: Vec<i64> = batch.target_of.iter().map(|&r| r as i64).collect();
        let rows = Tensor::from_slice(&rows).to_device(device);
        let u: Vec<f32> = batch.u.iter().map(|&v| v as f32).collect();
        let u = Tensor::from_slice(&u)
            .reshape([b as i64, batch.u.ncols() as i64])
            .to_device(device);
        let z: Vec<f32> = batch.loss.iter().map(|&l| norm.encode(l) as f32).collect();
        StepBatch {
            targets,
            rows,
            u,
            z: Tensor::from_slice(&z).to_device(device),
        }
    }

    /// The batch as flat arrays with their shapes.
    pub fn export(&self) -> Result<ExportedBatch> {
        let f32s = |t: &Tensor| -> Result<(Vec<usize>, Vec<f32>)> {
            Ok((shape(t), Vec::<f32>::try_from(t.flatten(0, -1))?))
        };
        Ok(ExportedBatch {
            targets: f32s(&self.targets)?,
            rows: (
                shape(&self.rows),
                Vec::<i64>::try_from(self.rows.flatten(0, -1))?,
            ),
            u: f32s(&self.u)?,
            z: f32s(&self.z)?,
        })
    }
}

/// One optimization step on `batch`: noise injection on u (σ = `noise`), the MSE on the
/// normalized log-loss, the gradient penalty λ·mean‖∂f/∂u‖² (λ = `penalty`), backward and an
/// optimizer step. Returns the batch's training loss. This is the unit [`train`] repeats; it is
/// public so the benchmark against PyTorch times exactly the code that trains.
pub fn training_step(
    net: &ProxyNet,
    optimizer: &mut Adam,
    batch: &StepBatch,
    noise: f64,
    penalty: f64,
) -> f64 {
    regularized_step(net, optimizer, batch, (noise, penalty, 0.0), None)
}

/// [`training_step`] with dropout on the head's hidden activations (`dropout`, from
/// `(noise, penalty, dropout)`) and, when given, the spectral-norm bound applied after the
/// optimizer's step. Weight decay lives in the optimizer.
fn regularized_step(
    net: &ProxyNet,
    optimizer: &mut Adam,
    batch: &StepBatch,
    (noise, penalty, dropout): (f64, f64, f64),
    spectral: Option<&mut SpectralNorm>,
) -> f64 {
    let u = &batch.u;
    let u_in = if noise > 0.0 {
        let noisy = u + Tensor::randn(u.size(), (Kind::Float, u.device())) * noise;
        fold_into_box(&noisy, &net.architecture().periodic)
    } else {
        u.shallow_clone()
    };
    let u_in = if penalty > 0.0 {
        u_in.detach().set_requires_grad(true)
    } else {
        u_in
    };
    let pred = net.forward_training(&batch.targets, &batch.rows, &u_in, dropout);
    let mut loss = pred.mse_loss(&batch.z, tch::Reduction::Mean);
    if penalty > 0.0 {
        // create_graph: the penalty itself must be differentiated w.r.t. the weights.
        let grads = Tensor::run_backward(&[pred.sum(Kind::Float)], &[&u_in], true, true);
        loss += grads[0]
            .pow_tensor_scalar(2)
            .sum_dim_intlist(1, false, Kind::Float)
            .mean(Kind::Float)
            * penalty;
    }
    optimizer.backward_step(&loss);
    if let Some(spectral) = spectral {
        spectral.project();
    }
    loss.double_value(&[])
}

/// Folds u into [0,1]^d as optimizers do before they ask the network (periodic wrap, mirror
/// elsewhere): noise that pushes u past a face is a point inside the box, so training sees only
/// the inputs the network will be asked about.
fn fold_into_box(u: &Tensor, periodic: &[bool]) -> Tensor {
    let mask: Vec<f32> = periodic.iter().map(|&p| f32::from(u8::from(p))).collect();
    let mask = Tensor::from_slice(&mask)
        .reshape([1, periodic.len() as i64])
        .to_device(u.device());
    let wrapped = u - u.floor();
    // r ∈ [0, 2): the mirror of r about 1 is 1 − |r − 1|.
    let mirrored = 1.0 - (u.remainder(2.0) - 1.0).abs();
    &mask * wrapped + (1.0 - &mask) * mirrored
}

/// The median worst-coordinate error of the network's own argmin over validation targets: the
/// early-stopping metric. Each target is embedded once, then the head runs in f64 (64 starts,
/// BFGS on the network from the best 2), exactly as proxy-multistart's surrogate stage does.
fn validation_argmin_error(
    net: &ProxyNet,
    vs: &VarStore,
    norm: &Normalization,
    space: &ParamSpace,
    targets: &[(Vec<f64>, Tensor)],
    seed: u64,
) -> f64 {
    let arch = net.architecture();
    let Some(head) = Head::from_variables(
        &vs.variables(),
        arch.params,
        arch.raw_inputs(),
        arch.use_fourier,
        arch.hidden.len(),
    ) else {
        return f64::INFINITY;
    };
    let embeddings: Vec<Option<Vec<f64>>> = targets
        .iter()
        .map(|(_, y)| {
            tch::no_grad(|| net.embed(y)).map(|e| {
                Vec::<f64>::try_from(
                    e.to_device(Device::Cpu)
                        .to_kind(Kind::Double)
                        .flatten(0, -1),
                )
                .unwrap_or_default()
            })
        })
        .collect();
    let settings = LocalSettings::default();
    // Tensors are not Sync: the parallel part sees plain data only.
    let x_stars: Vec<&Vec<f64>> = targets.iter().map(|(x, _)| x).collect();
    let errors: Vec<f64> = x_stars
        .par_iter()
        .zip(&embeddings)
        .enumerate()
        .map(|(i, (x_star, e))| {
            let bound = BoundHead {
                head: &head,
                bias: head.bias_with_embedding(e.as_deref()),
                z_mean: norm.z_mean,
                z_std: norm.z_std,
            };
            let landscape = SurrogateLoss::new(&bound, space);
            let mut stream = Domain::ArgminStarts.stream(seed, i as u64);
            let u0: Vec<f64> = (0..space.dim()).map(|_| stream.uniform()).collect();
            match surrogate_minima(&landscape, &u0, 64, 2, settings, &mut stream) {
                Ok(minima) => space.worst_distance(&space.from_unit(&minima[0].1), x_star),
                Err(_) => f64::INFINITY,
            }
        })
        .collect();
    proxyland_optim::stats::upper_median(errors).unwrap_or(f64::INFINITY)
}

/// Validation targets for the argmin metric: the pool's own validation targets (their X and
/// normalized trajectory as a 1 × F × S tensor on `device`).
fn argmin_targets(
    pool: &Pool,
    norm: &Normalization,
    count: usize,
    device: Device,
) -> Vec<(Vec<f64>, Tensor)> {
    let (f, s) = pool.trajectory_shape();
    (0..pool.validation_params.nrows().min(count))
        .map(|i| {
            let y: Vec<f32> = pool
                .validation_trajectories
                .index_axis(ndarray::Axis(0), i)
                .iter()
                .map(|v| ((v - norm.traj_mean) / norm.traj_std) as f32)
                .collect();
            let t = Tensor::from_slice(&y)
                .reshape([1, f as i64, s as i64])
                .to_device(device);
            (pool.validation_params.row(i).to_vec(), t)
        })
        .collect()
}

/// The training-pair draw the normalization probe uses: an item of the training pairs' own
/// domain that no epoch reaches (epochs draw batches 0, 1, 2, ...), so the probe is fixed per
/// pool and seed and never repeats a training batch.
const NORMALIZATION_PROBE_DRAW: u64 = u64::MAX / 2;

/// The normalization a training run on `pool` uses: trajectory mean/std over the valid samples,
/// and ε and the log-loss mean/std from a fixed probe batch of training pairs.
pub fn normalization(pool: &Pool, sampler: &PairSampler) -> Normalization {
    let (traj_mean, traj_std) = trajectory_moments(pool, &pool.valid());
    let probe = sampler.batch(Split::Train, NORMALIZATION_PROBE_DRAW, 4096);
    // Sorted, so that the sums below always run in the same order (checkpoints are bitwise
    // reproducible).
    let mut losses = probe.loss.to_vec();
    losses.sort_by(f64::total_cmp);
    // ε resolves losses three decades below the typical one; smaller ones all look like "zero".
    let typical = proxyland_optim::stats::upper_median(losses.clone()).unwrap_or(0.0);
    let epsilon = (typical * 1e-3).max(1e-12);
    let z: Vec<f64> = losses.iter().map(|l| (l + epsilon).ln()).collect();
    let z_mean = z.iter().sum::<f64>() / z.len() as f64;
    let z_std = (z.iter().map(|v| (v - z_mean).powi(2)).sum::<f64>() / z.len() as f64)
        .sqrt()
        .max(1e-6);
    Normalization {
        traj_mean,
        traj_std,
        z_mean,
        z_std,
        epsilon,
    }
}

/// Trains a proxy on `pool` (generated from `config`) and writes the checkpoint to `out`.
/// Returns its metadata. See [`train_with`] for a simulator without a config.
pub fn train(
    pool: &Pool,
    config: &ExperimentConfig,
    opts: &TrainOptions,
    out: &Path,
    on_epoch: EpochCallback,
) -> Result<CheckpointMeta> {
    train_with(pool, &TrainSpec::from_config(config)?, opts, out, on_epoch)
}

/// Trains a proxy on `pool` for the experiment `spec` describes and writes the checkpoint to
/// `out` (refusing to replace one unless `opts.force`). Returns its metadata.
///
/// ```no_run
/// use proxyland_dataset::{GenerateOptions, generate_in_memory};
/// use proxyland_proxy::{TrainOptions, TrainSpec, train_with};
/// let sim = proxyland_physics::experiment("gramacy-lee")?;
/// let pool = generate_in_memory(sim.as_ref(), &GenerateOptions::new(2048, 10, 1))?;
/// let config = proxyland_dataset::ExperimentConfig::load("datasets/gramacy-lee.toml".as_ref())?;
/// let spec = TrainSpec::from_config(&config)?;
/// let meta = train_with(&pool, &spec, &TrainOptions::new(1), "proxy.safetensors".as_ref(), &|_, _, _| {})?;
/// println!("best epoch {}", meta.training.best_epoch);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn train_with(
    pool: &Pool,
    spec: &TrainSpec,
    opts: &TrainOptions,
    out: &Path,
    on_epoch: EpochCallback,
) -> Result<CheckpointMeta> {
    check_options(spec, opts)?;
    let resume_path = resume_path(out);
    clear_the_output(out, &resume_path, opts.resume, opts.force)?;
    let _rng = crate::torch_rng_lock();
    let clock = Clock::starting_at(0.0);
    let settings = &spec.settings;
    let near_share = opts.near_share.unwrap_or(settings.near_share);
    if !(0.0..=1.0).contains(&near_share) {
        return Err(Error::Input(format!(
            "near share {near_share}: must be in [0, 1]"
        )));
    }
    let encoder = encoder_of(settings, opts)?;
    let sampler = PairSampler::new(pool, settings.validation_fraction, opts.seed)?
        .with_near_pairs(near_share, settings.near_neighbours);
    let space = &spec.space;
    if pool.param_box.row(0).to_vec() != space.lo || pool.param_box.row(1).to_vec() != space.hi {
        return Err(Error::Input(format!(
            "{}: the pool's parameter box differs from the experiment's ({:?}..{:?})",
            pool.path.display(),
            space.lo,
            space.hi
        )));
    }
    let arch = architecture(pool, space, settings, opts, encoder, sampler.fixed_target());
    let mut run = ProxyRun::new(pool, spec, opts, &sampler, arch, near_share);
    let start_epoch = run.open_or_resume(&resume_path, opts)?;
    let clock = clock.with_prior(run.meta.training.seconds);
    let inputs = EpochInputs::new(pool, spec, opts, &sampler, &run.meta);
    run.train_epochs(&inputs, start_epoch, &clock, &resume_path, on_epoch)?;
    run.write_checkpoint(out, &resume_path, &clock)
}

/// Refuses options no training runs with: a negative or non-finite noise or penalty, no epochs
/// or pairs, regularizers out of range.
fn check_options(spec: &TrainSpec, opts: &TrainOptions) -> Result<()> {
    let valid = |v: f64| v >= 0.0 && v.is_finite();
    if !valid(opts.noise) || !valid(opts.penalty) {
        return Err(Error::Input(format!(
            "--noise {} / --penalty {}: both must be finite and >= 0",
            opts.noise, opts.penalty
        )));
    }
    if opts.epochs == 0 || opts.pairs_per_epoch == 0 {
        return Err(Error::Input(
            "epochs and pairs per epoch must be positive".into(),
        ));
    }
    opts.regularizers
        .check(spec.settings.learning_rate)
        .map_err(|e| Error::Input(e.to_string()))?;
    Ok(())
}

/// The encoder the options ask for, or else the settings' (which must name a known one).
fn encoder_of(settings: &ProxySettings, opts: &TrainOptions) -> Result<EncoderKind> {
    match opts.encoder {
        Some(e) => Ok(e),
        None => EncoderKind::parse(&settings.encoder).ok_or_else(|| {
            Error::Input(format!(
                "proxy.encoder = \"{}\" is not an encoder this proxyland knows (one of {})",
                settings.encoder,
                proxyland_dataset::ENCODERS.join(", ")
            ))
        }),
    }
}

/// The network's shape for `pool`'s trajectories in `space` (no encoder for a fixed target).
fn architecture(
    pool: &Pool,
    space: &ParamSpace,
    settings: &ProxySettings,
    opts: &TrainOptions,
    encoder: EncoderKind,
    fixed_target: bool,
) -> Architecture {
    let (frames, components) = pool.trajectory_shape();
    Architecture {
        params: space.dim(),
        periodic: (0..space.dim()).map(|j| space.is_periodic(j)).collect(),
        frames,
        components,
        use_fourier: opts.use_fourier,
        fourier_features: settings.fourier_features,
        fourier_scale: settings.fourier_scale,
        encoder,
        encoder_channels: if fixed_target {
            vec![]
        } else {
            settings.encoder_channels.clone()
        },
        embedding: settings.embedding,
        hidden: settings.hidden.clone(),
    }
}

/// The metadata of a run that has not trained yet: no epochs, no best one.
fn initial_meta(
    pool: &Pool,
    spec: &TrainSpec,
    opts: &TrainOptions,
    sampler: &PairSampler,
    arch: Architecture,
    near_share: f64,
) -> CheckpointMeta {
    let space = &spec.space;
    let settings = &spec.settings;
    let (fmt, fmt_version) = CheckpointMeta::format_fields();
    CheckpointMeta {
        format: fmt,
        format_version: fmt_version,
        experiment: spec.experiment.clone(),
        param_names: space.names.clone(),
        lo: space.lo.clone(),
        hi: space.hi.clone(),
        periodic: space
            .boundary
            .iter()
            .map(|b| *b == Boundary::Periodic)
            .collect(),
        architecture: arch,
        normalization: normalization(pool, sampler),
        noise: opts.noise,
        penalty: opts.penalty,
        regularizers: opts.regularizers,
        dataset: dataset_provenance(pool),
        training: TrainingSummary {
            epochs_run: 0,
            best_epoch: 0,
            best_validation: f64::INFINITY,
            best_validation_argmin_error: None,
            seconds: 0.0,
            device: crate::device::describe(opts.device),
            seed: opts.seed,
            streams: STREAMS_VERSION,
            batch_size: settings.batch_size,
            pairs_per_epoch: opts.pairs_per_epoch,
            learning_rate: settings.learning_rate,
            near_share,
            near_neighbours: settings.near_neighbours,
            plateau_epochs: (settings.patience / 3).max(2),
            adam_steps: 0,
            history: vec![],
        },
        proxyland_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// What every epoch reads and none changes: the options, the pair sampler, the normalization,
/// the validation pairs and argmin targets, and how an epoch's pairs are batched.
struct EpochInputs<'a> {
    opts: &'a TrainOptions,
    settings: &'a ProxySettings,
    space: &'a ParamSpace,
    sampler: &'a PairSampler<'a>,
    norm: Normalization,
    val: StepBatch,
    argmin_set: Vec<(Vec<f64>, Tensor)>,
    batch_size: usize,
    batches: usize,
    lr_min: f64,
}

impl<'a> EpochInputs<'a> {
    /// The inputs of a run whose metadata (normalization included) is `meta`.
    fn new(
        pool: &Pool,
        spec: &'a TrainSpec,
        opts: &'a TrainOptions,
        sampler: &'a PairSampler<'a>,
        meta: &CheckpointMeta,
    ) -> Self {
        let settings = &spec.settings;
        let norm = meta.normalization.clone();
        let validation = sampler.batch(Split::Validation, 0, opts.validation_pairs.max(1));
        let val = StepBatch::new(&validation, &norm, opts.device);
        let argmin_set = argmin_targets(pool, &norm, opts.argmin_targets, opts.device.tch());
        let batch_size = settings.batch_size.min(opts.pairs_per_epoch);
        let batches = (opts.pairs_per_epoch / batch_size).max(1);
        let lr_min = 0.01 * settings.learning_rate;
        EpochInputs {
            opts,
            settings,
            space: &spec.space,
            sampler,
            norm,
            val,
            argmin_set,
            batch_size,
            batches,
            lr_min,
        }
    }
}

/// Refuses to resume an interrupted run (`state`, read from `resume_path`) with other data or
/// settings than this one's (`meta`, `opts`).
fn check_same_run(
    state: &CheckpointMeta,
    meta: &CheckpointMeta,
    opts: &TrainOptions,
    resume_path: &Path,
) -> Result<()> {
    // Everything that decides the split, the pair stream, the noise and the optimizer must
    // be what the interrupted run used, or the result is a mix of two runs.
    let then = &state.training;
    let now = &meta.training;
    if state.dataset.hash != meta.dataset.hash
        || state.noise != opts.noise
        || state.penalty != opts.penalty
        || state.regularizers != opts.regularizers
        || state.architecture != meta.architecture
        || then.near_share != now.near_share
        || then.near_neighbours != now.near_neighbours
        || then.seed != now.seed
        || then.streams != now.streams
        || then.pairs_per_epoch != now.pairs_per_epoch
        || then.batch_size != now.batch_size
        || then.learning_rate != now.learning_rate
        || then.plateau_epochs != now.plateau_epochs
    {
        return Err(Error::Checkpoint {
            path: resume_path.to_path_buf(),
            field: "dataset/noise/penalty/regularizers/architecture/seed/streams/pairs/batch \
                    size/learning rate/near pairs"
                .into(),
            message: "the interrupted run used other data or settings; delete it or rerun \
                      with the original settings"
                .into(),
        });
    }
    Ok(())
}

/// A proxy's training in progress: the network and its variables, the best weights so far,
/// Adam, the spectral-norm bound when asked for, and the metadata (the history included).
struct ProxyRun {
    vs: VarStore,
    net: ProxyNet,
    best_vs: VarStore,
    /// Declares the best weights' variables in `best_vs` (never run).
    _best_net: ProxyNet,
    adam: Adam,
    spectral: Option<SpectralNorm>,
    meta: CheckpointMeta,
}

impl ProxyRun {
    /// A network of `arch` initialized from libtorch's generator seeded with `opts.seed`
    /// (Fourier frequencies included), an empty store for the best weights, the metadata of a
    /// run that has not trained, and a fresh Adam and spectral-norm bound.
    fn new(
        pool: &Pool,
        spec: &TrainSpec,
        opts: &TrainOptions,
        sampler: &PairSampler,
        arch: Architecture,
        near_share: f64,
    ) -> Self {
        let vs = VarStore::new(opts.device.tch());
        tch::manual_seed(Domain::Torch.torch_seed(opts.seed, 0));
        let mut net = ProxyNet::new(&vs.root(), &arch);
        net.init_fourier();
        let best_vs = VarStore::new(opts.device.tch());
        let _best_net = ProxyNet::new(&best_vs.root(), &arch);
        let meta = initial_meta(pool, spec, opts, sampler, arch, near_share);
        let mut adam = Adam::new(&vs, spec.settings.learning_rate);
        adam.weight_decay = opts.regularizers.weight_decay;
        let spectral = opts
            .regularizers
            .spectral_norm
            .then(|| SpectralNorm::new(&vs));
        ProxyRun {
            vs,
            net,
            best_vs,
            _best_net,
            adam,
            spectral,
            meta,
        }
    }

    /// Continues the interrupted run at `resume_path` when asked to and there is one; else
    /// the best weights start as the initial ones. Returns the epoch training starts at.
    fn open_or_resume(&mut self, resume_path: &Path, opts: &TrainOptions) -> Result<usize> {
        if opts.resume && resume_path.exists() {
            self.resume(resume_path, opts)
        } else {
            self.best_vs.copy(&self.vs)?;
            Ok(0)
        }
    }

    /// Restores the weights, the best weights, the optimizer, the spectral-norm vectors and
    /// the metadata (this run's device kept) of the interrupted run at `resume_path`. Returns
    /// the epochs it ran.
    fn resume(&mut self, resume_path: &Path, opts: &TrainOptions) -> Result<usize> {
        let (state, all) = checkpoint::read(resume_path)?;
        // The optimizer's moments and the best weights travel in the same file as the weights.
        let tensors = ResumeTensors::split(all, crate::regularizers::STATE_PREFIX);
        let steps = state.training.adam_steps;
        tensors.restore(
            &mut self.vs,
            &mut self.best_vs,
            &mut self.adam,
            steps,
            resume_path,
        )?;
        check_same_run(&state, &self.meta, opts, resume_path)?;
        if let Some(spectral) = &mut self.spectral {
            if !spectral.restore(&tensors.extra) {
                return Err(Error::Checkpoint {
                    path: resume_path.to_path_buf(),
                    field: "sn".into(),
                    message: "the spectral-norm state is missing or does not fit the network"
                        .into(),
                });
            }
        }
        self.meta.normalization = state.normalization;
        let device = self.meta.training.device.clone();
        self.meta.training = state.training;
        self.meta.training.device = device;
        let start_epoch = self.meta.training.epochs_run;
        tracing::info!(epoch = start_epoch, "resuming training");
        Ok(start_epoch)
    }

    /// The epochs from `start_epoch` on, until `opts.epochs` or early stopping, each followed
    /// by the resume state; stops with [`Error::Interrupted`] at `opts.stop_after`.
    fn train_epochs(
        &mut self,
        inputs: &EpochInputs,
        start_epoch: usize,
        clock: &Clock,
        resume_path: &Path,
        on_epoch: EpochCallback,
    ) -> Result<()> {
        let (opts, settings) = (inputs.opts, inputs.settings);
        // The schedule's state is a function of the history, so a resumed run goes on exactly.
        let schedule = Schedule::replay(
            &self.meta.training.history,
            settings.learning_rate,
            inputs.lr_min,
            self.meta.training.plateau_epochs,
        );
        let (mut lr, mut since_val_improved, mut best_val_loss) = schedule;
        // Epochs since either validation metric last improved (replayed for a resumed run).
        let mut patience = Patience::new(
            settings.patience,
            epochs_without_progress(&self.meta.training),
        );
        for epoch in start_epoch..opts.epochs {
            if patience.exhausted() {
                tracing::info!(
                    epoch,
                    "early stopping: the validation metric stopped improving"
                );
                break;
            }
            let train_loss = self.train_epoch(inputs, epoch, lr);
            let record = self.measure(inputs, epoch, train_loss, lr)?;
            let (val_loss, argmin_error) = (record.validation_loss, record.validation_argmin_error);
            let progressed = self.record_epoch(epoch, record)?;
            patience.record(progressed);
            (lr, since_val_improved, best_val_loss) = Schedule::step(
                (lr, since_val_improved, best_val_loss),
                val_loss,
                inputs.lr_min,
                self.meta.training.plateau_epochs,
            );
            tracing::debug!(
                epoch = epoch + 1,
                train_loss,
                val_loss,
                argmin_error = ?argmin_error,
                lr = record.learning_rate,
                "epoch"
            );
            on_epoch(epoch + 1, opts.epochs, &record);
            self.meta.training.seconds = clock.seconds();
            self.save_resume_state(resume_path)?;
            interrupt_after(
                opts.stop_after,
                epoch + 1,
                start_epoch,
                opts.epochs,
                resume_path,
            )?;
        }
        Ok(())
    }

    /// One epoch's optimization steps at learning rate `lr`, the spectral-norm bound converged
    /// at its end. Returns the mean training loss.
    fn train_epoch(&mut self, inputs: &EpochInputs, epoch: usize, lr: f64) -> f64 {
        let opts = inputs.opts;
        let (sampler, batches, batch_size) = (inputs.sampler, inputs.batches, inputs.batch_size);
        self.adam.lr = lr;
        // Each epoch has its own generator state, so a resumed run draws the same noise.
        tch::manual_seed(Domain::Torch.torch_seed(opts.seed, 1 + epoch as u64));
        let mut train_loss = 0.0;
        for k in 0..batches {
            let batch = sampler.batch(Split::Train, (epoch * batches + k) as u64, batch_size);
            let step = StepBatch::new(&batch, &inputs.norm, opts.device);
            train_loss += regularized_step(
                &self.net,
                &mut self.adam,
                &step,
                (opts.noise, opts.penalty, opts.regularizers.dropout),
                self.spectral.as_mut(),
            );
        }
        train_loss /= batches as f64;
        if let Some(spectral) = &mut self.spectral {
            spectral.project_converged();
        }
        train_loss
    }

    /// The epoch's record after training at `lr` to `train_loss`: the validation loss and the
    /// argmin error on the validation targets. A non-finite loss is an [`Error::Diverged`].
    fn measure(
        &self,
        inputs: &EpochInputs,
        epoch: usize,
        train_loss: f64,
        lr: f64,
    ) -> Result<EpochRecord> {
        let val = &inputs.val;
        let val_loss = tch::no_grad(|| {
            self.net
                .forward(&val.targets, &val.rows, &val.u)
                .mse_loss(&val.z, tch::Reduction::Mean)
                .double_value(&[])
        });
        if !train_loss.is_finite() || !val_loss.is_finite() {
            return Err(Error::Diverged {
                epoch,
                loss: train_loss,
            });
        }
        // No validation targets, no argmin error: `None`, never a number that looks measured.
        let argmin_error = (!inputs.argmin_set.is_empty()).then(|| {
            validation_argmin_error(
                &self.net,
                &self.vs,
                &inputs.norm,
                inputs.space,
                &inputs.argmin_set,
                inputs.opts.seed,
            )
        });
        Ok(EpochRecord {
            train_loss,
            validation_loss: val_loss,
            validation_argmin_error: argmin_error,
            learning_rate: lr,
        })
    }

    /// Appends the epoch's record to the history and keeps its weights when they are the best
    /// so far. Returns whether either validation metric improved (what patience counts).
    fn record_epoch(&mut self, epoch: usize, record: EpochRecord) -> Result<bool> {
        let (val_loss, argmin_error) = (record.validation_loss, record.validation_argmin_error);
        self.meta.training.history.push(record);
        self.meta.training.epochs_run = epoch + 1;
        // The checkpoint kept is the one whose network puts its minimum nearest the validation
        // targets' parameters; the regression loss breaks ties (argmin errors are medians over
        // a few targets and often equal).
        // Without validation targets, the regression loss alone decides.
        let best = &self.meta.training;
        let improved = match argmin_error {
            Some(error) => {
                let best_error = best.best_validation_argmin_error.unwrap_or(f64::INFINITY);
                error < best_error - 1e-3
                    || (error <= best_error + 1e-3 && val_loss < best.best_validation)
            }
            None => val_loss < best.best_validation,
        };
        // Patience runs out only when neither metric improves: the argmin error is a median over
        // a few targets and moves in steps, while the regression loss still says whether the
        // network is learning.
        let lowest_loss = self
            .meta
            .training
            .history
            .iter()
            .rev()
            .skip(1)
            .map(|r| r.validation_loss)
            .fold(f64::INFINITY, f64::min);
        if improved {
            self.meta.training.best_validation = val_loss;
            self.meta.training.best_validation_argmin_error = argmin_error;
            self.meta.training.best_epoch = epoch + 1;
            self.best_vs.copy(&self.vs)?;
        }
        Ok(improved || val_loss < lowest_loss)
    }

    /// Writes the resume state atomically: the current weights, the best ones (`best.`), the
    /// optimizer's moments and the spectral-norm vectors, with the metadata so far.
    fn save_resume_state(&mut self, resume_path: &Path) -> Result<()> {
        let (mut state, steps) = state_tensors(&self.vs, &self.best_vs, &self.adam);
        self.meta.training.adam_steps = steps;
        state.extend(self.spectral.iter().flat_map(SpectralNorm::state));
        checkpoint::save_named(state, &self.meta, resume_path)
    }

    /// Writes the best weights with the metadata to `out`, removes the resume state and
    /// returns the metadata.
    fn write_checkpoint(
        mut self,
        out: &Path,
        resume_path: &Path,
        clock: &Clock,
    ) -> Result<CheckpointMeta> {
        self.meta.training.seconds = clock.seconds();
        checkpoint::save(&self.best_vs, &self.meta, out)?;
        let _ = std::fs::remove_file(resume_path);
        Ok(self.meta)
    }
}

/// Epochs at the end of the history in which neither the argmin error reached the best epoch's
/// nor the validation loss a new low.
fn epochs_without_progress(summary: &TrainingSummary) -> usize {
    let mut lowest = f64::INFINITY;
    let mut since = 0;
    for (i, r) in summary.history.iter().enumerate() {
        if i + 1 == summary.best_epoch || r.validation_loss < lowest {
            since = 0;
        } else {
            since += 1;
        }
        lowest = lowest.min(r.validation_loss);
    }
    since
}

/// Reduce-on-plateau: the learning rate is halved (down to a floor) after `plateau` epochs
/// without a new lowest validation loss. State: (learning rate, epochs since the validation loss
/// improved, lowest validation loss).
struct Schedule;

impl Schedule {
    fn step(
        state: (f64, usize, f64),
        val_loss: f64,
        lr_min: f64,
        plateau: usize,
    ) -> (f64, usize, f64) {
        let (lr, since, best) = state;
        if val_loss < best {
            (lr, 0, val_loss)
        } else if since + 1 >= plateau {
            ((lr * 0.5).max(lr_min), 0, best)
        } else {
            (lr, since + 1, best)
        }
    }

    /// The state after the epochs of `history` (for a resumed run).
    fn replay(history: &[EpochRecord], lr0: f64, lr_min: f64, plateau: usize) -> (f64, usize, f64) {
        history.iter().fold((lr0, 0, f64::INFINITY), |state, r| {
            Schedule::step(state, r.validation_loss, lr_min, plateau)
        })
    }
}

/// Predicted-versus-true check used by tests and reports: RMSE of log(L + ε) on `batch`.
pub fn log_rmse(proxy: &crate::Proxy, batch: &PairBatch) -> Result<f64> {
    let eps = proxy.meta().normalization.epsilon;
    let mut se = 0.0;
    for b in 0..batch.loss.len() {
        let target: Array2<f64> = batch
            .targets
            .index_axis(ndarray::Axis(0), batch.target_of[b])
            .to_owned();
        let u = batch.u.row(b).to_vec();
        let pred = proxy.predict(&target, &[u])?[0];
        se += ((pred.max(0.0) + eps).ln() - (batch.loss[b] + eps).ln()).powi(2);
    }
    Ok((se / batch.loss.len() as f64).sqrt())
}
