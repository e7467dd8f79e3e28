//! An inverse network's training in progress: the network, the best epoch's weights, the file's
//! metadata with the record so far, and the resume state after every epoch, through the training
//! core the proxy's training uses.

use super::model::read_inverse;
use super::net::InverseNet;
use super::{InverseEpoch, InverseMeta, InverseOptions};
use crate::adam::Adam;
use crate::checkpoint;
use crate::error::{Error, Result};
use crate::training_core::{Clock, ResumeTensors, interrupt_after, state_tensors};
use proxyland_dataset::Pool;
use proxyland_physics::ParamSpace;
use proxyland_physics::rng::Domain;
use std::path::{Path, PathBuf};
use tch::Device;
use tch::nn::VarStore;

/// What every epoch of either stage reads and none changes.
pub(super) struct Stage<'a> {
    pub(super) pool: &'a Pool,
    pub(super) space: &'a ParamSpace,
    /// Trajectories enter as (Y − mean)/std: (mean, std).
    pub(super) normalization: (f64, f64),
    /// The supervised stage's learning rate (the physics stage's is a fraction of it).
    pub(super) learning_rate: f64,
    pub(super) opts: &'a InverseOptions,
    /// Median worst-coordinate error of the network's prediction on the validation targets.
    pub(super) validation_error: &'a dyn Fn(&InverseNet) -> Result<f64>,
    pub(super) on_epoch: &'a dyn Fn(&str, usize, &InverseEpoch),
}

/// One inverse network's training: both stages work on it, epoch by epoch.
pub(super) struct InverseRun {
    pub(super) net: InverseNet,
    pub(super) vs: VarStore,
    /// The best epoch's weights so far (what the file will hold).
    pub(super) best: VarStore,
    /// Declares the best weights' variables in `best` (never run).
    _best_net: InverseNet,
    /// What the file will say; its `training` is the record so far.
    pub(super) meta: InverseMeta,
    resume_path: PathBuf,
    resume: bool,
    stop_after: Option<usize>,
    clock: Clock,
}

impl InverseRun {
    /// A network of `meta.architecture` initialized from libtorch's generator seeded with
    /// `opts.seed` (the generator then shuffles the supervised epochs), an empty store for the
    /// best weights, and the record of a run that has not trained.
    pub(super) fn new(
        meta: InverseMeta,
        opts: &InverseOptions,
        device: Device,
        resume_path: PathBuf,
    ) -> Result<Self> {
        tch::manual_seed(Domain::InverseTorch.torch_seed(opts.seed, 0));
        let vs = VarStore::new(device);
        let net = InverseNet::new(&vs.root(), &meta.architecture)?;
        let best = VarStore::new(device);
        let _best_net = InverseNet::new(&best.root(), &meta.architecture)?;
        Ok(InverseRun {
            net,
            vs,
            best,
            _best_net,
            clock: Clock::starting_at(meta.training.seconds),
            meta,
            resume_path,
            resume: opts.resume,
            stop_after: opts.stop_after,
        })
    }

    /// Seconds spent so far: this run's, an earlier stage's and an interrupted run's.
    pub(super) fn spent_before(&mut self, seconds: f64) {
        self.meta.training.seconds = seconds;
        self.clock = self.clock.with_prior(seconds);
    }

    /// When asked to resume and `<out>.resume` exists: restores its weights, best weights,
    /// Adam's moments (into `adam`, the stage's optimizer) and record, after checking that it
    /// is this run interrupted. Returns whether it did.
    pub(super) fn resume_into(&mut self, adam: &mut Adam) -> Result<bool> {
        if !(self.resume && self.resume_path.exists()) {
            return Ok(false);
        }
        let path = self.resume_path.clone();
        let (state, all) = read_inverse(&path)?;
        check_same_run(&state, &self.meta, &path)?;
        ResumeTensors::split(all, "").restore(
            &mut self.vs,
            &mut self.best,
            adam,
            state.training.adam_steps,
            &path,
        )?;
        let device = std::mem::take(&mut self.meta.training.device);
        self.meta.training = state.training;
        self.meta.training.device = device;
        self.spent_before(self.meta.training.seconds);
        tracing::info!(path = %path.display(), "resuming the inverse network's training");
        Ok(true)
    }

    /// After epoch `epoch` of a stage that started this run at `start_epoch` and ends at
    /// `last_epoch`: writes the resume state, then stops as the testing hook asks.
    pub(super) fn after_epoch(
        &mut self,
        adam: &Adam,
        epoch: usize,
        start_epoch: usize,
        last_epoch: usize,
    ) -> Result<()> {
        let (state, steps) = state_tensors(&self.vs, &self.best, adam);
        self.meta.training.adam_steps = steps;
        self.meta.training.seconds = self.clock.seconds();
        checkpoint::save_named(state, &self.meta, &self.resume_path)?;
        interrupt_after(
            self.stop_after,
            epoch,
            start_epoch,
            last_epoch,
            &self.resume_path,
        )
    }

    /// Writes the best weights with the metadata to `out`, removes the resume state and
    /// returns the metadata.
    pub(super) fn finish(mut self, out: &Path) -> Result<InverseMeta> {
        self.meta.training.seconds = self.clock.seconds();
        checkpoint::save_named(self.best.variables().into_iter().collect(), &self.meta, out)?;
        let _ = std::fs::remove_file(&self.resume_path);
        Ok(self.meta)
    }
}

/// Refuses to resume an interrupted run (`state`, read from `path`) of other data, another
/// variant, network, start or settings than this one's (`meta`).
fn check_same_run(state: &InverseMeta, meta: &InverseMeta, path: &Path) -> Result<()> {
    let (then, now) = (&state.training, &meta.training);
    let same = state.experiment == meta.experiment
        && state.dataset.hash == meta.dataset.hash
        && state.variant == meta.variant
        && state.architecture == meta.architecture
        && then.seed == now.seed
        && then.learning_rate == now.learning_rate
        && then.batch_size == now.batch_size
        && then.selection == now.selection
        && then.physics_schedule == now.physics_schedule
        // The physics variant's start: the supervised network's own record.
        && then.supervised.len() >= now.supervised.len()
        && then.supervised[..now.supervised.len()] == now.supervised[..];
    if same {
        return Ok(());
    }
    Err(Error::Checkpoint {
        path: path.to_path_buf(),
        field: "experiment/dataset/variant/architecture/seed/learning rate/batch size/\
                selection/physics schedule/--from"
            .into(),
        message: "the interrupted run used other data or settings; delete it or rerun with \
                  the original settings"
            .into(),
    })
}
