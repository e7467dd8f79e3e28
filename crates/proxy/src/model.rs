//! The ProxyNN: f(Y*, u) ≈ normalized log(L(Y*, X(u)) + ε).
//!
//! ```text
//! u (b × d) ──► [u_r, sin 2πuBᵀ, cos 2πuBᵀ]  (Fourier features, B ~ N(0, σ_B²), m rows, fixed;
//!                                            u_r: the non-periodic coordinates)
//! Y* (b × F × S) ──► conv 3×3/2 ─ SiLU ─ … ─ adaptive avg pool 4×4 ─ linear ─ SiLU  (embedding)
//! concat ──► linear ─ SiLU ─ … ─ linear ──► 1
//! ```
//!
//! SiLU rather than ReLU: the optimizer needs a landscape whose gradient is continuous.
//!
//! A periodic coordinate (Burgers' forcing centre) must give a periodic landscape: its column of
//! B holds integers and its raw value is not an input, so f(u_j + 1) = f(u_j) exactly.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// Network shape; stored in every checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// Parameter dimension d.
    pub params: usize,
    /// Which coordinates of u are periodic (integer frequencies, no raw input).
    pub periodic: Vec<bool>,
    /// Frames F and state components S of a target trajectory.
    pub frames: usize,
    pub components: usize,
    /// Fourier features on u (the paper's remedy for spectral bias); off: u alone.
    pub use_fourier: bool,
    /// Rows m of B (the features are u, sin and cos: d + 2m inputs).
    pub fourier_features: usize,
    /// σ_B.
    pub fourier_scale: f64,
    /// Conv encoder channels; empty: the proxy sees no trajectory (one fixed target, E0).
    pub encoder_channels: Vec<usize>,
    /// Width of the trajectory embedding.
    pub embedding: usize,
    /// Hidden widths of the head.
    pub hidden: Vec<usize>,
}

impl Architecture {
    /// Whether coordinate j is periodic.
    pub fn is_periodic(&self, j: usize) -> bool {
        self.periodic.get(j).copied().unwrap_or(false)
    }

    /// The coordinates fed to the head as raw values: the non-periodic ones (a periodic
    /// coordinate enters through its Fourier features only). Without Fourier features every
    /// coordinate is raw, since nothing else would carry it.
    pub fn raw_inputs(&self) -> Vec<usize> {
        (0..self.params)
            .filter(|&j| !self.use_fourier || !self.is_periodic(j))
            .collect()
    }
}

/// The layers, built under a VarStore path.
#[derive(Debug)]
pub struct ProxyNet {
    arch: Architecture,
    fourier_b: Tensor,
    encoder_convs: Vec<nn::Conv2D>,
    encoder_out: Option<nn::Linear>,
    head: Vec<nn::Linear>,
}

const POOLED: i64 = 4;

impl ProxyNet {
    /// Creates the layers under `root`. B is a non-trainable variable (so it is saved with the
    /// weights); fill it with [`ProxyNet::init_fourier`] for a new network.
    pub fn new(root: &nn::Path, arch: &Architecture) -> Self {
        let d = arch.params as i64;
        let m = arch.fourier_features as i64;
        let fourier_b = root.zeros_no_train("fourier_b", &[m, d]);
        let mut encoder_convs = Vec::new();
        let mut encoder_out = None;
        let raw = arch.raw_inputs().len() as i64;
        let mut in_width = if arch.use_fourier { raw + 2 * m } else { raw };
        if !arch.encoder_channels.is_empty() {
            let enc = root / "encoder";
            let mut channels = 1i64;
            for (i, &c) in arch.encoder_channels.iter().enumerate() {
                let cfg = nn::ConvConfig {
                    stride: 2,
                    padding: 1,
                    ..Default::default()
                };
                encoder_convs.push(nn::conv2d(
                    &enc / format!("conv{i}"),
                    channels,
                    c as i64,
                    3,
                    cfg,
                ));
                channels = c as i64;
            }
            encoder_out = Some(nn::linear(
                &enc / "out",
                channels * POOLED * POOLED,
                arch.embedding as i64,
                Default::default(),
            ));
            in_width += arch.embedding as i64;
        }
        let head_path = root / "head";
        let mut head = Vec::new();
        for (i, &h) in arch.hidden.iter().enumerate() {
            head.push(nn::linear(
                &head_path / format!("fc{i}"),
                in_width,
                h as i64,
                Default::default(),
            ));
            in_width = h as i64;
        }
        head.push(nn::linear(
            &head_path / "out",
            in_width,
            1,
            Default::default(),
        ));
        ProxyNet {
            arch: arch.clone(),
            fourier_b,
            encoder_convs,
            encoder_out,
            head,
        }
    }

    /// Draws B ~ N(0, σ_B²), rounded to integers in periodic columns (uses torch's global
    /// generator; seed it first).
    pub fn init_fourier(&mut self) {
        let b = Tensor::randn(
            self.fourier_b.size(),
            (Kind::Float, self.fourier_b.device()),
        ) * self.arch.fourier_scale;
        let d = self.arch.params as i64;
        let mask: Vec<f32> = (0..d)
            .map(|j| f32::from(u8::from(self.arch.is_periodic(j as usize))))
            .collect();
        let mask = Tensor::from_slice(&mask)
            .reshape([1, d])
            .to_device(b.device());
        let b: Tensor = &b * (1.0 - &mask) + b.round() * &mask;
        tch::no_grad(|| self.fourier_b.copy_(&b.to_kind(self.fourier_b.kind())));
    }

    /// The architecture the layers were built for.
    pub fn architecture(&self) -> &Architecture {
        &self.arch
    }

    /// Whether targets pass through the encoder.
    pub fn has_encoder(&self) -> bool {
        self.encoder_out.is_some()
    }

    /// Embeds normalized target trajectories (b × F × S) into b × E.
    pub fn embed(&self, targets: &Tensor) -> Option<Tensor> {
        let out = self.encoder_out.as_ref()?;
        let mut x = targets.unsqueeze(1);
        for conv in &self.encoder_convs {
            x = conv.forward(&x).silu();
        }
        let x = x.adaptive_avg_pool2d([POOLED, POOLED]).flatten(1, -1);
        Some(out.forward(&x).silu())
    }

    /// The normalized prediction for u (b × d) given embeddings (b × E, or 1 × E broadcast).
    pub fn forward_embedded(&self, embedding: Option<&Tensor>, u: &Tensor) -> Tensor {
        let raw = self.arch.raw_inputs();
        let u_raw = if raw.len() == self.arch.params {
            u.shallow_clone()
        } else {
            let idx: Vec<i64> = raw.iter().map(|&j| j as i64).collect();
            u.index_select(1, &Tensor::from_slice(&idx).to_device(u.device()))
        };
        let mut x = if self.arch.use_fourier {
            let proj = u.matmul(&self.fourier_b.tr()) * std::f64::consts::TAU;
            Tensor::cat(&[u_raw, proj.sin(), proj.cos()], 1)
        } else {
            u_raw
        };
        if let Some(e) = embedding {
            let e = if e.size()[0] == 1 && x.size()[0] != 1 {
                e.expand([x.size()[0], e.size()[1]], false)
            } else {
                e.shallow_clone()
            };
            x = Tensor::cat(&[x, e], 1);
        }
        let last = self.head.len() - 1;
        for (i, layer) in self.head.iter().enumerate() {
            x = layer.forward(&x);
            if i < last {
                x = x.silu();
            }
        }
        x.squeeze_dim(1)
    }

    /// The normalized prediction for pairs: distinct targets (t × F × S), the target row of
    /// each pair (b, int64) and u (b × d). Each target is embedded once.
    pub fn forward(&self, targets: &Tensor, rows: &Tensor, u: &Tensor) -> Tensor {
        let e = self.embed(targets).map(|e| e.index_select(0, rows));
        self.forward_embedded(e.as_ref(), u)
    }
}
