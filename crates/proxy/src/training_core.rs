//! What the proxy's training and the inverse network's do identically: refusing to replace an
//! output, the trajectories' normalization moments and the pool's provenance in the metadata.

use crate::checkpoint::DatasetProvenance;
use crate::error::{Error, Result};
use proxyland_dataset::Pool;
use std::path::Path;

/// Refuses to train when a file exists at `out`, unless `force`.
pub(crate) fn refuse_to_replace(out: &Path, force: bool) -> Result<()> {
    if out.exists() && !force {
        return Err(Error::Io {
            path: out.to_path_buf(),
            message: "already exists; training would replace it (nothing was changed)".into(),
        });
    }
    Ok(())
}

/// Mean and standard deviation (at least 1e-12) of every trajectory value of the pool samples
/// `valid`: trajectories enter the networks as (Y − mean)/std.
pub(crate) fn trajectory_moments(pool: &Pool, valid: &[usize]) -> (f64, f64) {
    let (mut sum, mut sq, mut n) = (0.0, 0.0, 0.0);
    for &i in valid {
        for &y in pool.trajectories.index_axis(ndarray::Axis(0), i) {
            sum += y;
            sq += y * y;
            n += 1.0;
        }
    }
    let traj_mean = sum / n;
    let traj_std = (sq / n - traj_mean * traj_mean).max(0.0).sqrt().max(1e-12);
    (traj_mean, traj_std)
}

/// The pool a network is trained on, as its metadata records it.
pub(crate) fn dataset_provenance(pool: &Pool) -> DatasetProvenance {
    DatasetProvenance {
        path: pool.path.clone(),
        hash: pool.header.provenance_hash(),
        samples: pool.header.len(),
        seed: pool.header.seed,
    }
}
