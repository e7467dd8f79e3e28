//! The inverse network's layers: the proxy's trajectory encoder, an MLP head, and the map from
//! its raw outputs to u.

use super::InverseArchitecture;
use crate::error::{Error, Result};
use crate::model::TrajectoryEncoder;
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// The layers.
#[derive(Debug)]
pub(super) struct InverseNet {
    arch: InverseArchitecture,
    encoder: TrajectoryEncoder,
    head: Vec<nn::Linear>,
}

impl InverseNet {
    pub(super) fn new(root: &nn::Path, arch: &InverseArchitecture) -> Result<Self> {
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
    pub(super) fn raw(&self, y: &Tensor) -> Tensor {
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
    pub(super) fn unit(&self, raw: &Tensor) -> Tensor {
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
    pub(super) fn supervised_loss(&self, raw: &Tensor, u: &Tensor) -> Tensor {
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
