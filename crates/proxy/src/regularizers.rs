//! How a proxy trains with the regularizers of [`proxyland_optim::Regularizers`] beside the paper's two (noise injection on u and the
//! gradient penalty): dropout, decoupled weight decay and a spectral-norm bound on the head.
//!
//! Each smooths the learned landscape its own way, and issue 26 asks which does it best:
//!
//! - **dropout** (p): every hidden activation of the head is zeroed with probability p during
//!   training (and the rest scaled by 1/(1 − p)); prediction never drops anything.
//! - **weight decay** (W): AdamW's decoupled decay, p ← p·(1 − lr·W) before each Adam update,
//!   so a weight whose gradient is zero shrinks by exactly that factor per step.
//! - **spectral norm**: after each step every head layer's weight matrix is divided by
//!   max(1, σ̂), σ̂ its largest singular value estimated by one power iteration per step with a
//!   vector kept across steps; each epoch ends with the iteration run to convergence, so the
//!   weights an epoch is judged and saved by meet the bound. That bounds each layer's Lipschitz constant by 1 (the projection
//!   form of Gouk et al. 2021) rather than fixing it at 1 (Miyato et al.'s reparametrization),
//!   so a layer already below 1 is left alone.

use tch::nn::VarStore;
use tch::{Kind, Tensor};

/// The spectral-norm bound's state: each head layer's weight and its power-iteration vector.
pub(crate) struct SpectralNorm {
    /// (variable name, weight (out × in), left singular vector estimate (out)).
    layers: Vec<(String, Tensor, Tensor)>,
}

/// Power iterations that converge a new bound's vectors before training starts.
const WARM_START: usize = 50;

/// One power-iteration step: v = Wᵀu/‖Wᵀu‖, σ̂ = ‖Wv‖, u ← Wv/σ̂. Returns σ̂, a lower bound of
/// W's largest singular value that converges to it.
fn power_step(w: &Tensor, u: &mut Tensor) -> f64 {
    let v = w.tr().mv(u);
    let v = &v / (v.norm().double_value(&[]) + 1e-12);
    let wv = w.mv(&v);
    let sigma = wv.norm().double_value(&[]);
    u.copy_(&(&wv / (sigma + 1e-12)));
    sigma
}

/// The prefix of the power-iteration vectors in a resume file.
pub(crate) const STATE_PREFIX: &str = "sn.";

impl SpectralNorm {
    /// The head layers of `vs` (`head.*.weight`), each with its power-iteration vector
    /// converged on the current weights (from equal entries, [`WARM_START`] iterations), so the
    /// first steps of training are bounded as well as the last.
    pub(crate) fn new(vs: &VarStore) -> SpectralNorm {
        let mut layers: Vec<(String, Tensor, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(name, t)| {
                name.starts_with("head.") && name.ends_with(".weight") && t.dim() == 2
            })
            .map(|(name, w)| {
                let out = w.size()[0];
                let u = Tensor::ones([out], (Kind::Float, w.device())) / (out as f64).sqrt();
                (name, w, u)
            })
            .collect();
        layers.sort_by(|a, b| a.0.cmp(&b.0));
        tch::no_grad(|| {
            for (_, w, u) in &mut layers {
                for _ in 0..WARM_START {
                    power_step(w, u);
                }
            }
        });
        SpectralNorm { layers }
    }

    /// One power-iteration step per layer, then W ← W / max(1, σ̂). Returns the largest σ̂.
    pub(crate) fn project(&mut self) -> f64 {
        let mut largest: f64 = 0.0;
        tch::no_grad(|| {
            for (_, w, u) in &mut self.layers {
                let sigma = power_step(w, u);
                largest = largest.max(sigma);
                if sigma > 1.0 {
                    let _ = w.g_div_scalar_(sigma);
                }
            }
        });
        largest
    }

    /// Power iteration run to convergence ([`WARM_START`] steps) on every layer, then the same
    /// projection: at the end of an epoch, so the weights it is judged and saved by satisfy the
    /// bound, not only the lagging estimate of one step per batch.
    pub(crate) fn project_converged(&mut self) {
        tch::no_grad(|| {
            for (_, w, u) in &mut self.layers {
                let mut sigma = 0.0;
                for _ in 0..WARM_START {
                    sigma = power_step(w, u);
                }
                if sigma > 1.0 {
                    let _ = w.g_div_scalar_(sigma);
                }
            }
        });
    }

    /// The vectors to save with a resume state, named `sn.<layer>`.
    pub(crate) fn state(&self) -> Vec<(String, Tensor)> {
        self.layers
            .iter()
            .map(|(name, _, u)| (format!("{STATE_PREFIX}{name}"), u.shallow_clone()))
            .collect()
    }

    /// Restores vectors saved by [`SpectralNorm::state`]; false if any is missing or misshapen.
    pub(crate) fn restore(&mut self, tensors: &crate::checkpoint::NamedTensors) -> bool {
        for (name, _, u) in &mut self.layers {
            let Some((shape, values)) = tensors.get(&format!("{STATE_PREFIX}{name}")) else {
                return false;
            };
            if shape != &u.size() {
                return false;
            }
            let src = Tensor::from_slice(values)
                .reshape(shape.as_slice())
                .to_kind(Kind::Float)
                .to_device(u.device());
            tch::no_grad(|| u.copy_(&src));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// σ_max(W) = √λ_max(WᵀW), by libtorch's symmetric eigensolver: independent of the power
    /// iteration under test.
    fn largest_singular_value(w: &Tensor) -> f64 {
        let w = w.to_kind(Kind::Double);
        w.tr()
            .mm(&w)
            .linalg_eigvalsh("L")
            .max()
            .double_value(&[])
            .sqrt()
    }

    #[test]
    fn the_projection_bounds_every_head_layer_by_one_and_leaves_small_ones_alone() {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(3);
        let vs = VarStore::new(Device::Cpu);
        let root = vs.root();
        // An encoder layer is not the head's: the bound leaves it alone.
        let encoder = (&root / "encoder").var_copy(
            "weight",
            &(Tensor::randn([4, 4], (Kind::Float, Device::Cpu)) * 3.0),
        );
        let encoder_before = Vec::<f32>::try_from(encoder.flatten(0, -1)).unwrap();
        let head = &root / "head";
        let wide = (&head / "fc0").var_copy(
            "weight",
            &(Tensor::randn([8, 5], (Kind::Float, Device::Cpu)) * 3.0),
        );
        let small = (&head / "out").var_copy(
            "weight",
            &(Tensor::randn([1, 8], (Kind::Float, Device::Cpu)) * 0.01),
        );
        let small_before = Vec::<f32>::try_from(small.flatten(0, -1)).unwrap();
        let mut sn = SpectralNorm::new(&vs);
        assert_eq!(sn.layers.len(), 2, "head weights only");
        assert!(largest_singular_value(&wide) > 2.0);
        for _ in 0..200 {
            sn.project();
        }
        assert!(
            largest_singular_value(&wide) <= 1.0 + 1e-3,
            "{}",
            largest_singular_value(&wide)
        );
        // Below the bound a layer is not rescaled: the bound is a constraint, not a norm.
        assert_eq!(
            Vec::<f32>::try_from(small.flatten(0, -1)).unwrap(),
            small_before
        );
        assert_eq!(
            Vec::<f32>::try_from(encoder.flatten(0, -1)).unwrap(),
            encoder_before
        );
        // The state round-trips.
        let saved: crate::checkpoint::NamedTensors = sn
            .state()
            .into_iter()
            .map(|(n, t)| {
                let shape = t.size();
                (n, (shape, Vec::<f32>::try_from(t.flatten(0, -1)).unwrap()))
            })
            .collect();
        let mut again = SpectralNorm::new(&vs);
        for (_, _, u) in &mut again.layers {
            let _ = u.fill_(0.5);
        }
        assert!(again.restore(&saved));
        for ((_, _, a), (_, _, b)) in again.layers.iter().zip(&sn.layers) {
            assert_eq!(
                Vec::<f32>::try_from(a).unwrap(),
                Vec::<f32>::try_from(b).unwrap()
            );
        }
        assert!(!again.restore(&crate::checkpoint::NamedTensors::new()));
    }
}
