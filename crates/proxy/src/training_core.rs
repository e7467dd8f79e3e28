//! The training core the proxy ([`crate::train_with`]) and the inverse network
//! ([`crate::train_inverse`]) share: the output they refuse to replace, the resume file beside it
//! (current weights, the best epoch's, Adam's moments) written atomically after every epoch, the
//! clock that spans interruptions, the patience that ends training, and what both record about
//! the pool they learn from (trajectory moments, provenance).
//!
//! Each training keeps its own epoch (what a step is, what "better" means); this module holds
//! what makes an epoch resumable and a run stoppable, so that a fix to either reaches both.

use crate::adam::Adam;
use crate::checkpoint::{self, DatasetProvenance, NamedTensors};
use crate::error::{Error, Result};
use proxyland_dataset::Pool;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::Tensor;
use tch::nn::VarStore;

/// Where an interrupted run keeps its state: `<out>.resume`, one file holding the current
/// weights, the best weights so far (`best.` prefix) and the optimizer's moments (`adam.`
/// prefix), written atomically after every epoch, so a kill at any instant leaves a consistent
/// state.
pub(crate) fn resume_path(out: &Path) -> PathBuf {
    let mut current = out.as_os_str().to_owned();
    current.push(".resume");
    PathBuf::from(current)
}

/// Refuses to replace a network at `out` or an interrupted run's state at `resume_path`
/// (unless `force`, which discards that state; `resume` keeps it).
pub(crate) fn clear_the_output(
    out: &Path,
    resume_path: &Path,
    resume: bool,
    force: bool,
) -> Result<()> {
    if out.exists() && !force {
        return Err(Error::Io {
            path: out.to_path_buf(),
            message: "already exists; training would replace it (nothing was changed)".into(),
        });
    }
    if resume_path.exists() && !resume {
        if !force {
            return Err(Error::Io {
                path: resume_path.to_path_buf(),
                message: "holds an interrupted run of this output: resume it, or discard it \
                          explicitly (nothing was changed)"
                    .into(),
            });
        }
        let _ = std::fs::remove_file(resume_path);
    }
    Ok(())
}

/// Training time: this process's since `started`, plus what the interrupted runs before it
/// spent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    started: Instant,
    prior_seconds: f64,
}

impl Clock {
    /// A clock started now, `prior_seconds` already spent.
    pub(crate) fn starting_at(prior_seconds: f64) -> Self {
        Clock {
            started: Instant::now(),
            prior_seconds,
        }
    }

    /// The same clock with `prior_seconds` spent before it started (a resumed run's).
    pub(crate) fn with_prior(self, prior_seconds: f64) -> Self {
        Clock {
            prior_seconds,
            ..self
        }
    }

    pub(crate) fn seconds(&self) -> f64 {
        self.prior_seconds + self.started.elapsed().as_secs_f64()
    }
}

/// Early stopping: training ends once `limit` epochs in a row made no progress (what counts as
/// progress is the training's own rule). Asked before each epoch, so a run interrupted right
/// after its last epoch resumes to the same end instead of training one more.
pub(crate) struct Patience {
    limit: usize,
    since: usize,
}

impl Patience {
    /// A run `since` epochs past its last progress (0 for a fresh one; a resumed run's is
    /// replayed from its history).
    pub(crate) fn new(limit: usize, since: usize) -> Self {
        Patience { limit, since }
    }

    /// A resumed run's patience, replayed from the `scores` of its epochs (lower is better):
    /// an epoch progresses when its score is below `baseline` and every earlier one.
    pub(crate) fn replayed(
        limit: usize,
        baseline: f64,
        scores: impl IntoIterator<Item = f64>,
    ) -> Self {
        let mut patience = Patience::new(limit, 0);
        let mut lowest = baseline;
        for score in scores {
            patience.record(score < lowest);
            lowest = lowest.min(score);
        }
        patience
    }

    /// Counts one epoch.
    pub(crate) fn record(&mut self, progressed: bool) {
        self.since = if progressed { 0 } else { self.since + 1 };
    }

    /// Whether training should stop now.
    pub(crate) fn exhausted(&self) -> bool {
        self.since >= self.limit
    }
}

/// The tensors of the resume state: the current weights, the best ones (`best.`) and the
/// optimizer's moments, with Adam's step count (which the metadata records).
pub(crate) fn state_tensors(
    current: &VarStore,
    best: &VarStore,
    adam: &Adam,
) -> (Vec<(String, Tensor)>, i64) {
    let (moments, steps) = adam.state();
    let mut state: Vec<(String, Tensor)> = current.variables().into_iter().collect();
    state.extend(
        best.variables()
            .into_iter()
            .map(|(name, t)| (format!("best.{name}"), t)),
    );
    state.extend(moments);
    (state, steps)
}

/// A resume file's tensors by what they are: the weights, the best weights (`best.` prefix
/// removed), the optimizer's moments (`adam.`) and the training's own state (`extra`: a
/// prefix the training chose, such as the spectral-norm vectors').
pub(crate) struct ResumeTensors {
    weights: NamedTensors,
    best: NamedTensors,
    moments: NamedTensors,
    pub(crate) extra: NamedTensors,
}

impl ResumeTensors {
    /// `all`, split by name; `extra_prefix` marks the training's own tensors.
    pub(crate) fn split(all: NamedTensors, extra_prefix: &str) -> Self {
        let mut parts = ResumeTensors {
            weights: NamedTensors::new(),
            best: NamedTensors::new(),
            moments: NamedTensors::new(),
            extra: NamedTensors::new(),
        };
        for (name, t) in all {
            if name.starts_with("adam.") {
                parts.moments.insert(name, t);
            } else if !extra_prefix.is_empty() && name.starts_with(extra_prefix) {
                parts.extra.insert(name, t);
            } else if let Some(rest) = name.strip_prefix("best.") {
                parts.best.insert(rest.to_string(), t);
            } else {
                parts.weights.insert(name, t);
            }
        }
        parts
    }

    /// Puts the weights into `current`, the best ones into `best` and the moments, `steps` steps
    /// on, into `adam`; any missing or misshapen is an error naming `path`.
    pub(crate) fn restore(
        &self,
        current: &mut VarStore,
        best: &mut VarStore,
        adam: &mut Adam,
        steps: i64,
        path: &Path,
    ) -> Result<()> {
        checkpoint::fill(current, &self.weights, path)?;
        checkpoint::fill(best, &self.best, path)?;
        if !adam.restore(&self.moments, steps) {
            return Err(Error::Checkpoint {
                path: path.to_path_buf(),
                field: "adam".into(),
                message: "the optimizer state is missing or does not fit the network".into(),
            });
        }
        Ok(())
    }
}

/// The testing hook of both trainings: [`Error::Interrupted`] (the resume state left behind, as
/// a killed process leaves it) once `stop_after` epochs of this run are done, unless `epoch`,
/// the one just done, was the last.
pub(crate) fn interrupt_after(
    stop_after: Option<usize>,
    epoch: usize,
    start_epoch: usize,
    last_epoch: usize,
    resume_path: &Path,
) -> Result<()> {
    if stop_after.is_some_and(|n| epoch - start_epoch >= n && epoch < last_epoch) {
        return Err(Error::Interrupted {
            path: resume_path.to_path_buf(),
            epoch,
        });
    }
    Ok(())
}

/// Mean and standard deviation (at least 1e-12) of every trajectory value of the pool samples
/// `valid`: trajectories enter the networks as (Y − mean)/std.
pub(crate) fn trajectory_moments(pool: &Pool, valid: &[usize]) -> (f64, f64) {
    let (mut sum, mut sq, mut n) = (0.0, 0.0, 0.0);
    for &i in valid {
        for &y in pool.trajectories.index_axis(ndarray::Axis(0), i) {
            sum += y;
            sq += y * y;
            n += 1.0;
        }
    }
    let traj_mean = sum / n;
    let traj_std = (sq / n - traj_mean * traj_mean).max(0.0).sqrt().max(1e-12);
    (traj_mean, traj_std)
}

/// The pool a network is trained on, as its metadata records it.
pub(crate) fn dataset_provenance(pool: &Pool) -> DatasetProvenance {
    DatasetProvenance {
        path: pool.path.clone(),
        hash: pool.header.provenance_hash(),
        samples: pool.header.len(),
        seed: pool.header.seed,
    }
}
