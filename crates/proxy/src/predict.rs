//! Using a trained proxy: batched predictions of the loss and its gradient w.r.t. u.
//!
//! Inference runs in float64 on the CPU (weights are stored as float32): optimizers run line
//! searches on these values, and float32 rounding would stall them near a minimum.

use crate::checkpoint::{self, CheckpointMeta};
use crate::error::{Error, Result};
use crate::model::ProxyNet;
use ndarray::Array2;
use std::path::{Path, PathBuf};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

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
#[derive(Debug)]
pub struct Proxy {
    path: PathBuf,
    meta: CheckpointMeta,
    _vs: VarStore,
    net: ProxyNet,
}

/// A proxy with one target's embedding computed: predictions for many u are cheap.
pub struct BoundProxy<'a> {
    proxy: &'a Proxy,
    embedding: Option<Tensor>,
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
        Ok(Proxy {
            path: path.to_path_buf(),
            meta,
            _vs: vs,
            net,
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

    /// Refuses a checkpoint trained for another experiment, parameter count or trajectory shape.
    pub fn check_compatible(
        &self,
        experiment: &str,
        params: usize,
        shape: (usize, usize),
    ) -> Result<()> {
        let a = &self.meta.architecture;
        let found = format!(
            "{} (d = {}, trajectories {} × {})",
            self.meta.experiment, a.params, a.frames, a.components
        );
        let expected = format!(
            "{experiment} (d = {params}, trajectories {} × {})",
            shape.0, shape.1
        );
        if self.meta.experiment != experiment
            || a.params != params
            || (a.frames, a.components) != shape
        {
            return Err(Error::Incompatible {
                path: self.path.clone(),
                expected,
                found,
            });
        }
        Ok(())
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
        let embedding = if self.net.has_encoder() {
            let n = &self.meta.normalization;
            let scaled: Vec<f64> = target
                .iter()
                .map(|y| (y - n.traj_mean) / n.traj_std)
                .collect();
            let t = Tensor::from_slice(&scaled).reshape([1, a.frames as i64, a.components as i64]);
            tch::no_grad(|| self.net.embed(&t))
        } else {
            None
        };
        Ok(BoundProxy {
            proxy: self,
            embedding,
        })
    }

    /// Predicted losses L̂(Y*, u) for many u (one forward pass).
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
}

impl BoundProxy<'_> {
    fn u_tensor(&self, us: &[Vec<f64>]) -> Result<Tensor> {
        let d = self.proxy.meta.architecture.params;
        if let Some(bad) = us
            .iter()
            .find(|u| u.len() != d || u.iter().any(|v| !v.is_finite()))
        {
            return Err(Error::Input(format!(
                "u = {bad:?}: expected {d} finite normalized coordinates"
            )));
        }
        let flat: Vec<f64> = us.iter().flatten().copied().collect();
        Ok(Tensor::from_slice(&flat).reshape([us.len() as i64, d as i64]))
    }

    /// The normalized network output.
    fn raw(&self, us: &[Vec<f64>]) -> Result<Vec<f64>> {
        let u = self.u_tensor(us)?;
        let out = tch::no_grad(|| self.proxy.net.forward_embedded(self.embedding.as_ref(), &u));
        Ok(Vec::<f64>::try_from(out)?)
    }

    /// The normalized network output and its gradient w.r.t. u.
    fn raw_with_grad(&self, us: &[Vec<f64>]) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
        let u = self.u_tensor(us)?.set_requires_grad(true);
        let out = self.proxy.net.forward_embedded(self.embedding.as_ref(), &u);
        // Rows are independent, so the gradient of the sum gives each row's own gradient.
        let grad = Tensor::run_backward(&[out.sum(Kind::Double)], &[&u], false, false);
        let values = Vec::<f64>::try_from(out.detach())?;
        let d = self.proxy.meta.architecture.params;
        let g = Vec::<f64>::try_from(grad[0].flatten(0, -1))?;
        Ok((values, g.chunks(d).map(<[f64]>::to_vec).collect()))
    }

    /// log(L̂ + ε) and its gradient w.r.t. u: the landscape optimizers should descend (it spans
    /// decades evenly; the minima are those of L̂).
    pub fn predict_log_with_grad(&self, us: &[Vec<f64>]) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
        let n = &self.proxy.meta.normalization;
        let (out, grad) = self.raw_with_grad(us)?;
        let z = out.iter().map(|&o| n.log_loss(o)).collect();
        let g = grad
            .into_iter()
            .map(|g| g.into_iter().map(|v| v * n.z_std).collect())
            .collect();
        Ok((z, g))
    }

    /// Predicted losses L̂ = exp(z) − ε.
    pub fn predict(&self, us: &[Vec<f64>]) -> Result<Vec<f64>> {
        let n = &self.proxy.meta.normalization;
        let out = self.raw(us)?;
        Ok(out
            .iter()
            .map(|&o| n.log_loss(o).exp() - n.epsilon)
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
