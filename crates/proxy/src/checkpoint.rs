//! Checkpoints: safetensors files whose header metadata (key `proxyland`, JSON) carries all that
//! is needed to use the weights alone.
//!
//! Tensor names (float32): `fourier_b` (m × d, the fixed Fourier matrix), `encoder.conv{i}.weight`
//! / `.bias`, `encoder.out.weight` / `.bias`, `head.fc{i}.weight` / `.bias`, `head.out.weight` /
//! `.bias` (PyTorch's conventions: linear weights are out × in). In Python:
//!
//! ```python
//! from safetensors import safe_open
//! with safe_open("proxy.safetensors", "np") as f:
//!     meta = f.metadata()["proxyland"]      # JSON: experiment, box, normalization, ...
//!     B = f.get_tensor("fourier_b")
//! ```

use crate::error::{Error, Result};
use crate::model::Architecture;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// The checkpoint format written by this version.
/// v2: periodic coordinates (integer Fourier frequencies, no raw input), the encoder kind.
pub const FORMAT_VERSION: u32 = 2;

/// How inputs and outputs are scaled. The network predicts
/// ẑ = (log(L + ε) − z_mean)/z_std from trajectories scaled as (Y − traj_mean)/traj_std.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Mean of all trajectory values over the pool's valid samples.
    pub traj_mean: f64,
    /// Their standard deviation (at least 1e-12).
    pub traj_std: f64,
    /// Mean of log(L + ε) over a probe batch of training pairs.
    pub z_mean: f64,
    /// Its standard deviation (at least 1e-6).
    pub z_std: f64,
    /// ε: 1e-3 × the probe batch's median loss (at least 1e-12), the floor of the log.
    pub epsilon: f64,
}

impl Normalization {
    /// Loss → normalized network target.
    pub fn encode(&self, loss: f64) -> f64 {
        ((loss + self.epsilon).ln() - self.z_mean) / self.z_std
    }
    /// Normalized network output → log(L + ε).
    pub fn log_loss(&self, out: f64) -> f64 {
        out * self.z_std + self.z_mean
    }
}

/// Where the training data came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetProvenance {
    /// The pool file trained on.
    pub path: PathBuf,
    /// [`proxyland_dataset::PoolHeader::provenance_hash`] of the pool.
    pub hash: String,
    /// Samples in the pool file (its index range, failed ones included).
    pub samples: usize,
    /// The pool's seed.
    pub seed: u64,
}

fn streams_one() -> u32 {
    1
}

/// What training did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Epochs completed, those of interrupted runs included.
    pub epochs_run: usize,
    /// The epoch whose weights the checkpoint holds (best validation metric).
    pub best_epoch: usize,
    /// Validation MSE of the normalized log-loss at the best epoch.
    pub best_validation: f64,
    /// Median worst-coordinate error of the network's own argmin on validation targets at the
    /// best epoch (the early-stopping metric); `None` (JSON `null`) when the pool has no
    /// validation targets, so nothing was measured.
    pub best_validation_argmin_error: Option<f64>,
    /// Wall-clock seconds of training, summed over resumed runs.
    pub seconds: f64,
    /// The device it trained on (e.g. `cpu (8 threads)`, `cuda:0`).
    pub device: String,
    /// The training seed (pair sampling, initialization, noise).
    pub seed: u64,
    /// Which scheme of random streams drew its pairs, initialization and noise
    /// (`proxyland_physics::rng::STREAMS_VERSION`; checkpoints from before the field read 1).
    /// A resume under other streams is refused.
    #[serde(default = "streams_one")]
    pub streams: u32,
    /// Training pairs per minibatch.
    pub batch_size: usize,
    /// Training pairs drawn per epoch.
    pub pairs_per_epoch: usize,
    /// The initial learning rate (halved on every plateau of the validation loss).
    pub learning_rate: f64,
    /// Share of each batch's candidates drawn from the target's nearest pool neighbours.
    pub near_share: f64,
    /// How many nearest neighbours those come from.
    pub near_neighbours: usize,
    /// Epochs without validation-loss improvement before the learning rate is halved.
    pub plateau_epochs: usize,
    /// Optimizer steps taken (Adam's bias correction; a resumed run goes on from here). Absent
    /// in checkpoints written before training saved its optimizer state.
    #[serde(default)]
    pub adam_steps: i64,
    /// Per epoch.
    pub history: Vec<EpochRecord>,
}

/// What one training epoch measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Mean training loss (regression MSE plus the penalty term).
    pub train_loss: f64,
    /// Validation MSE of the normalized log-loss.
    pub validation_loss: f64,
    /// Median worst-coordinate error of the network's own argmin on validation targets; `None`
    /// (JSON `null`) when there were none to measure it on.
    pub validation_argmin_error: Option<f64>,
    /// The learning rate the epoch ran with.
    pub learning_rate: f64,
}

/// Everything a checkpoint says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Always `proxyland-checkpoint`: what kind of file this is.
    pub format: String,
    /// The checkpoint format version ([`FORMAT_VERSION`] when written by this version).
    pub format_version: u32,
    /// The experiment's name.
    pub experiment: String,
    /// Names of the d parameters, in the order of u.
    pub param_names: Vec<String>,
    /// Lower bounds of the parameter box (u = 0).
    pub lo: Vec<f64>,
    /// Upper bounds of the parameter box (u = 1).
    pub hi: Vec<f64>,
    /// Which parameters are periodic (the rest reflect).
    pub periodic: Vec<bool>,
    /// The network's shape.
    pub architecture: Architecture,
    /// How inputs and outputs are scaled.
    pub normalization: Normalization,
    /// Noise-injection σ (in u units).
    pub noise: f64,
    /// Gradient-penalty λ.
    pub penalty: f64,
    /// Dropout, weight decay and the spectral-norm bound it trained with (none in a file
    /// written before they existed).
    #[serde(default)]
    pub regularizers: proxyland_optim::Regularizers,
    /// The pool it was trained on.
    pub dataset: DatasetProvenance,
    /// What training did.
    pub training: TrainingSummary,
    /// The proxyland version that wrote it.
    pub proxyland_version: String,
}

const META_KEY: &str = "proxyland";
const FORMAT_NAME: &str = "proxyland-checkpoint";

impl CheckpointMeta {
    pub(crate) fn format_fields() -> (String, u32) {
        (FORMAT_NAME.to_string(), FORMAT_VERSION)
    }
}

/// Writes the variables of `vs` and `meta` to `path` atomically (temporary sibling + rename).
pub fn save(vs: &VarStore, meta: &CheckpointMeta, path: &Path) -> Result<()> {
    save_named(vs.variables().into_iter().collect(), meta, path)
}

/// Writes named tensors and `meta` to `path` atomically (the `.resume` state adds the
/// optimizer's moments to the weights).
pub fn save_named(
    tensors: Vec<(String, Tensor)>,
    meta: &impl Serialize,
    path: &Path,
) -> Result<()> {
    let io = |message: String| Error::Io {
        path: path.to_path_buf(),
        message,
    };
    let mut named: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(name, t)| {
            let t = t
                .detach()
                .to_device(Device::Cpu)
                .to_kind(Kind::Float)
                .contiguous();
            let shape: Vec<usize> = t.size().iter().map(|&s| s as usize).collect();
            let values = Vec::<f32>::try_from(t.flatten(0, -1)).map_err(Error::from)?;
            let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            Ok((name, shape, bytes))
        })
        .collect::<Result<_>>()?;
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let views = named
        .iter()
        .map(|(name, shape, bytes)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| io(format!("tensor {name}: {e:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let json = serde_json::to_string(meta).map_err(|e| io(e.to_string()))?;
    let metadata = Some(HashMap::from([(META_KEY.to_string(), json)]));
    let bytes = safetensors::tensor::serialize(views, &metadata)
        .map_err(|e| io(format!("cannot encode the tensors: {e:?}")))?;
    proxyland_dataset::write_atomically(path, &bytes).map_err(|e| {
        io(format!(
            "cannot write: {}",
            proxyland_dataset::describe_io(&e)
        ))
    })
}

/// Tensors of a checkpoint by name: shape and float32 values.
pub type NamedTensors = HashMap<String, (Vec<i64>, Vec<f32>)>;

/// Reads a checkpoint's metadata and its tensors.
pub fn read(path: &Path) -> Result<(CheckpointMeta, NamedTensors)> {
    read_as(path, FORMAT_NAME, FORMAT_VERSION)
}

/// Reads a safetensors file of proxyland's whose metadata says it is `format` v`version`
/// (a proxy checkpoint, an inverse network), with its tensors.
pub(crate) fn read_as<M: serde::de::DeserializeOwned>(
    path: &Path,
    format: &str,
    version: u32,
) -> Result<(M, NamedTensors)> {
    let bad = |field: &str, message: String| Error::Checkpoint {
        path: path.to_path_buf(),
        field: field.to_string(),
        message,
    };
    if path.is_dir() {
        return Err(Error::Io {
            path: path.to_path_buf(),
            message: "is a folder, not a checkpoint file".into(),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        message: format!("cannot read: {e}"),
    })?;
    if bytes.starts_with(b"\x89HDF\r\n\x1a\n") {
        return Err(bad(
            "(file)",
            "is an HDF5 file (a pool or a trajectory?), not a checkpoint (.safetensors written \
             by `proxyland train`)"
                .into(),
        ));
    }
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| {
        bad(
            "(file)",
            format!("not a safetensors file (truncated?): {e:?}"),
        )
    })?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| bad("(header)", format!("{e:?}")))?;
    let json = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .ok_or_else(|| bad(META_KEY, "missing: not a proxyland checkpoint".into()))?;
    // What kind of file it is comes first: a proxy handed where an inverse network belongs
    // (or the reverse) is named as such, not reported as a missing field.
    let head: serde_json::Value =
        serde_json::from_str(json).map_err(|e| bad(META_KEY, format!("unreadable: {e}")))?;
    let kind = head.get("format").and_then(|v| v.as_str()).unwrap_or("?");
    let kind_version = head.get("format_version").and_then(|v| v.as_u64());
    if kind != format || kind_version != Some(u64::from(version)) {
        return Err(bad(
            "format_version",
            format!(
                "{kind} v{}; this proxyland reads {format} v{version} here",
                kind_version.map_or("?".to_string(), |v| v.to_string())
            ),
        ));
    }
    let meta: M =
        serde_json::from_str(json).map_err(|e| bad(META_KEY, format!("unreadable: {e}")))?;
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(bad(
                &name,
                format!("dtype {:?}, expected F32", view.dtype()),
            ));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let shape = view.shape().iter().map(|&s| s as i64).collect();
        tensors.insert(name, (shape, values));
    }
    Ok((meta, tensors))
}

/// Copies tensors read from `path` into the variables of `vs`, checking names and shapes.
pub fn fill(
    vs: &mut VarStore,
    tensors: &HashMap<String, (Vec<i64>, Vec<f32>)>,
    path: &Path,
) -> Result<()> {
    let bad = |field: &str, message: String| Error::Checkpoint {
        path: path.to_path_buf(),
        field: field.to_string(),
        message,
    };
    let vars = vs.variables();
    for (name, var) in &vars {
        let (shape, values) = tensors
            .get(name)
            .ok_or_else(|| bad(name, "missing tensor".into()))?;
        if &var.size() != shape {
            return Err(bad(
                name,
                format!("shape {shape:?}, the architecture needs {:?}", var.size()),
            ));
        }
        let src = Tensor::from_slice(values)
            .reshape(shape.as_slice())
            .to_kind(var.kind());
        tch::no_grad(|| var.shallow_clone().copy_(&src));
    }
    if let Some(extra) = tensors.keys().find(|k| !vars.contains_key(*k)) {
        return Err(bad(extra, "tensor not part of the architecture".into()));
    }
    Ok(())
}
