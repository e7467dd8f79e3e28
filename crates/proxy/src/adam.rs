//! Adam (Kingma & Ba 2015) with its state in the open, so an interrupted training resumes to the
//! same weights as an uninterrupted one: the moments and the step count go into the `.resume`
//! checkpoint. The update is PyTorch's `torch.optim.Adam` step for step (the benchmark compares
//! the two on identical batches).

use tch::nn::VarStore;
use tch::{Kind, Tensor};

/// The optimizer: learning rate, the moments of every trainable variable, and the step count.
pub struct Adam {
    /// Learning rate (set per epoch by the schedule).
    pub lr: f64,
    /// Decoupled weight decay (AdamW): p ← p·(1 − lr·decay) before each update; 0 is Adam.
    pub weight_decay: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    steps: i64,
    /// (name, variable, first moment, second moment), sorted by name.
    state: Vec<(String, Tensor, Tensor, Tensor)>,
}

impl Adam {
    /// Adam over the trainable variables of `vs` (β = (0.9, 0.999), ε = 1e-8, PyTorch's defaults).
    pub fn new(vs: &VarStore, lr: f64) -> Self {
        let mut vars: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let state = vars
            .into_iter()
            .map(|(name, t)| {
                let (m, v) = (t.zeros_like(), t.zeros_like());
                (name, t, m, v)
            })
            .collect();
        Adam {
            lr,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            steps: 0,
            state,
        }
    }

    /// Clears gradients, back-propagates `loss` and takes one step.
    pub fn backward_step(&mut self, loss: &Tensor) {
        for (_, t, _, _) in &self.state {
            let mut g = t.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        loss.backward();
        self.steps += 1;
        let bc1 = 1.0 - self.beta1.powi(self.steps as i32);
        let bc2 = 1.0 - self.beta2.powi(self.steps as i32);
        tch::no_grad(|| {
            for (_, p, m, v) in &mut self.state {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                if self.weight_decay > 0.0 {
                    let _ = p.g_mul_scalar_(1.0 - self.lr * self.weight_decay);
                }
                let _ = m
                    .g_mul_scalar_(self.beta1)
                    .g_add_(&(&g * (1.0 - self.beta1)));
                let _ = v
                    .g_mul_scalar_(self.beta2)
                    .g_add_(&(&g * &g * (1.0 - self.beta2)));
                let denom = v.sqrt() / bc2.sqrt() + self.eps;
                let _ = p.g_sub_(&(&*m / &denom * (self.lr / bc1)));
            }
        });
    }

    /// The state to save: named moments and the step count.
    pub fn state(&self) -> (Vec<(String, Tensor)>, i64) {
        let mut named = Vec::with_capacity(2 * self.state.len());
        for (name, _, m, v) in &self.state {
            named.push((format!("adam.m.{name}"), m.shallow_clone()));
            named.push((format!("adam.v.{name}"), v.shallow_clone()));
        }
        (named, self.steps)
    }

    /// Restores moments saved by [`Adam::state`]; false if any is missing or misshapen.
    pub fn restore(&mut self, tensors: &crate::checkpoint::NamedTensors, steps: i64) -> bool {
        for (name, p, m, v) in &mut self.state {
            for (prefix, target) in [("adam.m.", &mut *m), ("adam.v.", &mut *v)] {
                let Some((shape, values)) = tensors.get(&format!("{prefix}{name}")) else {
                    return false;
                };
                if shape != &p.size() {
                    return false;
                }
                let src = Tensor::from_slice(values)
                    .reshape(shape.as_slice())
                    .to_kind(Kind::Float)
                    .to_device(p.device());
                tch::no_grad(|| target.copy_(&src));
            }
        }
        self.steps = steps;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn weight_decay_shrinks_weights_with_zero_gradients_by_exactly_one_minus_lr_decay_per_step() {
        let vs = VarStore::new(Device::Cpu);
        let p = vs
            .root()
            .var_copy("p", &Tensor::from_slice(&[2.0f32, -3.0, 0.5]));
        let mut adam = Adam::new(&vs, 0.1);
        adam.weight_decay = 0.01;
        for _ in 0..5 {
            // A defined gradient of zero: Adam's own update is 0 / (0 + ε) = 0.
            adam.backward_step(&(&p * 0.0).sum(Kind::Float));
        }
        let factor = (1.0f64 - 0.1 * 0.01).powi(5);
        let now = Vec::<f32>::try_from(&p).unwrap();
        for (got, start) in now.iter().zip([2.0, -3.0, 0.5]) {
            assert!(
                (*got as f64 - start * factor).abs() <= 1e-6 * start.abs(),
                "{got} vs {}",
                start * factor
            );
        }
        // Without decay the same steps leave the weights where they were.
        let vs = VarStore::new(Device::Cpu);
        let q = vs.root().var_copy("q", &Tensor::from_slice(&[2.0f32]));
        let mut plain = Adam::new(&vs, 0.1);
        plain.backward_step(&(&q * 0.0).sum(Kind::Float));
        assert_eq!(Vec::<f32>::try_from(&q).unwrap(), [2.0]);
    }

    #[test]
    fn weight_decay_comes_before_the_adam_update_as_in_adamw() {
        // One step on L = 3p from p = 1 (lr 0.1, W 0.5), written out: the decay gives
        // 1·(1 − 0.05) = 0.95; m̂ = 3, v̂ = 9, so the update is 0.1·3/3 = 0.1 and p = 0.85.
        // Decaying after the update would give (1 − 0.1)·0.95 = 0.855.
        let vs = VarStore::new(Device::Cpu);
        let p = vs.root().var_copy("p", &Tensor::from_slice(&[1.0f32]));
        let mut adam = Adam::new(&vs, 0.1);
        adam.weight_decay = 0.5;
        adam.backward_step(&(&p * 3.0).sum(Kind::Float));
        let got = Vec::<f32>::try_from(&p).unwrap()[0] as f64;
        assert!((got - 0.85).abs() < 1e-6, "{got}");
    }
}
