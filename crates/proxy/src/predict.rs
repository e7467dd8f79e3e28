//! Using a trained proxy: batched predictions of the loss and its gradient w.r.t. u.
//!
//! The encoder runs once per target in libtorch (float64, CPU); every prediction after that runs
//! the head in plain f64 Rust ([`crate::head`]). Optimizers run line searches on these values,
//! and float32 rounding would stall them near a minimum.
//!
//! A [`Proxy`] is `Send + Sync`: the libtorch part sits behind a mutex that only `bind` takes,
//! so one loaded proxy serves every thread of an evaluation or a batch solve.

use crate::checkpoint::{self, CheckpointMeta};
use crate::error::{Error, Result};
use crate::head::{BoundHead, Head};
use crate::model::ProxyNet;
use ndarray::Array2;
use proxyland_optim::{Surrogate, SurrogateError, SurrogateInfo, SurrogateModel};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tch::nn::VarStore;
use tch::{Device, Tensor};

/// The libtorch half of a loaded proxy (the encoder), used only to embed targets.
struct Encoder {
    _vs: VarStore,
    net: ProxyNet,
}

/// A trained proxy, loaded for prediction.
///
/// ```no_run
/// use proxyland_proxy::Proxy;
/// let proxy = Proxy::load(std::path::Path::new("runs/burgers/proxy-s0.05.safetensors"))?;
/// let target = ndarray::Array2::<f64>::zeros((41, 128));
/// let bound = proxy.bind(&target)?;            // encodes the target once
/// let (loss, grad) = bound.predict_with_grad(&[vec![0.3, 0.5], vec![0.7, 0.1]])?;
/// assert_eq!((loss.len(), grad[0].len()), (2, 2));
/// # Ok::<(), proxyland_proxy::Error>(())
/// ```
pub struct Proxy {
    path: PathBuf,
    meta: CheckpointMeta,
    info: SurrogateInfo,
    encoder: Mutex<Encoder>,
    head: Head,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("path", &self.path)
            .field("experiment", &self.meta.experiment)
            .finish_non_exhaustive()
    }
}

/// A proxy with one target's embedding folded in: predictions for many u are cheap, and it is
/// plain data that any thread can use.
pub struct BoundProxy<'a> {
    proxy: &'a Proxy,
    /// The head with this target's embedding folded into its first layer.
    head: BoundHead<'a>,
}

impl Proxy {
    /// Loads a checkpoint written by [`crate::train`].
    pub fn load(path: &Path) -> Result<Proxy> {
        let (meta, tensors) = checkpoint::read(path)?;
        let mut vs = VarStore::new(Device::Cpu);
        // Building layers draws their (overwritten) initial weights from torch's global generator.
        let net = {
            let _rng = crate::torch_rng_lock();
            ProxyNet::new(&vs.root(), &meta.architecture)
        };
        checkpoint::fill(&mut vs, &tensors, path)?;
        vs.double();
        vs.freeze();
        let a = &meta.architecture;
        let head = Head::from_variables(
            &vs.variables(),
            a.params,
            a.raw_inputs(),
            a.use_fourier,
            a.hidden.len(),
        )
        .ok_or_else(|| Error::Checkpoint {
            path: path.to_path_buf(),
            field: "head".into(),
            message: "the head's weights are incomplete".into(),
        })?;
        let info = SurrogateInfo {
            path: path.to_path_buf(),
            experiment: meta.experiment.clone(),
            dim: a.params,
            trajectory_shape: (a.frames, a.components),
            noise: meta.noise,
            penalty: meta.penalty,
            regularizers: meta.regularizers,
            seed: meta.training.seed,
            dataset_simulations: meta.dataset.samples,
            training_seconds: meta.training.seconds,
        };
        Ok(Proxy {
            path: path.to_path_buf(),
            meta,
            info,
            encoder: Mutex::new(Encoder { _vs: vs, net }),
            head,
        })
    }

    /// What the checkpoint says about itself.
    pub fn meta(&self) -> &CheckpointMeta {
        &self.meta
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses a checkpoint trained for another experiment, parameter count or box, or
    /// trajectory shape than `sim`'s.
    pub fn check_compatible(&self, sim: &dyn proxyland_physics::Simulator) -> Result<()> {
        let m = &self.meta;
        let a = &m.architecture;
        check_fit(
            &self.path,
            Fit {
                experiment: &m.experiment,
                lo: &m.lo,
                hi: &m.hi,
                shape: (a.frames, a.components),
            },
            sim,
        )
    }

    /// Encodes `target` (frames × components) once for many predictions.
    pub fn bind(&self, target: &Array2<f64>) -> Result<BoundProxy<'_>> {
        let a = &self.meta.architecture;
        if target.dim() != (a.frames, a.components) {
            return Err(Error::Input(format!(
                "target trajectory is {:?}, the proxy {} expects {} × {}",
                target.dim(),
                self.path.display(),
                a.frames,
                a.components
            )));
        }
        if target.iter().any(|v| !v.is_finite()) {
            return Err(Error::Input(format!(
                "the target trajectory has non-finite values; the proxy {} needs finite ones",
                self.path.display()
            )));
        }
        let encoder = self.encoder.lock().unwrap_or_else(|p| p.into_inner());
        let embedding = if encoder.net.has_encoder() {
            let n = &self.meta.normalization;
            let scaled: Vec<f64> = target
                .iter()
                .map(|y| (y - n.traj_mean) / n.traj_std)
                .collect();
            let t = Tensor::from_slice(&scaled).reshape([1, a.frames as i64, a.components as i64]);
            let e = tch::no_grad(|| encoder.net.embed(&t)).expect("the net has an encoder");
            Some(Vec::<f64>::try_from(e.flatten(0, -1))?)
        } else {
            None
        };
        let n = &self.meta.normalization;
        Ok(BoundProxy {
            proxy: self,
            head: BoundHead {
                head: &self.head,
                bias: self.head.bias_with_embedding(embedding.as_deref()),
                z_mean: n.z_mean,
                z_std: n.z_std,
            },
        })
    }

    /// Predicted losses L̂(Y*, u) for many u.
    pub fn predict(&self, target: &Array2<f64>, us: &[Vec<f64>]) -> Result<Vec<f64>> {
        self.bind(target)?.predict(us)
    }

    /// Predicted losses and their gradients ∂L̂/∂u.
    pub fn predict_with_grad(
        &self,
        target: &Array2<f64>,
        us: &[Vec<f64>],
    ) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
        self.bind(target)?.predict_with_grad(us)
    }

    /// The raw (normalized) network output for a target through libtorch's own forward pass and
    /// its autograd gradient w.r.t. u: the reference the f64 head is tested against.
    pub fn torch_forward(
        &self,
        target: &Array2<f64>,
        us: &[Vec<f64>],
    ) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
        let a = &self.meta.architecture;
        let n = &self.meta.normalization;
        let scaled: Vec<f64> = target
            .iter()
            .map(|y| (y - n.traj_mean) / n.traj_std)
            .collect();
        let t = Tensor::from_slice(&scaled).reshape([1, a.frames as i64, a.components as i64]);
        let flat: Vec<f64> = us.iter().flatten().copied().collect();
        let u = Tensor::from_slice(&flat)
            .reshape([us.len() as i64, a.params as i64])
            .set_requires_grad(true);
        let encoder = self.encoder.lock().unwrap_or_else(|p| p.into_inner());
        let e = tch::no_grad(|| encoder.net.embed(&t));
        let out = encoder.net.forward_embedded(e.as_ref(), &u);
        let grad = Tensor::run_backward(&[out.sum(tch::Kind::Double)], &[&u], false, false);
        let values = Vec::<f64>::try_from(out.detach())?;
        let g = Vec::<f64>::try_from(grad[0].flatten(0, -1))?;
        Ok((values, g.chunks(a.params).map(<[f64]>::to_vec).collect()))
    }
}

impl BoundProxy<'_> {
    fn check(&self, us: &[Vec<f64>]) -> Result<()> {
        let d = self.proxy.meta.architecture.params;
        match us
            .iter()
            .find(|u| u.len() != d || u.iter().any(|v| !v.is_finite()))
        {
            Some(bad) => Err(Error::Input(format!(
                "u = {bad:?}: expected {d} finite normalized coordinates"
            ))),
            None => Ok(()),
        }
    }

    /// log(L̂ + ε) and its gradient w.r.t. u: the landscape optimizers should descend (it spans
    /// decades evenly; the minima are those of L̂).
    pub fn predict_log_with_grad(&self, us: &[Vec<f64>]) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
        self.check(us)?;
        Ok(self.head.log_with_grad(us))
    }

    /// log(L̂ + ε) alone.
    pub fn predict_log(&self, us: &[Vec<f64>]) -> Result<Vec<f64>> {
        self.check(us)?;
        Ok(self.head.log(us))
    }

    /// Predicted losses L̂ = exp(z) − ε.
    pub fn predict(&self, us: &[Vec<f64>]) -> Result<Vec<f64>> {
        let eps = self.proxy.meta.normalization.epsilon;
        Ok(self
            .predict_log(us)?
            .iter()
            .map(|z| z.exp() - eps)
            .collect())
    }

    /// Predicted losses and ∂L̂/∂u = exp(z) ∂z/∂u.
    pub fn predict_with_grad(&self, us: &[Vec<f64>]) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
        let eps = self.proxy.meta.normalization.epsilon;
        let (z, gz) = self.predict_log_with_grad(us)?;
        let values = z.iter().map(|z| z.exp() - eps).collect();
        let grads = z
            .iter()
            .zip(gz)
            .map(|(z, g)| g.into_iter().map(|v| v * z.exp()).collect())
            .collect();
        Ok((values, grads))
    }
}

impl Surrogate for BoundProxy<'_> {
    fn dim(&self) -> usize {
        self.proxy.meta.architecture.params
    }
    fn predict_log_with_grad(
        &self,
        us: &[Vec<f64>],
    ) -> std::result::Result<(Vec<f64>, Vec<Vec<f64>>), SurrogateError> {
        Ok(BoundProxy::predict_log_with_grad(self, us)?)
    }
    fn predict_log(&self, us: &[Vec<f64>]) -> std::result::Result<Vec<f64>, SurrogateError> {
        Ok(BoundProxy::predict_log(self, us)?)
    }
}

impl SurrogateModel for Proxy {
    fn info(&self) -> &SurrogateInfo {
        &self.info
    }
    fn bind<'a>(
        &'a self,
        target: &ndarray::Array2<f64>,
    ) -> std::result::Result<Box<dyn Surrogate + 'a>, SurrogateError> {
        Ok(Box::new(Proxy::bind(self, target)?))
    }
}

/// What a network was trained for: experiment, parameter box (lo, hi) and trajectory shape.
pub(crate) struct Fit<'a> {
    pub experiment: &'a str,
    pub lo: &'a [f64],
    pub hi: &'a [f64],
    pub shape: (usize, usize),
}

/// Refuses a network trained for `found` where `sim` is asked of it, naming both: another
/// experiment, parameter count, trajectory shape, or parameter box (the network works in
/// u ∈ [0, 1]^d, and the same u is another X in another box, so a user's config with edited
/// ranges must not silently reuse a checkpoint trained on the shipped ones). Shared by the
/// proxy and the inverse network.
pub(crate) fn check_fit(
    path: &Path,
    found: Fit<'_>,
    sim: &dyn proxyland_physics::Simulator,
) -> Result<()> {
    let space = sim.param_space();
    let (f, s) = sim.trajectory_shape();
    let same_box = |a: &[f64], b: &[f64]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + x.abs().max(y.abs())))
    };
    let words = |e: &str, lo: &[f64], hi: &[f64], (f, s): (usize, usize)| {
        let ranges: Vec<String> = lo
            .iter()
            .zip(hi)
            .map(|(l, h)| format!("[{l}, {h}]"))
            .collect();
        format!(
            "{e} (d = {}, box {}, trajectories {f} × {s})",
            lo.len(),
            ranges.join(" × ")
        )
    };
    if found.experiment != sim.name()
        || found.shape != (f, s)
        || !same_box(found.lo, &space.lo)
        || !same_box(found.hi, &space.hi)
    {
        return Err(Error::Incompatible {
            path: path.to_path_buf(),
            expected: words(sim.name(), &space.lo, &space.hi, (f, s)),
            found: words(found.experiment, found.lo, found.hi, found.shape),
        });
    }
    Ok(())
}
