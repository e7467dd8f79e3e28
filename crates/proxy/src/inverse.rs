//! The amortized direct inverse: a network Y* → u, the alternative Holl & Thuerey (arXiv
//! 2408.08119) argue for, beside the proxy.
//!
//! ```text
//! Y* (b × F × S) ──► the proxy's encoder (same kind, same widths) ─► linear ─ SiLU ─ … ─► outputs
//! outputs ──► u: sigmoid for a reflecting coordinate; atan2(s, c)/2π mod 1 for a periodic one
//! ```
//!
//! Two variants, both trained on the proxy's pool:
//!
//! - `supervised`: regression on the pool's (Y, u) pairs, free since the pool holds both
//!   (squared error in u; on the unit circle for a periodic coordinate);
//! - `physics`: trained on the physics loss L(Y, P(net(Y))) of pool trajectories as its main
//!   objective (Holl & Thuerey), through the simulator's exact gradient: dL/du from
//!   `loss_and_grad` is fed into the network's backward pass. It starts from the supervised
//!   network (a warm start: from random weights the prediction lands where the loss is flat or
//!   chaotic) and trains with its own learning rate for as many epochs as the physics loss on
//!   the validation targets keeps falling. Every simulator call, the validation ones included,
//!   is counted as the variant's one-off cost.
//!
//! The supervised checkpoint is the epoch with the lowest median parameter error of its
//! prediction on the pool's validation targets; the physics checkpoint, by default, the epoch
//! (the supervised start included) with the lowest median physics loss there
//! ([`PhysicsSelection`]): what the refinement that follows cares about is how near the
//! prediction's trajectory comes, not how near its parameters. Both are chosen on validation
//! targets only, like everything else.

use crate::adam::Adam;
use crate::checkpoint::{self, DatasetProvenance};
use crate::error::{Error, Result};
use crate::model::{EncoderKind, TrajectoryEncoder};
use crate::train::TrainSpec;
use ndarray::Array2;
use proxyland_dataset::Pool;
use proxyland_physics::{Boundary, ParamSpace, Simulator};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::nn::{self, Module, VarStore};
use tch::{Device, Kind, Tensor};

/// What an inverse-network file says it is.
pub const INVERSE_FORMAT: &str = "proxyland-inverse";
/// The inverse-network format this version writes and reads.
pub const INVERSE_FORMAT_VERSION: u32 = 1;

/// The inverse network's shape; stored in every file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InverseArchitecture {
    /// Parameter dimension d.
    pub params: usize,
    /// Which coordinates are periodic (predicted as a point on the unit circle).
    pub periodic: Vec<bool>,
    /// Frames F of a trajectory.
    pub frames: usize,
    /// State components S of a trajectory.
    pub components: usize,
    /// The encoder kind (the proxy's).
    pub encoder: EncoderKind,
    /// Encoder channels (the proxy's).
    pub encoder_channels: Vec<usize>,
    /// Embedding width (the proxy's).
    pub embedding: usize,
    /// Hidden widths after the embedding.
    pub hidden: Vec<usize>,
}

impl InverseArchitecture {
    fn outputs(&self) -> i64 {
        self.periodic.iter().map(|&p| if p { 2 } else { 1 }).sum()
    }
}

/// Which way an inverse network was trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InverseVariant {
    /// Regression on the pool's (Y, u) pairs.
    Supervised,
    /// The supervised network fine-tuned on the physics loss through the simulator's gradient.
    Physics,
}

impl InverseVariant {
    /// `supervised` or `physics`: the method label's suffix.
    pub fn name(self) -> &'static str {
        match self {
            InverseVariant::Supervised => "supervised",
            InverseVariant::Physics => "physics",
        }
    }
}

/// One epoch of either stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InverseEpoch {
    /// Mean training loss (supervised: squared error in u; physics: the configuration loss);
    /// none for the start of physics training, before any step.
    pub train_loss: Option<f64>,
    /// Median worst-coordinate error of the prediction on the pool's validation targets.
    pub validation_error: f64,
    /// Physics stage: median over the validation targets of the physics loss of the
    /// prediction, L(Y*, P(net(Y*))) (a failed simulation counts as infinite).
    #[serde(default)]
    pub validation_loss: Option<f64>,
}

/// Which validation score picks the physics variant's epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhysicsSelection {
    /// The median physics loss of the prediction on the validation targets (the default).
    PhysicsLoss,
    /// The median parameter error, as the supervised stage is chosen (what proxyland did before
    /// 0.1's scaling study v4; kept so the profiles measured that way stay reproducible).
    ParameterError,
}

impl PhysicsSelection {
    /// `physics-loss` or `parameter-error`.
    pub fn name(self) -> &'static str {
        match self {
            PhysicsSelection::PhysicsLoss => "physics-loss",
            PhysicsSelection::ParameterError => "parameter-error",
        }
    }

    /// The selection a name stands for; `None` for an unknown name.
    ///
    /// ```
    /// use proxyland_proxy::PhysicsSelection;
    /// assert_eq!(PhysicsSelection::parse("physics-loss"), Some(PhysicsSelection::PhysicsLoss));
    /// assert_eq!(PhysicsSelection::parse("loss"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        [Self::PhysicsLoss, Self::ParameterError]
            .into_iter()
            .find(|s| s.name() == name)
    }

    fn score(self, epoch: &InverseEpoch) -> f64 {
        match self {
            PhysicsSelection::PhysicsLoss => epoch.validation_loss.unwrap_or(f64::INFINITY),
            PhysicsSelection::ParameterError => epoch.validation_error,
        }
    }
}

/// What training did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InverseTraining {
    /// The seed (initialization, shuffling, fine-tuning samples).
    pub seed: u64,
    /// The device it trained on.
    pub device: String,
    /// Wall-clock seconds, the supervised stage included for the physics variant.
    pub seconds: f64,
    /// Adam's learning rate in the supervised stage (constant; physics training uses
    /// [`InverseOptions::physics_learning_rate`] of it).
    pub learning_rate: f64,
    /// Minibatch size of the supervised stage.
    pub batch_size: usize,
    /// Supervised epochs, one per row.
    pub supervised: Vec<InverseEpoch>,
    /// Physics training epochs (empty for the supervised variant); row 0 is the
    /// supervised network before physics training: the learning curve.
    pub physics: Vec<InverseEpoch>,
    /// Simulator calls of physics training (each with its gradient).
    pub physics_sim_calls: usize,
    /// Value-only simulator calls scoring the validation targets' physics loss.
    #[serde(default)]
    pub validation_sim_calls: usize,
    /// Training samples whose simulation failed (skipped, counted in the calls).
    pub physics_failed: usize,
    /// Why physics training ended early, when it diverged (every simulation of an epoch failed).
    #[serde(default)]
    pub physics_diverged: Option<String>,
    /// Which validation score chose the physics epoch (none for the supervised variant).
    #[serde(default)]
    pub selection: Option<PhysicsSelection>,
    /// The stage and epoch whose weights the file holds.
    pub chosen: String,
    /// Their median worst-coordinate error on the validation targets.
    pub validation_error: f64,
}

impl InverseTraining {
    /// Every simulator call training spent: the physics stage's (with gradient) and its
    /// validation scoring (value only). The pool's simulations are not counted here.
    pub fn sim_calls(&self) -> usize {
        self.physics_sim_calls + self.validation_sim_calls
    }

    /// Those calls in field solves, a call with gradient costing `tangent_cost` (1 + d for the
    /// forward-mode tangents of [`Simulator::tangent_cost`]).
    ///
    /// ```
    /// # use proxyland_proxy::InverseTraining;
    /// # fn check(t: &InverseTraining) {
    /// // 3072 gradient calls at d = 8 and 300 validation calls: 3072 · 9 + 300 solves.
    /// if (t.physics_sim_calls, t.validation_sim_calls) == (3072, 300) {
    ///     assert_eq!(t.field_solves(9), 3072 * 9 + 300);
    /// }
    /// # }
    /// ```
    pub fn field_solves(&self, tangent_cost: usize) -> usize {
        self.physics_sim_calls * tangent_cost + self.validation_sim_calls
    }
}

/// Everything an inverse-network file says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InverseMeta {
    /// Always [`INVERSE_FORMAT`].
    pub format: String,
    /// [`INVERSE_FORMAT_VERSION`] when written by this version.
    pub format_version: u32,
    /// The experiment.
    pub experiment: String,
    /// Names of the d parameters.
    pub param_names: Vec<String>,
    /// Lower bounds of the box (u = 0).
    pub lo: Vec<f64>,
    /// Upper bounds (u = 1).
    pub hi: Vec<f64>,
    /// The variant.
    pub variant: InverseVariant,
    /// The network's shape.
    pub architecture: InverseArchitecture,
    /// Trajectories enter as (Y − traj_mean)/traj_std.
    pub traj_mean: f64,
    /// See `traj_mean`.
    pub traj_std: f64,
    /// The pool it was trained on.
    pub dataset: DatasetProvenance,
    /// What training did.
    pub training: InverseTraining,
    /// The proxyland version that wrote it.
    pub proxyland_version: String,
}

/// The layers.
#[derive(Debug)]
struct InverseNet {
    arch: InverseArchitecture,
    encoder: TrajectoryEncoder,
    head: Vec<nn::Linear>,
}

impl InverseNet {
    fn new(root: &nn::Path, arch: &InverseArchitecture) -> Result<Self> {
        let encoder = TrajectoryEncoder::new(
            root,
            arch.encoder,
            &arch.encoder_channels,
            arch.embedding,
            (arch.frames, arch.components),
        )
        .ok_or_else(|| {
            Error::Input("an inverse network needs a trajectory encoder (encoder_channels)".into())
        })?;
        let head_path = root / "head";
        let mut width = arch.embedding as i64;
        let mut head = Vec::new();
        for (i, &h) in arch.hidden.iter().enumerate() {
            head.push(nn::linear(
                &head_path / format!("fc{i}"),
                width,
                h as i64,
                Default::default(),
            ));
            width = h as i64;
        }
        head.push(nn::linear(
            &head_path / "out",
            width,
            arch.outputs(),
            Default::default(),
        ));
        Ok(InverseNet {
            arch: arch.clone(),
            encoder,
            head,
        })
    }

    /// Raw outputs (b × outputs) for normalized trajectories (b × F × S).
    fn raw(&self, y: &Tensor) -> Tensor {
        let mut x = self.encoder.embed(y);
        let last = self.head.len() - 1;
        for (i, layer) in self.head.iter().enumerate() {
            x = layer.forward(&x);
            if i < last {
                x = x.silu();
            }
        }
        x
    }

    /// u ∈ [0, 1]^d (b × d) from raw outputs, differentiably.
    fn unit(&self, raw: &Tensor) -> Tensor {
        let mut col = 0;
        let cols: Vec<Tensor> = self
            .arch
            .periodic
            .iter()
            .map(|&p| {
                if p {
                    let c = raw.narrow(1, col, 1);
                    let s = raw.narrow(1, col + 1, 1);
                    col += 2;
                    (s.atan2(&c) / std::f64::consts::TAU).remainder(1.0)
                } else {
                    col += 1;
                    raw.narrow(1, col - 1, 1).sigmoid()
                }
            })
            .collect();
        Tensor::cat(&cols, 1)
    }

    /// Squared error against the true u (b × d): in u for a reflecting coordinate, on the unit
    /// circle for a periodic one (so 0.99 and 0.01 are close).
    fn supervised_loss(&self, raw: &Tensor, u: &Tensor) -> Tensor {
        let mut col = 0;
        let mut terms = Vec::with_capacity(self.arch.params);
        for (j, &p) in self.arch.periodic.iter().enumerate() {
            let truth = u.narrow(1, j as i64, 1);
            if p {
                let angle = &truth * std::f64::consts::TAU;
                let c = raw.narrow(1, col, 1);
                let s = raw.narrow(1, col + 1, 1);
                col += 2;
                terms.push((c - angle.cos()).square().mean(Kind::Float));
                terms.push((s - angle.sin()).square().mean(Kind::Float));
            } else {
                let z = raw.narrow(1, col, 1).sigmoid();
                col += 1;
                terms.push((z - truth).square().mean(Kind::Float));
            }
        }
        Tensor::stack(&terms, 0).sum(Kind::Float)
    }
}

/// How to train an inverse network.
#[derive(Debug, Clone)]
pub struct InverseOptions {
    /// Which variant to write.
    pub variant: InverseVariant,
    /// Seeds initialization, shuffling and the fine-tuning samples.
    pub seed: u64,
    /// Where it trains.
    pub device: crate::device::Device,
    /// Supervised epochs at most (one pass over the pool each).
    pub epochs: usize,
    /// Epochs without a better validation error before the supervised stage stops.
    pub patience: usize,
    /// Minibatch size of the supervised stage.
    pub batch_size: usize,
    /// Physics variant: pool trajectories trained on (each epoch simulates each once).
    pub physics_samples: usize,
    /// Physics variant: epochs at most.
    pub physics_epochs: usize,
    /// Physics variant: epochs without a better validation score before training stops.
    pub physics_patience: usize,
    /// Physics variant: trajectories per step.
    pub physics_batch: usize,
    /// Physics variant: its learning rate, as a fraction of the supervised one.
    pub physics_learning_rate: f64,
    /// Physics variant: the validation score that chooses the epoch.
    pub physics_selection: PhysicsSelection,
    /// Replace an existing file at the output.
    pub force: bool,
}

impl InverseOptions {
    /// Defaults: 200 supervised epochs (patience 20) in batches of 128 on the CPU; physics
    /// training on 1024 pool trajectories in batches of 32 (32 steps an epoch) at a tenth of
    /// the supervised learning rate, for up to 60 epochs with patience 10, chosen on the
    /// validation targets' physics loss: as many steps as a supervised run of ~60 epochs.
    ///
    /// ```
    /// use proxyland_proxy::{InverseOptions, InverseVariant, PhysicsSelection};
    /// let opts = InverseOptions { epochs: 50, ..InverseOptions::new(InverseVariant::Physics, 3) };
    /// assert_eq!(opts.physics_samples, 1024);
    /// assert_eq!(opts.physics_selection, PhysicsSelection::PhysicsLoss);
    /// ```
    pub fn new(variant: InverseVariant, seed: u64) -> Self {
        InverseOptions {
            variant,
            seed,
            device: crate::device::Device::Cpu,
            epochs: 200,
            patience: 20,
            batch_size: 128,
            physics_samples: 1024,
            physics_epochs: 60,
            physics_patience: 10,
            physics_batch: 32,
            physics_learning_rate: 0.1,
            physics_selection: PhysicsSelection::PhysicsLoss,
            force: false,
        }
    }
}

/// Trajectories of rows `idx` of a (n × F × S) array as a normalized float tensor.
fn trajectory_tensor(
    all: &ndarray::Array3<f64>,
    idx: &[usize],
    mean: f64,
    std: f64,
    device: Device,
) -> Tensor {
    let (_, f, s) = all.dim();
    let mut values = Vec::with_capacity(idx.len() * f * s);
    for &i in idx {
        values.extend(
            all.index_axis(ndarray::Axis(0), i)
                .iter()
                .map(|y| ((y - mean) / std) as f32),
        );
    }
    Tensor::from_slice(&values)
        .reshape([idx.len() as i64, f as i64, s as i64])
        .to_device(device)
}

fn unit_tensor(rows: &[Vec<f64>], device: Device) -> Tensor {
    let d = rows.first().map_or(0, Vec::len);
    let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
    Tensor::from_slice(&flat)
        .reshape([rows.len() as i64, d as i64])
        .to_device(device)
}

fn rows_of(t: &Tensor) -> Result<Vec<Vec<f64>>> {
    let t = t.detach().to_device(Device::Cpu).to_kind(Kind::Double);
    let (b, d) = (t.size()[0] as usize, t.size()[1] as usize);
    let flat = Vec::<f64>::try_from(t.flatten(0, -1))?;
    Ok((0..b).map(|i| flat[i * d..(i + 1) * d].to_vec()).collect())
}

/// Median over targets of the worst normalized coordinate error of `u` against the truth.
fn median_error(space: &ParamSpace, u: &[Vec<f64>], truth: &Array2<f64>) -> f64 {
    let mut errors: Vec<f64> = u
        .iter()
        .enumerate()
        .map(|(i, u)| {
            // A non-finite prediction is infinitely wrong (f64::max would drop its NaN and
            // score it perfect).
            space
                .normalized_distance(&space.from_unit(u), &truth.row(i).to_vec())
                .into_iter()
                .fold(0.0_f64, |worst, e| {
                    if e.is_finite() {
                        worst.max(e)
                    } else {
                        f64::INFINITY
                    }
                })
        })
        .collect();
    errors.sort_by(f64::total_cmp);
    errors.get(errors.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Predictions for many trajectories in batches, without gradients.
fn predict_rows(
    net: &InverseNet,
    trajectories: &ndarray::Array3<f64>,
    mean: f64,
    std: f64,
    device: Device,
) -> Result<Vec<Vec<f64>>> {
    let n = trajectories.dim().0;
    let mut out = Vec::with_capacity(n);
    let idx: Vec<usize> = (0..n).collect();
    for chunk in idx.chunks(256) {
        let y = trajectory_tensor(trajectories, chunk, mean, std, device);
        let u = tch::no_grad(|| net.unit(&net.raw(&y)));
        out.extend(rows_of(&u)?);
    }
    Ok(out)
}

/// A seeded permutation of `0..n` (torch's generator, seeded by the caller).
fn permutation(n: usize) -> Result<Vec<usize>> {
    let p = Tensor::randperm(n as i64, (Kind::Int64, Device::Cpu));
    Ok(Vec::<i64>::try_from(p)?
        .into_iter()
        .map(|i| i as usize)
        .collect())
}

/// Trains an inverse network on `pool` and writes it to `out`. The physics variant needs the
/// simulator (`sim`) and starts from the supervised network in `from` (whose training time is
/// counted in its one-off cost); the supervised variant takes neither.
pub fn train_inverse(
    pool: &Pool,
    spec: &TrainSpec,
    sim: Option<&dyn Simulator>,
    from: Option<&Path>,
    opts: &InverseOptions,
    out: &Path,
    on_epoch: &dyn Fn(&str, usize, &InverseEpoch),
) -> Result<InverseMeta> {
    if out.exists() && !opts.force {
        return Err(Error::Io {
            path: out.to_path_buf(),
            message: "already exists; training would replace it (nothing was changed)".into(),
        });
    }
    if opts.epochs == 0 || opts.batch_size == 0 || opts.physics_batch == 0 {
        return Err(Error::Input(
            "inverse network: epochs and batch sizes must be positive".into(),
        ));
    }
    let rate = opts.physics_learning_rate;
    if !(rate > 0.0 && rate.is_finite()) {
        return Err(Error::Input(format!(
            "inverse network: the physics learning-rate fraction {rate} must be positive"
        )));
    }
    let space = spec.space.clone();
    if pool.fixed_target {
        return Err(Error::Input(format!(
            "{}: {} has one fixed target and no trajectories to invert",
            pool.path.display(),
            spec.experiment
        )));
    }
    if pool.param_box.row(0).to_vec() != space.lo || pool.param_box.row(1).to_vec() != space.hi {
        return Err(Error::Input(format!(
            "{}: the pool's parameter box differs from the experiment's",
            pool.path.display()
        )));
    }
    if pool.validation_params.nrows() == 0 {
        return Err(Error::Input(format!(
            "{}: the pool holds no validation targets to choose the checkpoint on",
            pool.path.display()
        )));
    }
    let _rng = crate::torch_rng_lock();
    let started = Instant::now();
    let device = opts.device.tch();
    let valid = pool.valid();
    let (frames, components) = pool.trajectory_shape();
    let settings = &spec.settings;
    let encoder = EncoderKind::parse(&settings.encoder).ok_or_else(|| {
        Error::Input(format!(
            "proxy.encoder = \"{}\" is not an encoder this proxyland knows",
            settings.encoder
        ))
    })?;
    let arch = InverseArchitecture {
        params: space.dim(),
        periodic: space
            .boundary
            .iter()
            .map(|b| *b == Boundary::Periodic)
            .collect(),
        frames,
        components,
        encoder,
        encoder_channels: settings.encoder_channels.clone(),
        embedding: settings.embedding,
        hidden: settings.hidden.clone(),
    };
    let (mut sum, mut sq, mut n) = (0.0, 0.0, 0.0);
    for &i in &valid {
        for &y in pool.trajectories.index_axis(ndarray::Axis(0), i) {
            sum += y;
            sq += y * y;
            n += 1.0;
        }
    }
    let traj_mean = sum / n;
    let traj_std = (sq / n - traj_mean * traj_mean).max(0.0).sqrt().max(1e-12);

    tch::manual_seed(opts.seed as i64);
    let mut vs = VarStore::new(device);
    let net = InverseNet::new(&vs.root(), &arch)?;
    let mut best = VarStore::new(device);
    let _best_net = InverseNet::new(&best.root(), &arch)?;
    let validation_error = |net: &InverseNet| -> Result<f64> {
        let u = predict_rows(
            net,
            &pool.validation_trajectories,
            traj_mean,
            traj_std,
            device,
        )?;
        Ok(median_error(&space, &u, &pool.validation_params))
    };
    let mut training = InverseTraining {
        seed: opts.seed,
        device: crate::device::describe(opts.device),
        seconds: 0.0,
        learning_rate: settings.learning_rate,
        batch_size: opts.batch_size,
        supervised: vec![],
        physics: vec![],
        physics_sim_calls: 0,
        validation_sim_calls: 0,
        physics_failed: 0,
        physics_diverged: None,
        selection: None,
        chosen: String::new(),
        validation_error: f64::INFINITY,
    };
    let mut earlier_seconds = 0.0;
    match (opts.variant, from) {
        (InverseVariant::Supervised, None) => {
            let units: Vec<Vec<f64>> = valid
                .iter()
                .map(|&i| space.to_unit(&pool.params.row(i).to_vec()))
                .collect();
            let mut adam = Adam::new(&vs, settings.learning_rate);
            let mut since_best = 0;
            for epoch in 0..opts.epochs {
                let order = permutation(valid.len())?;
                let (mut total, mut batches) = (0.0, 0);
                for chunk in order.chunks(opts.batch_size) {
                    let rows: Vec<usize> = chunk.iter().map(|&k| valid[k]).collect();
                    let y =
                        trajectory_tensor(&pool.trajectories, &rows, traj_mean, traj_std, device);
                    let u: Vec<Vec<f64>> = chunk.iter().map(|&k| units[k].clone()).collect();
                    let loss = net.supervised_loss(&net.raw(&y), &unit_tensor(&u, device));
                    adam.backward_step(&loss);
                    total += f64::try_from(&loss)?;
                    batches += 1;
                }
                let train_loss = total / batches.max(1) as f64;
                if !train_loss.is_finite() {
                    return Err(Error::Diverged {
                        epoch,
                        loss: train_loss,
                    });
                }
                let record = InverseEpoch {
                    train_loss: Some(train_loss),
                    validation_error: validation_error(&net)?,
                    validation_loss: None,
                };
                on_epoch("supervised", epoch, &record);
                training.supervised.push(record);
                if record.validation_error < training.validation_error {
                    training.validation_error = record.validation_error;
                    training.chosen = format!("supervised epoch {epoch}");
                    best.copy(&vs)?;
                    since_best = 0;
                } else {
                    since_best += 1;
                    if since_best >= opts.patience.max(1) {
                        break;
                    }
                }
            }
        }
        (InverseVariant::Physics, Some(from)) => {
            let sim =
                sim.ok_or_else(|| Error::Input("the physics variant needs the simulator".into()))?;
            let (base, tensors) = read_inverse(from)?;
            if base.variant != InverseVariant::Supervised
                || base.architecture != arch
                || base.dataset.hash != pool.header.provenance_hash()
            {
                return Err(Error::Input(format!(
                    "--from {}: physics training starts from a supervised network of this pool \
                     and architecture",
                    from.display()
                )));
            }
            checkpoint::fill(&mut vs, &tensors, from)?;
            earlier_seconds = base.training.seconds;
            training.supervised = base.training.supervised.clone();
            train_on_physics(
                &net,
                &vs,
                &mut best,
                pool,
                sim,
                &space,
                (traj_mean, traj_std),
                settings.learning_rate,
                opts,
                &mut training,
                &validation_error,
                on_epoch,
            )?;
        }
        (InverseVariant::Supervised, Some(_)) => {
            return Err(Error::Input(
                "the supervised variant trains from scratch: give no --from".into(),
            ));
        }
        (InverseVariant::Physics, None) => {
            return Err(Error::Input(
                "the physics variant starts from a supervised network: give --from".into(),
            ));
        }
    }
    training.seconds = earlier_seconds + started.elapsed().as_secs_f64();
    let meta = InverseMeta {
        format: INVERSE_FORMAT.into(),
        format_version: INVERSE_FORMAT_VERSION,
        experiment: spec.experiment.clone(),
        param_names: space.names.clone(),
        lo: space.lo.clone(),
        hi: space.hi.clone(),
        variant: opts.variant,
        architecture: arch,
        traj_mean,
        traj_std,
        dataset: DatasetProvenance {
            path: pool.path.clone(),
            hash: pool.header.provenance_hash(),
            samples: pool.header.len(),
            seed: pool.header.seed,
        },
        training,
        proxyland_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    checkpoint::save_named(best.variables().into_iter().collect(), &meta, out)?;
    Ok(meta)
}

/// Median over the validation targets of the physics loss of the network's prediction, and
/// the value-only simulator calls it took (one per target).
fn validation_physics_loss(
    net: &InverseNet,
    pool: &Pool,
    sim: &dyn Simulator,
    space: &ParamSpace,
    (traj_mean, traj_std): (f64, f64),
    device: Device,
) -> Result<(f64, usize)> {
    let u = predict_rows(
        net,
        &pool.validation_trajectories,
        traj_mean,
        traj_std,
        device,
    )?;
    let mut losses: Vec<f64> = u
        .par_iter()
        .enumerate()
        .map(|(i, u)| {
            let target = pool
                .validation_trajectories
                .index_axis(ndarray::Axis(0), i)
                .to_owned();
            sim.loss(&space.from_unit(u), &target)
                .ok()
                .filter(|l| l.is_finite())
                .unwrap_or(f64::INFINITY)
        })
        .collect();
    losses.sort_by(f64::total_cmp);
    let median = losses.get(losses.len() / 2).copied().unwrap_or(f64::NAN);
    Ok((median, losses.len()))
}

/// The physics stage: minimizes L(Y, P(net(Y))) over pool trajectories through the simulator's
/// exact gradient, for up to `physics_epochs` epochs, stopping after `physics_patience` epochs
/// without a better validation score, and keeping the best epoch by that score (epoch 0, the
/// supervised start, included: physics training that does not help leaves the network as it
/// was, and the file says so).
#[allow(clippy::too_many_arguments)]
fn train_on_physics(
    net: &InverseNet,
    vs: &VarStore,
    best: &mut VarStore,
    pool: &Pool,
    sim: &dyn Simulator,
    space: &ParamSpace,
    normalization: (f64, f64),
    learning_rate: f64,
    opts: &InverseOptions,
    training: &mut InverseTraining,
    validation_error: &dyn Fn(&InverseNet) -> Result<f64>,
    on_epoch: &dyn Fn(&str, usize, &InverseEpoch),
) -> Result<()> {
    let device = opts.device.tch();
    let (traj_mean, traj_std) = normalization;
    let selection = opts.physics_selection;
    training.selection = Some(selection);
    // Scoring on the physics loss spends one value call per validation target, counted in the
    // one-off cost; chosen on parameter error (the pinned earlier protocol) it spends none, as
    // that protocol did not.
    let score = |net: &InverseNet, train_loss: Option<f64>| -> Result<(InverseEpoch, usize)> {
        let (loss, calls) = match selection {
            PhysicsSelection::PhysicsLoss => {
                let (loss, calls) =
                    validation_physics_loss(net, pool, sim, space, normalization, device)?;
                (Some(loss), calls)
            }
            PhysicsSelection::ParameterError => (None, 0),
        };
        let epoch = InverseEpoch {
            train_loss,
            validation_error: validation_error(net)?,
            validation_loss: loss,
        };
        Ok((epoch, calls))
    };
    let (start, calls) = score(net, None)?;
    training.validation_sim_calls += calls;
    on_epoch("physics", 0, &start);
    let mut best_score = selection.score(&start);
    let mut chosen = (
        "physics epoch 0 (the supervised network)".to_string(),
        start.validation_error,
    );
    let mut curve = vec![start];
    best.copy(vs)?;
    let valid = pool.valid();
    let order = permutation(valid.len())?;
    let samples: Vec<usize> = order
        .iter()
        .take(opts.physics_samples.max(1))
        .map(|&k| valid[k])
        .collect();
    let width: Vec<f64> = (0..space.dim()).map(|j| space.width(j)).collect();
    let mut adam = Adam::new(vs, learning_rate * opts.physics_learning_rate);
    let mut since_best = 0;
    for epoch in 1..=opts.physics_epochs {
        let (mut total, mut counted) = (0.0, 0usize);
        for chunk in samples.chunks(opts.physics_batch.max(1)) {
            let y = trajectory_tensor(&pool.trajectories, chunk, traj_mean, traj_std, device);
            let u = net.unit(&net.raw(&y));
            let rows = rows_of(&u)?;
            // dL/du of each sample from the simulator: one call with its gradient each.
            let grads: Vec<Option<(f64, Vec<f64>)>> = chunk
                .par_iter()
                .zip(&rows)
                .map(|(&i, u)| {
                    let target = pool.trajectories.index_axis(ndarray::Axis(0), i).to_owned();
                    sim.loss_and_grad(&space.from_unit(u), &target)
                        .ok()
                        .filter(|(l, g)| l.is_finite() && g.iter().all(|v| v.is_finite()))
                        .map(|(l, g)| (l, g.iter().zip(&width).map(|(g, w)| g * w).collect()))
                })
                .collect();
            training.physics_sim_calls += chunk.len();
            training.physics_failed += grads.iter().filter(|g| g.is_none()).count();
            let (batch_loss, batch_counted, g) = clipped_gradients(&grads, space.dim());
            total += batch_loss;
            counted += batch_counted;
            let g = Tensor::from_slice(&g)
                .reshape([chunk.len() as i64, space.dim() as i64])
                .to_device(device);
            // d/dθ of Σ u·(dL/du) is Σ (dL/du)·du/dθ: the simulator's gradient, back-propagated.
            let surrogate = (&u * g).sum(Kind::Float) / chunk.len() as f64;
            adam.backward_step(&surrogate);
        }
        // Every sample failing means the network now predicts where the simulator cannot go
        // (or predicts NaN): training has diverged; the best epoch so far is kept, and the
        // file says why training ended.
        if counted == 0 {
            let why = format!(
                "physics epoch {epoch}: every one of its {} simulations failed",
                samples.len()
            );
            tracing::warn!("{why}; keeping {}", chosen.0);
            training.physics_diverged = Some(why);
            break;
        }
        let train_loss = total / counted as f64;
        let (record, calls) = score(net, Some(train_loss))?;
        training.validation_sim_calls += calls;
        on_epoch("physics", epoch, &record);
        curve.push(record);
        if selection.score(&record) < best_score {
            best_score = selection.score(&record);
            chosen = (format!("physics epoch {epoch}"), record.validation_error);
            best.copy(vs)?;
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= opts.physics_patience.max(1) {
                break;
            }
        }
    }
    training.physics = curve;
    training.chosen = chosen.0;
    training.validation_error = chosen.1;
    Ok(())
}

/// The batch's summed loss, how many samples it counts, and the flattened (b × d) gradients,
/// each clipped at the batch's median norm (a failed sample contributes zeros): on a chaotic
/// system one sample's gradient can be orders of magnitude above the rest and would throw the
/// network.
fn clipped_gradients(grads: &[Option<(f64, Vec<f64>)>], d: usize) -> (f64, usize, Vec<f32>) {
    let mut norms: Vec<f64> = grads
        .iter()
        .flatten()
        .map(|(_, g)| g.iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect();
    norms.sort_by(f64::total_cmp);
    let clip = norms.get(norms.len() / 2).copied().unwrap_or(0.0);
    let (mut total, mut counted) = (0.0, 0);
    let mut flat = Vec::with_capacity(grads.len() * d);
    for g in grads {
        match g {
            Some((l, g)) => {
                total += l;
                counted += 1;
                let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
                let scale = if norm > clip && norm > 0.0 {
                    clip / norm
                } else {
                    1.0
                };
                // Clamped so an enormous gradient cannot overflow f32 into ±∞.
                flat.extend(
                    g.iter()
                        .map(|v| (v * scale).clamp(f32::MIN as f64, f32::MAX as f64) as f32),
                );
            }
            None => flat.extend(std::iter::repeat_n(0.0f32, d)),
        }
    }
    (total, counted, flat)
}

fn read_inverse(path: &Path) -> Result<(InverseMeta, checkpoint::NamedTensors)> {
    checkpoint::read_as(path, INVERSE_FORMAT, INVERSE_FORMAT_VERSION)
}

/// A trained inverse network, loaded for predictions on the CPU.
///
/// ```no_run
/// use proxyland_proxy::InverseModel;
/// let net = InverseModel::load("runs/scaling/ks-m4/inverse-supervised.safetensors".as_ref())?;
/// # let y: ndarray::Array2<f64> = unimplemented!();
/// let u = net.predict(&[y])?; // normalized coordinates, one row per trajectory
/// # Ok::<(), proxyland_proxy::Error>(())
/// ```
#[derive(Debug)]
pub struct InverseModel {
    path: PathBuf,
    meta: InverseMeta,
    net: InverseNet,
    vs: VarStore,
}

/// Test-time training: the network trained on further on the physics loss of the very
/// observations it is asked to invert, before its predictions are refined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adaptation {
    /// Passes over the observations; each simulates every observation once, with its gradient.
    pub epochs: usize,
    /// Adam's learning rate, as a fraction of the network's supervised one.
    pub learning_rate: f64,
}

/// What [`InverseModel::adapt`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Adapted {
    /// Per observation, the prediction with the lowest physics loss seen during adaptation
    /// (the unadapted network's among them), in u ∈ [0, 1]^d.
    pub u: Vec<Vec<f64>>,
    /// Its physics loss (infinite where every simulation failed).
    pub loss: Vec<f64>,
    /// Simulator calls, each with its gradient, spent on every observation: one per epoch.
    pub calls_per_observation: usize,
    /// Wall-clock seconds of the whole adaptation.
    pub seconds: f64,
}

impl InverseModel {
    /// Loads a file written by [`train_inverse`].
    pub fn load(path: &Path) -> Result<InverseModel> {
        let (meta, tensors) = read_inverse(path)?;
        let mut vs = VarStore::new(Device::Cpu);
        let net = {
            let _rng = crate::torch_rng_lock();
            InverseNet::new(&vs.root(), &meta.architecture)?
        };
        checkpoint::fill(&mut vs, &tensors, path)?;
        vs.freeze();
        Ok(InverseModel {
            path: path.to_path_buf(),
            meta,
            net,
            vs,
        })
    }

    /// What the file says about itself.
    pub fn meta(&self) -> &InverseMeta {
        &self.meta
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses use on another experiment, dimension, parameter box or trajectory shape than
    /// `sim`'s.
    pub fn check_compatible(&self, sim: &dyn Simulator) -> Result<()> {
        let m = &self.meta;
        let a = &m.architecture;
        crate::predict::check_fit(
            &self.path,
            crate::predict::Fit {
                experiment: &m.experiment,
                lo: &m.lo,
                hi: &m.hi,
                shape: (a.frames, a.components),
            },
            sim,
        )
    }

    /// The predicted u ∈ [0, 1]^d of each trajectory.
    pub fn predict(&self, trajectories: &[Array2<f64>]) -> Result<Vec<Vec<f64>>> {
        predict_rows(
            &self.net,
            &self.stack(trajectories)?,
            self.meta.traj_mean,
            self.meta.traj_std,
            Device::Cpu,
        )
    }

    /// The trajectories as one (n × F × S) array, refused unless each has the network's shape
    /// and only finite values.
    fn stack(&self, trajectories: &[Array2<f64>]) -> Result<ndarray::Array3<f64>> {
        let a = &self.meta.architecture;
        if let Some(bad) = trajectories
            .iter()
            .find(|y| y.dim() != (a.frames, a.components) || y.iter().any(|v| !v.is_finite()))
        {
            return Err(Error::Input(format!(
                "a trajectory of {:?} (finite values of {} × {} expected by {})",
                bad.dim(),
                a.frames,
                a.components,
                self.path.display()
            )));
        }
        let mut all = ndarray::Array3::zeros((trajectories.len(), a.frames, a.components));
        for (i, y) in trajectories.iter().enumerate() {
            all.index_axis_mut(ndarray::Axis(0), i).assign(y);
        }
        Ok(all)
    }

    /// Test-time training on `observations` (arXiv 2408.08119's refinement of the network on
    /// the data it is solving): a copy of the network is scored `epochs` times on the physics
    /// loss of every observation, through `sim`'s exact gradient, with Adam steps on those
    /// gradients between consecutive scorings (one per 256 observations), and each observation
    /// keeps the prediction with the lowest loss scored (the unadapted one among them). The
    /// file's network is left as it is.
    ///
    /// Every observation is simulated once per scoring with its gradient, so its cost is
    /// `epochs` calls (`epochs · (1 + d)` field solves), charged to that observation. No step
    /// follows the last scoring: a network nobody scores is not paid for.
    ///
    /// ```no_run
    /// # fn main() -> proxyland_proxy::Result<()> {
    /// use proxyland_proxy::{Adaptation, InverseModel};
    /// let net = InverseModel::load("runs/scaling/ks-m8/inverse-physics.safetensors".as_ref())?;
    /// let sim = proxyland_physics::experiment("ks-m8").expect("a built-in experiment");
    /// let observed = vec![sim.simulate(&[0.1; 8]).expect("a simulation")];
    /// let adapted = net.adapt(sim.as_ref(), &observed, Adaptation { epochs: 8, learning_rate: 0.1 })?;
    /// assert_eq!(adapted.calls_per_observation, 8);
    /// # Ok(()) }
    /// ```
    pub fn adapt(
        &self,
        sim: &dyn Simulator,
        observations: &[Array2<f64>],
        opts: Adaptation,
    ) -> Result<Adapted> {
        let started = Instant::now();
        if !(opts.learning_rate > 0.0 && opts.learning_rate.is_finite()) {
            return Err(Error::Input(format!(
                "test-time training: the learning-rate fraction {} must be positive",
                opts.learning_rate
            )));
        }
        self.check_compatible(sim)?;
        let all = self.stack(observations)?;
        let n = observations.len();
        let mut vs = VarStore::new(Device::Cpu);
        let net = {
            let _rng = crate::torch_rng_lock();
            InverseNet::new(&vs.root(), &self.meta.architecture)?
        };
        vs.copy(&self.vs)?;
        let space = sim.param_space();
        let width: Vec<f64> = (0..space.dim()).map(|j| space.width(j)).collect();
        let mut adam = Adam::new(&vs, self.meta.training.learning_rate * opts.learning_rate);
        let mut best: Vec<(f64, Vec<f64>)> = Vec::new();
        let idx: Vec<usize> = (0..n).collect();
        let (mean, std) = (self.meta.traj_mean, self.meta.traj_std);
        for epoch in 0..opts.epochs {
            let last = epoch + 1 == opts.epochs;
            let mut seen = Vec::with_capacity(n);
            for chunk in idx.chunks(256) {
                let y = trajectory_tensor(&all, chunk, mean, std, Device::Cpu);
                let u = net.unit(&net.raw(&y));
                let rows = rows_of(&u)?;
                let grads: Vec<Option<(f64, Vec<f64>)>> = chunk
                    .par_iter()
                    .zip(&rows)
                    .map(|(&i, u)| {
                        sim.loss_and_grad(&space.from_unit(u), &observations[i])
                            .ok()
                            .filter(|(l, g)| l.is_finite() && g.iter().all(|v| v.is_finite()))
                            .map(|(l, g)| (l, g.iter().zip(&width).map(|(g, w)| g * w).collect()))
                    })
                    .collect();
                seen.extend(
                    grads
                        .iter()
                        .zip(&rows)
                        .map(|(g, u)| (g.as_ref().map_or(f64::INFINITY, |g| g.0), u.clone())),
                );
                if last {
                    continue;
                }
                let (_, _, g) = clipped_gradients(&grads, space.dim());
                let g = Tensor::from_slice(&g).reshape([chunk.len() as i64, space.dim() as i64]);
                let surrogate = (&u * g).sum(Kind::Float) / chunk.len() as f64;
                adam.backward_step(&surrogate);
            }
            if best.is_empty() {
                best = seen;
            } else {
                for (b, s) in best.iter_mut().zip(seen) {
                    if s.0 < b.0 {
                        *b = s;
                    }
                }
            }
        }
        if best.is_empty() {
            // No epoch: the network's own prediction, unscored.
            let u = self.predict(observations)?;
            best = u.into_iter().map(|u| (f64::INFINITY, u)).collect();
        }
        let (loss, u) = best.into_iter().unzip();
        Ok(Adapted {
            u,
            loss,
            calls_per_observation: opts.epochs,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}
