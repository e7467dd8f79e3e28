//! Reading an inverse-network file, and the loaded `InverseModel` with its test-time training.

use super::net::InverseNet;
use super::physics::clipped_gradients;
use super::tensors::{predict_rows, rows_of, trajectory_tensor};
use super::{INVERSE_FORMAT, INVERSE_FORMAT_VERSION, InverseMeta};
use crate::adam::Adam;
use crate::checkpoint;
use crate::error::{Error, Result};
use ndarray::Array2;
use proxyland_physics::Simulator;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

pub(super) fn read_inverse(path: &Path) -> Result<(InverseMeta, checkpoint::NamedTensors)> {
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
    ///
    /// [`train_inverse`]: super::train_inverse
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
