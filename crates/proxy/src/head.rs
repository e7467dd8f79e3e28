//! The ProxyNN's head in plain f64 Rust: the prediction for a bound target and its gradient
//! w.r.t. u, without libtorch.
//!
//! Once a target is embedded (one encoder pass, in libtorch), every prediction an optimizer asks
//! for is a small MLP on u: Fourier features, a few dense SiLU layers. Evaluating it here makes a
//! bound proxy plain data (`Send + Sync`, shareable by every thread of an evaluation) and avoids
//! libtorch's per-call overhead on the single-point calls of a line search. The embedding's
//! contribution to the first layer is folded into that layer's bias at bind time.
//! `tests/checkpoints.rs` checks values and gradients against libtorch's forward and autograd.

use std::collections::HashMap;
use tch::{Kind, Tensor};

/// One dense layer: y = W x + b with W stored row-major (out × in), PyTorch's layout.
#[derive(Debug, Clone)]
struct Dense {
    w: Vec<f64>,
    b: Vec<f64>,
    inputs: usize,
}

impl Dense {
    fn outputs(&self) -> usize {
        self.b.len()
    }
}

/// The head's weights, shared by every target the proxy is bound to.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    d: usize,
    /// m × d Fourier matrix, row-major (empty without Fourier features).
    fourier_b: Vec<f64>,
    m: usize,
    /// Coordinates fed as raw values.
    raw: Vec<usize>,
    /// Hidden layers and the output layer. The first layer's inputs are the features followed
    /// by the embedding.
    layers: Vec<Dense>,
}

fn silu(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

fn silu_derivative(x: f64) -> f64 {
    let s = 1.0 / (1.0 + (-x).exp());
    s * (1.0 + x * (1.0 - s))
}

fn values(t: &Tensor) -> Vec<f64> {
    let flat = t
        .detach()
        .to_device(tch::Device::Cpu)
        .to_kind(Kind::Double)
        .flatten(0, -1);
    Vec::<f64>::try_from(flat).expect("a float tensor converts to f64")
}

impl Head {
    /// Reads the head from a VarStore's variables (see `model.rs` for the names).
    pub(crate) fn from_variables(
        vars: &HashMap<String, Tensor>,
        d: usize,
        raw: Vec<usize>,
        use_fourier: bool,
        hidden: usize,
    ) -> Option<Head> {
        let (fourier_b, m) = if use_fourier {
            let b = vars.get("fourier_b")?;
            (values(b), b.size()[0] as usize)
        } else {
            (Vec::new(), 0)
        };
        let names = (0..hidden)
            .map(|i| format!("head.fc{i}"))
            .chain(std::iter::once("head.out".to_string()));
        let layers = names
            .map(|name| {
                let w = vars.get(&format!("{name}.weight"))?;
                let b = vars.get(&format!("{name}.bias"))?;
                Some(Dense {
                    inputs: w.size()[1] as usize,
                    w: values(w),
                    b: values(b),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Head {
            d,
            fourier_b,
            m,
            raw,
            layers,
        })
    }

    /// Number of input features before the embedding.
    fn features(&self) -> usize {
        self.raw.len() + 2 * self.m
    }

    /// The first layer's bias with the embedding's contribution added: b + W[:, features..] e.
    pub(crate) fn bias_with_embedding(&self, embedding: Option<&[f64]>) -> Vec<f64> {
        let first = &self.layers[0];
        let f = self.features();
        let mut bias = first.b.clone();
        if let Some(e) = embedding {
            for (o, b) in bias.iter_mut().enumerate() {
                let row = &first.w[o * first.inputs..(o + 1) * first.inputs];
                *b += row[f..].iter().zip(e).map(|(w, e)| w * e).sum::<f64>();
            }
        }
        bias
    }

    /// The raw network output at u and, if asked, its gradient w.r.t. u.
    pub(crate) fn forward(&self, bias: &[f64], u: &[f64], with_grad: bool) -> (f64, Vec<f64>) {
        let tau = std::f64::consts::TAU;
        // Features: raw coordinates, then sin and cos of 2π B u.
        let proj: Vec<f64> = (0..self.m)
            .map(|k| {
                tau * self.fourier_b[k * self.d..(k + 1) * self.d]
                    .iter()
                    .zip(u)
                    .map(|(b, u)| b * u)
                    .sum::<f64>()
            })
            .collect();
        let mut x: Vec<f64> = self.raw.iter().map(|&j| u[j]).collect();
        x.extend(proj.iter().map(|p| p.sin()));
        x.extend(proj.iter().map(|p| p.cos()));
        // Forward, keeping each layer's pre-activations for the backward pass.
        let last = self.layers.len() - 1;
        let mut pre: Vec<Vec<f64>> = Vec::with_capacity(self.layers.len());
        let mut input = x;
        let mut inputs: Vec<Vec<f64>> = Vec::with_capacity(self.layers.len());
        for (l, layer) in self.layers.iter().enumerate() {
            let n_in = input.len();
            let b = if l == 0 { bias } else { &layer.b };
            let h: Vec<f64> = (0..layer.outputs())
                .map(|o| {
                    let row = &layer.w[o * layer.inputs..o * layer.inputs + n_in];
                    b[o] + row.iter().zip(&input).map(|(w, x)| w * x).sum::<f64>()
                })
                .collect();
            let next = if l < last {
                h.iter().map(|&v| silu(v)).collect()
            } else {
                h.clone()
            };
            inputs.push(std::mem::replace(&mut input, next));
            pre.push(h);
        }
        let out = input[0];
        if !with_grad {
            return (out, Vec::new());
        }
        // Backward: δ over each layer's pre-activations, from the output down to the features.
        let mut delta = vec![1.0];
        for l in (0..self.layers.len()).rev() {
            let layer = &self.layers[l];
            let n_in = inputs[l].len();
            let mut back = vec![0.0; n_in];
            for (o, dv) in delta.iter().enumerate() {
                let row = &layer.w[o * layer.inputs..o * layer.inputs + n_in];
                back.iter_mut().zip(row).for_each(|(b, w)| *b += dv * w);
            }
            if l > 0 {
                delta = back
                    .iter()
                    .zip(&pre[l - 1])
                    .map(|(b, h)| b * silu_derivative(*h))
                    .collect();
            } else {
                delta = back;
            }
        }
        // δ is now ∂out/∂features: map it back to u.
        let mut grad = vec![0.0; self.d];
        for (i, &j) in self.raw.iter().enumerate() {
            grad[j] += delta[i];
        }
        let r = self.raw.len();
        for k in 0..self.m {
            let dp = delta[r + k] * proj[k].cos() - delta[r + self.m + k] * proj[k].sin();
            for (j, g) in grad.iter_mut().enumerate() {
                *g += dp * tau * self.fourier_b[k * self.d + j];
            }
        }
        (out, grad)
    }
}

/// A head bound to one target's embedding: the predicted log-loss z = log(L̂ + ε) and its
/// gradient. Plain data, so it is `Send + Sync` and serves optimizers directly.
pub(crate) struct BoundHead<'a> {
    pub(crate) head: &'a Head,
    pub(crate) bias: Vec<f64>,
    pub(crate) z_mean: f64,
    pub(crate) z_std: f64,
}

impl BoundHead<'_> {
    /// z and ∂z/∂u at each u.
    pub(crate) fn log_with_grad(&self, us: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
        us.iter()
            .map(|u| {
                let (o, g) = self.head.forward(&self.bias, u, true);
                (
                    o * self.z_std + self.z_mean,
                    g.into_iter().map(|v| v * self.z_std).collect::<Vec<f64>>(),
                )
            })
            .unzip()
    }

    /// z alone.
    pub(crate) fn log(&self, us: &[Vec<f64>]) -> Vec<f64> {
        us.iter()
            .map(|u| self.head.forward(&self.bias, u, false).0 * self.z_std + self.z_mean)
            .collect()
    }
}

impl proxyland_optim::Surrogate for BoundHead<'_> {
    fn dim(&self) -> usize {
        self.head.d
    }
    fn predict_log_with_grad(
        &self,
        us: &[Vec<f64>],
    ) -> Result<(Vec<f64>, Vec<Vec<f64>>), proxyland_optim::SurrogateError> {
        Ok(self.log_with_grad(us))
    }
    fn predict_log(&self, us: &[Vec<f64>]) -> Result<Vec<f64>, proxyland_optim::SurrogateError> {
        Ok(self.log(us))
    }
}
