//! The ProxyNN: f(Y*, u) ≈ normalized log(L(Y*, X(u)) + ε).
//!
//! ```text
//! u (b × d) ──► [u_r, sin 2πuBᵀ, cos 2πuBᵀ]  (Fourier features, B ~ N(0, σ_B²), m rows, fixed;
//!                                            u_r: the non-periodic coordinates)
//! Y* (b × F × S) ──► encoder (see [`EncoderKind`]) ─ linear ─ SiLU               (embedding)
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

/// How a target trajectory (frames F × components S) is embedded.
///
/// The kind of trajectory decides: a PDE field is a function of space on a periodic grid, so its
/// convolutions wrap around in space; billiards' six ball coordinates are not a spatial axis at
/// all, so they are channels of a convolution along time, or simply the inputs of an MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum EncoderKind {
    /// 3×3 stride-2 convolutions over (time × components) with zero padding, then a 4×4 average
    /// pool (the encoder of checkpoint format v1).
    #[default]
    Conv2d,
    /// As `conv2d`, but padded periodically along the components (space on a periodic grid).
    PeriodicConv,
    /// 1-D convolutions along time (kernel 5, stride 2) with the components as channels, then
    /// an average pool to 4 steps.
    Temporal,
    /// An MLP over the flattened trajectory (`encoder_channels` are its hidden widths).
    Mlp,
}

impl EncoderKind {
    /// The config spelling: `conv2d`, `periodic-conv`, `temporal`, `mlp`.
    pub fn parse(name: &str) -> Option<EncoderKind> {
        Some(match name {
            "conv2d" => EncoderKind::Conv2d,
            "periodic-conv" => EncoderKind::PeriodicConv,
            "temporal" => EncoderKind::Temporal,
            "mlp" => EncoderKind::Mlp,
            _ => return None,
        })
    }
}

/// Network shape; stored in every checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// Parameter dimension d.
    pub params: usize,
    /// Which coordinates of u are periodic (integer frequencies, no raw input).
    pub periodic: Vec<bool>,
    /// Frames F and state components S of a target trajectory.
    pub frames: usize,
    /// State components S of a target trajectory.
    pub components: usize,
    /// Fourier features on u (the paper's remedy for spectral bias); off: u alone.
    pub use_fourier: bool,
    /// Rows m of B (the features are u, sin and cos: d + 2m inputs).
    pub fourier_features: usize,
    /// σ_B.
    pub fourier_scale: f64,
    /// How targets are embedded.
    #[serde(default)]
    pub encoder: EncoderKind,
    /// Encoder channels (widths for `mlp`); empty: the proxy sees no trajectory (one fixed
    /// target, E0).
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
    encoder: Option<TrajectoryEncoder>,
    head: Vec<nn::Linear>,
}

const POOLED: i64 = 4;

/// The encoder's layers before its output layer.
#[derive(Debug)]
enum Encoder {
    Conv2d {
        convs: Vec<nn::Conv2D>,
        periodic: bool,
    },
    Temporal(Vec<nn::Conv1D>),
    Mlp(Vec<nn::Linear>),
}

/// Pads the last axis periodically by one cell on each side.
fn wrap_last_axis(x: &Tensor) -> Tensor {
    let n = *x.size().last().expect("a 4-D tensor");
    Tensor::cat(
        &[x.narrow(3, n - 1, 1), x.shallow_clone(), x.narrow(3, 0, 1)],
        3,
    )
}

/// The trajectory encoder (see [`EncoderKind`]) and its output layer to the embedding width:
/// shared by the proxy and the inverse network, so that both see Y* the same way. Its variables
/// live under `encoder/` of the path it is built on.
#[derive(Debug)]
pub struct TrajectoryEncoder {
    layers: Encoder,
    out: nn::Linear,
}

impl TrajectoryEncoder {
    /// The encoder of `kind` with `channels` (widths for `mlp`) for trajectories of
    /// (frames, components), embedding into `embedding` values; `None` when `channels` is
    /// empty (a proxy that sees no trajectory).
    pub fn new(
        root: &nn::Path,
        kind: EncoderKind,
        channels: &[usize],
        embedding: usize,
        (frames, components): (usize, usize),
    ) -> Option<Self> {
        let last = *channels.last()? as i64;
        let enc = root / "encoder";
        let widths = channels.iter().map(|&c| c as i64);
        let (layers, flat) = match kind {
            EncoderKind::Conv2d | EncoderKind::PeriodicConv => {
                let periodic = kind == EncoderKind::PeriodicConv;
                let cfg = nn::ConvConfigND::<[i64; 2]> {
                    stride: [2, 2],
                    // Periodic: space is padded by wrapping before the convolution.
                    padding: if periodic { [1, 0] } else { [1, 1] },
                    ..Default::default()
                };
                let mut in_channels = 1i64;
                let convs = widths
                    .enumerate()
                    .map(|(i, c)| {
                        let conv = nn::conv(&enc / format!("conv{i}"), in_channels, c, [3, 3], cfg);
                        in_channels = c;
                        conv
                    })
                    .collect();
                (Encoder::Conv2d { convs, periodic }, last * POOLED * POOLED)
            }
            EncoderKind::Temporal => {
                let cfg = nn::ConvConfig {
                    stride: 2,
                    padding: 2,
                    ..Default::default()
                };
                let mut in_channels = components as i64;
                let convs = widths
                    .enumerate()
                    .map(|(i, c)| {
                        let conv = nn::conv1d(&enc / format!("conv{i}"), in_channels, c, 5, cfg);
                        in_channels = c;
                        conv
                    })
                    .collect();
                (Encoder::Temporal(convs), last * POOLED)
            }
            EncoderKind::Mlp => {
                let mut width = (frames * components) as i64;
                let layers = widths
                    .enumerate()
                    .map(|(i, c)| {
                        let l = nn::linear(&enc / format!("fc{i}"), width, c, Default::default());
                        width = c;
                        l
                    })
                    .collect();
                (Encoder::Mlp(layers), last)
            }
        };
        let out = nn::linear(&enc / "out", flat, embedding as i64, Default::default());
        Some(TrajectoryEncoder { layers, out })
    }

    /// Embeds normalized trajectories (b × F × S) into b × E.
    pub fn embed(&self, targets: &Tensor) -> Tensor {
        let x = match &self.layers {
            Encoder::Conv2d { convs, periodic } => {
                let mut x = targets.unsqueeze(1);
                for conv in convs {
                    if *periodic {
                        x = wrap_last_axis(&x);
                    }
                    x = conv.forward(&x).silu();
                }
                x.adaptive_avg_pool2d([POOLED, POOLED]).flatten(1, -1)
            }
            Encoder::Temporal(convs) => {
                // b × F × S → b × S × F: the components are channels, time is the axis.
                let mut x = targets.transpose(1, 2);
                for conv in convs {
                    x = conv.forward(&x).silu();
                }
                x.adaptive_avg_pool1d([POOLED]).flatten(1, -1)
            }
            Encoder::Mlp(layers) => {
                let mut x = targets.flatten(1, -1);
                for layer in layers {
                    x = layer.forward(&x).silu();
                }
                x
            }
        };
        self.out.forward(&x).silu()
    }
}

impl ProxyNet {
    /// Creates the layers under `root`. B is a non-trainable variable (so it is saved with the
    /// weights); fill it with [`ProxyNet::init_fourier`] for a new network.
    pub fn new(root: &nn::Path, arch: &Architecture) -> Self {
        let d = arch.params as i64;
        let m = arch.fourier_features as i64;
        let fourier_b = root.zeros_no_train("fourier_b", &[m, d]);
        let raw = arch.raw_inputs().len() as i64;
        let mut in_width = if arch.use_fourier { raw + 2 * m } else { raw };
        let encoder = TrajectoryEncoder::new(
            root,
            arch.encoder,
            &arch.encoder_channels,
            arch.embedding,
            (arch.frames, arch.components),
        );
        if encoder.is_some() {
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
            encoder,
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
        self.encoder.is_some()
    }

    /// Embeds normalized target trajectories (b × F × S) into b × E.
    pub fn embed(&self, targets: &Tensor) -> Option<Tensor> {
        Some(self.encoder.as_ref()?.embed(targets))
    }

    /// The normalized prediction for u (b × d) given embeddings (b × E, or 1 × E broadcast).
    pub fn forward_embedded(&self, embedding: Option<&Tensor>, u: &Tensor) -> Tensor {
        self.head_forward(self.head_inputs(embedding, u), 0.0)
    }

    /// The head's inputs: raw coordinates, Fourier features, then the embedding.
    fn head_inputs(&self, embedding: Option<&Tensor>, u: &Tensor) -> Tensor {
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
        x
    }

    /// The head on its inputs, dropping each hidden activation with probability `dropout`
    /// (training only; 0 drops nothing).
    fn head_forward(&self, mut x: Tensor, dropout: f64) -> Tensor {
        let last = self.head.len() - 1;
        for (i, layer) in self.head.iter().enumerate() {
            x = layer.forward(&x);
            if i < last {
                x = x.silu();
                if dropout > 0.0 {
                    x = x.dropout(dropout, true);
                }
            }
        }
        x.squeeze_dim(1)
    }

    /// The normalized prediction for pairs: distinct targets (t × F × S), the target row of
    /// each pair (b, int64) and u (b × d). Each target is embedded once.
    pub fn forward(&self, targets: &Tensor, rows: &Tensor, u: &Tensor) -> Tensor {
        self.forward_training(targets, rows, u, 0.0)
    }

    /// [`ProxyNet::forward`] as training sees it: with dropout `dropout` on the head's hidden
    /// activations (drawn from torch's generator).
    pub fn forward_training(
        &self,
        targets: &Tensor,
        rows: &Tensor,
        u: &Tensor,
        dropout: f64,
    ) -> Tensor {
        let e = self.embed(targets).map(|e| e.index_select(0, rows));
        let x = self.head_inputs(e.as_ref(), u);
        self.head_forward(x, dropout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, nn::VarStore};

    #[test]
    fn every_encoder_a_config_may_name_exists() {
        for name in proxyland_dataset::ENCODERS {
            assert!(EncoderKind::parse(name).is_some(), "{name}");
        }
        assert!(EncoderKind::parse("transformer").is_none());
    }

    #[test]
    fn periodic_padding_wraps_the_last_axis() {
        let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).reshape([1, 1, 1, 4]);
        let w = Vec::<f32>::try_from(wrap_last_axis(&x).flatten(0, -1)).unwrap();
        assert_eq!(w, vec![4.0, 1.0, 2.0, 3.0, 4.0, 1.0]);
    }

    #[test]
    fn every_encoder_embeds_a_batch_into_the_embedding_width() {
        for kind in [
            EncoderKind::Conv2d,
            EncoderKind::PeriodicConv,
            EncoderKind::Temporal,
            EncoderKind::Mlp,
        ] {
            let arch = Architecture {
                params: 2,
                periodic: vec![true, false],
                frames: 41,
                components: 6,
                use_fourier: true,
                fourier_features: 8,
                fourier_scale: 3.0,
                encoder: kind,
                encoder_channels: vec![8, 16],
                embedding: 12,
                hidden: vec![16],
            };
            let vs = VarStore::new(Device::Cpu);
            let net = ProxyNet::new(&vs.root(), &arch);
            let y = Tensor::randn([3, 41, 6], (Kind::Float, Device::Cpu));
            let e = net.embed(&y).unwrap();
            assert_eq!(e.size(), vec![3, 12], "{kind:?}");
            let rows = Tensor::from_slice(&[0i64, 1, 2, 2]);
            let u = Tensor::rand([4, 2], (Kind::Float, Device::Cpu));
            let out = net.forward(&y, &rows, &u);
            assert_eq!(out.size(), vec![4], "{kind:?}");
            assert!(bool::try_from(out.isfinite().all()).unwrap(), "{kind:?}");
        }
    }

    #[test]
    fn dropout_acts_in_training_only() {
        let _rng = crate::torch_rng_lock();
        let arch = Architecture {
            params: 2,
            periodic: vec![false, false],
            frames: 5,
            components: 3,
            use_fourier: true,
            fourier_features: 8,
            fourier_scale: 1.0,
            encoder: EncoderKind::Mlp,
            encoder_channels: vec![8],
            embedding: 4,
            hidden: vec![32, 32],
        };
        tch::manual_seed(5);
        let vs = VarStore::new(Device::Cpu);
        let net = ProxyNet::new(&vs.root(), &arch);
        let y = Tensor::randn([2, 5, 3], (Kind::Float, Device::Cpu));
        let rows = Tensor::from_slice(&[0i64, 1, 1]);
        let u = Tensor::rand([3, 2], (Kind::Float, Device::Cpu));
        let values = |t: Tensor| Vec::<f32>::try_from(t).unwrap();
        let plain = values(net.forward(&y, &rows, &u));
        // Prediction is deterministic and is training without dropout.
        assert_eq!(values(net.forward(&y, &rows, &u)), plain);
        assert_eq!(values(net.forward_training(&y, &rows, &u, 0.0)), plain);
        // Training with dropout draws a different mask each pass.
        let a = values(net.forward_training(&y, &rows, &u, 0.5));
        let b = values(net.forward_training(&y, &rows, &u, 0.5));
        assert_ne!(a, plain);
        assert_ne!(a, b);
    }
}
