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
//!
//! Both stages train through the training core the proxy uses (`training_core`): the file
//! `<out>.resume` holds the weights, the best epoch's and Adam's moments after every epoch, and
//! `resume` continues an interrupted run to the very weights an uninterrupted one reaches.

mod model;
mod net;
mod physics;
mod run;
mod supervised;
mod tensors;

use crate::checkpoint::DatasetProvenance;
use crate::model::EncoderKind;
use serde::{Deserialize, Serialize};

pub use model::{Adaptation, Adapted, InverseModel};
pub use supervised::train_inverse;

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

    /// The epoch's score, lower is better; an unmeasured or NaN one (a network predicting NaN)
    /// counts as infinitely bad, so that any measured epoch beats it, live and in a resumed
    /// run's replay alike.
    fn score(self, epoch: &InverseEpoch) -> f64 {
        let score = match self {
            PhysicsSelection::PhysicsLoss => epoch.validation_loss,
            PhysicsSelection::ParameterError => Some(epoch.validation_error),
        };
        score.filter(|s| !s.is_nan()).unwrap_or(f64::INFINITY)
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
    /// Physics variant: how its stage steps (none for the supervised variant).
    #[serde(default)]
    pub physics_schedule: Option<PhysicsSchedule>,
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
    /// Adam's steps in the last stage (what a resumed run restores its bias correction from).
    #[serde(default)]
    pub adam_steps: i64,
}

/// How the physics stage steps: recorded so the file says it, and so a resumed run can be
/// refused when it would continue with other settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PhysicsSchedule {
    /// Pool trajectories trained on.
    pub samples: usize,
    /// Trajectories per step.
    pub batch: usize,
    /// The learning rate, as a fraction of the supervised one.
    pub learning_rate_fraction: f64,
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
    ///
    /// [`Simulator::tangent_cost`]: proxyland_physics::Simulator::tangent_cost
    pub fn field_solves(&self, tangent_cost: usize) -> usize {
        self.physics_sim_calls * tangent_cost + self.validation_sim_calls
    }

    /// The row of [`physics`](Self::physics) whose weights the file holds (0: the supervised
    /// network was kept), or `None` when the file holds a supervised-only network. Read from
    /// [`chosen`](Self::chosen), which physics training writes as "physics epoch N ...".
    pub fn kept_physics_epoch(&self) -> Option<usize> {
        self.chosen
            .strip_prefix("physics epoch ")
            .and_then(|e| e.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .filter(|e| *e < self.physics.len())
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
    /// Replace an existing file at the output, and discard an interrupted run's state there.
    pub force: bool,
    /// Continue from `<out>.resume` left by an interrupted run.
    pub resume: bool,
    /// Testing hook: stop with [`Error::Interrupted`](crate::Error::Interrupted) after this
    /// many epochs of this run, leaving the resume state behind (as a killed process would).
    pub stop_after: Option<usize>,
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
            resume: false,
            stop_after: None,
        }
    }
}
